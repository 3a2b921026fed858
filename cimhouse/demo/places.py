"""The map of the demo: real Jiaxing communities, synthetic estates and buildings on it.

Coordinates are synthetic but plausible: each county has its real approximate centre, towns
and communities are scattered around it deterministically from the seed. Geometry is in
CGCS2000 (EPSG:4490) lon/lat.

Example::

    communities = jiaxing_communities()
    communities[0].path_name     # '浙江省嘉兴市南湖区建设街道百福弄社区居委会'
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from functools import lru_cache

from cimhouse.importers.load_regions import packaged_regions_path

# Approximate centres of the Jiaxing counties (lon, lat).
COUNTY_CENTRES = {
    "330402": (120.78, 30.75), "330411": (120.70, 30.78), "330421": (120.92, 30.84),
    "330424": (120.95, 30.52), "330481": (120.68, 30.51), "330482": (121.02, 30.70),
    "330483": (120.56, 30.63),
}
ESTATE_PREFIXES = ("梅花", "锦绣", "阳光", "金都", "华庭", "东方", "香樟", "紫薇", "翠竹", "碧水",
                   "月河", "嘉禾", "江南", "春江", "和平", "长虹", "文昌", "丽都", "青枫", "雅园",
                   "桂花", "秋水", "清河", "凤凰", "明珠", "绿洲", "怡景", "兰亭", "荷风", "恒福")
ESTATE_SUFFIXES = ("苑", "花园", "家园", "新村", "公寓", "府", "雅苑", "名邸", "嘉园", "华府",
                   "景园", "里")
PHASES = ("", "二期", "三期", "四期", "五期", "六期")
METRES_PER_DEGREE_LAT = 111_000.0


@dataclass(frozen=True)
class Community:
    code: str
    name: str
    town: str
    county: str
    county_name: str
    path_name: str  # 浙江省嘉兴市南湖区建设街道百福弄社区居委会

    @property
    def rural(self) -> bool:
        return "村" in self.name and "社区" not in self.name

    @property
    def short(self) -> str:
        for suffix in ("社区居民委员会", "社区居委会", "居民委员会", "村民委员会", "村村委会",
                       "居委会", "村委会"):
            if self.name.endswith(suffix):
                keep = "社区" if "社区" in suffix or "居" in suffix else "村"
                return self.name[: -len(suffix)] + keep
        return self.name


@dataclass
class Building:
    label: str  # number part: '3'
    units: int
    floors: int
    rooms_per_floor: int
    centre: tuple[float, float]
    footprint: list[tuple[float, float]]
    single_family: bool = False


@dataclass
class EstatePlan:
    name: str
    community: Community
    rural: bool
    centre: tuple[float, float]
    boundary: list[tuple[float, float]]
    buildings: list[Building] = field(default_factory=list)


@lru_cache(maxsize=1)
def jiaxing_communities() -> tuple[Community, ...]:
    """Every current community/village of Jiaxing from the packaged division codes."""
    rows = list(csv.DictReader(packaged_regions_path().read_text("utf-8-sig").splitlines()))
    names = {r["code"]: r["name"] for r in rows}
    found = []
    for r in rows:
        code = r["code"]
        if r["level"] == "5" and code.startswith("3304"):
            path = "".join(names[code[:n]] for n in (2, 4, 6, 9)) + r["name"]
            found.append(Community(code, r["name"], names[code[:9]], code[:6],
                                   names[code[:6]], path))
    return tuple(found)


def degrees(metres_x: float, metres_y: float, lat: float) -> tuple[float, float]:
    from math import cos, radians

    return (metres_x / (METRES_PER_DEGREE_LAT * cos(radians(lat))),
            metres_y / METRES_PER_DEGREE_LAT)


def rectangle(centre: tuple[float, float], width_m: float, depth_m: float
              ) -> list[tuple[float, float]]:
    dx, dy = degrees(width_m / 2, depth_m / 2, centre[1])
    x, y = centre
    return [(round(x - dx, 7), round(y - dy, 7)), (round(x + dx, 7), round(y - dy, 7)),
            (round(x + dx, 7), round(y + dy, 7)), (round(x - dx, 7), round(y + dy, 7)),
            (round(x - dx, 7), round(y - dy, 7))]


def community_centre(community: Community, seed: int) -> tuple[float, float]:
    """A stable point for a community: county centre + town offset + community offset."""
    town_rng = random.Random(f"{seed}:{community.code[:9]}")
    comm_rng = random.Random(f"{seed}:{community.code}")
    cx, cy = COUNTY_CENTRES[community.county]
    return (cx + town_rng.uniform(-0.06, 0.06) + comm_rng.uniform(-0.012, 0.012),
            cy + town_rng.uniform(-0.05, 0.05) + comm_rng.uniform(-0.01, 0.01))


def plan_estate(rng: random.Random, name: str, community: Community, slot: int, seed: int,
                houses_wanted: int) -> EstatePlan:
    """Lay out one estate near its community centre with enough buildings for its houses."""
    base = community_centre(community, seed)
    ox, oy = degrees((slot % 4) * 450.0 - 650.0, (slot // 4 % 4) * 380.0 - 550.0, base[1])
    centre = (base[0] + ox, base[1] + oy)
    rural = community.rural
    estate = EstatePlan(name, community, rural, centre, rectangle(centre, 360, 300))
    made, number = 0, 0
    while made < houses_wanted:
        number += 1
        if rural:
            b = Building(str(number), 1, rng.choice((2, 3)), 1, (0.0, 0.0), [], True)
        else:
            b = Building(str(number), rng.choice((1, 2, 2, 3)), rng.choice((6, 11, 18, 26)),
                         2, (0.0, 0.0), [])
        made += 1 if b.single_family else b.units * b.floors * b.rooms_per_floor
        estate.buildings.append(b)
    columns = max(1, int(len(estate.buildings) ** 0.5 + 0.999))
    step_x = 300.0 / columns
    rows = (len(estate.buildings) + columns - 1) // columns
    step_y = 260.0 / max(rows, 1)
    for index, b in enumerate(estate.buildings):
        mx = -150 + step_x * (index % columns + 0.5)
        my = -130 + step_y * (index // columns + 0.5)
        dx, dy = degrees(mx, my, centre[1])
        b.centre = (round(centre[0] + dx, 7), round(centre[1] + dy, 7))
        width = 12.0 if b.single_family else min(step_x * 0.8, 20.0 * b.units + 10)
        b.footprint = rectangle(b.centre, width, min(step_y * 0.6, 14.0))
    return estate


def estate_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct estate names (unique across the demo so names identify estates)."""
    pool = [p + s for p in ESTATE_PREFIXES for s in ESTATE_SUFFIXES]
    rng.shuffle(pool)
    names = [n + phase for phase in PHASES for n in pool]
    if count > len(names):
        names += [f"{n}{i}区" for i in range(7, 7 + count // len(names) + 1) for n in pool]
    return names[:count]


__all__ = ["Building", "Community", "EstatePlan", "community_centre", "estate_names",
           "jiaxing_communities", "plan_estate", "rectangle"]
