"""Generate a synthetic demo data set over the real Jiaxing regions.

Files written to ``out_dir``:

- ``register.csv``: the housing register, one row per person-house relation (see
  docs/register-import.md for the columns); GBK and dirty with ``messy``;
- ``estates.geojson``: estate boundaries (MultiPolygon, EPSG:4490, property ``name``),
  for ``cimhouse import boundaries --level estate``;
- ``buildings.geojson``: building footprints (property ``address``, the building's register
  address, and ``floors_above``), for ``cimhouse import footprints``;
- ``facilities.csv``: public-service facilities of every category, for
  ``cimhouse import facilities``;
- ``project_boundaries.geojson``: the boundaries of every other project (``cimhouse import
  project-boundaries``);
- ``projects.csv``: a future-community programme over every Jiaxing street (some streets
  without a project, projects in every status), for ``cimhouse import projects``;
- ``manifest.json``: what was generated, including the dirt added.

Example::

    summary = generate_demo(Path("var/demo"), houses=2000, seed=7, messy=True)
    summary.register_rows, summary.dirt["bad_checksum"]      # (5481, 52)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cimhouse.crs import gcj02_to_bd09, wgs84_to_gcj02
from cimhouse.demo.households import Household, PeopleFactory
from cimhouse.demo.messy import Dirt
from cimhouse.demo.places import (
    Building,
    Community,
    EstatePlan,
    community_centre,
    estate_names,
    jiaxing_communities,
    plan_estate,
    rectangle,
)
from cimhouse.demo.programme import PROJECT_HEADER, programme_rows
from cimhouse.schema.vocab import FacilityCategory

REGISTER_HEADER = ["房屋坐落", "小区名称", "幢号", "单元", "室号", "所在层", "建筑面积",
                   "房屋用途", "姓名", "公民身份号码", "联系电话", "人房关系", "不动产单元号",
                   "经度", "纬度", "坐标系", "户号", "户主姓名", "与户主关系", "户别", "民族",
                   "备注"]
_HOUSEHOLD_AT = REGISTER_HEADER.index("户号")
FACILITY_HEADER = ["external_id", "name", "category", "subtype", "address", "lon", "lat", "crs",
                   "capacity", "community_code"]
SUBTYPES: dict[FacilityCategory, tuple[str, ...]] = {
    FacilityCategory.EDUCATION: ("小学", "初中"),
    FacilityCategory.MEDICAL: ("卫生服务站", "诊所"),
    FacilityCategory.ELDERLY_CARE: ("日间照料中心", "居家养老服务中心", "老年食堂"),
    FacilityCategory.CHILDCARE: ("托育", "幼儿园"),
    FacilityCategory.SPORTS: ("健身点", "运动场"),
    FacilityCategory.CULTURE: ("文化礼堂", "图书馆"),
    FacilityCategory.TRANSPORT: ("公交站", "快递驿站"),
    FacilityCategory.COMMERCE: ("菜场", "超市"),
    FacilityCategory.PROPERTY_SERVICE: ("物业服务中心",),
    FacilityCategory.SECURITY: ("警务室",),
    FacilityCategory.GOVERNANCE: ("党群服务中心",),
}
HOUSES_PER_ESTATE = 240
DEMO_TODAY = dt.date(2026, 6, 30)  # fixed, so a seed always gives the same ages


@dataclass
class DemoSummary:
    out_dir: Path
    houses: int = 0
    estates: int = 0
    buildings: int = 0
    persons: int = 0
    register_rows: int = 0  # data rows, duplicates included
    rejected_expected: int = 0  # rows that must be rejected (wrong ID checksum)
    facilities: int = 0
    projects: int = 0
    communities: list[str] = field(default_factory=list)
    dirt: dict[str, int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["files"] = {k: str(v) for k, v in self.files.items()}
        return data


def ethnicity(id_number: str) -> str:
    """A stable 民族 per person (an extra column the importer keeps as an attribute)."""
    return "回" if int(id_number[14:16]) < 4 else "汉"


def _pick_communities(rng: random.Random, estates: int) -> list[Community]:
    every = jiaxing_communities()
    urban = [c for c in every if not c.rural]
    rural = [c for c in every if c.rural]
    wanted = max(1, (estates + 2) // 3)  # about three estates per community
    chosen = rng.sample(urban, min(len(urban), max(1, wanted - wanted // 6)))
    chosen += rng.sample(rural, min(len(rural), wanted // 6))
    return chosen


def _point(rng: random.Random, lon: float, lat: float) -> tuple[str, str, str]:
    """The building point as a register would give it: mostly CGCS2000, some web maps."""
    roll = rng.random()
    if roll < 0.7:
        return f"{lon:.7f}", f"{lat:.7f}", "CGCS2000"
    glon, glat = wgs84_to_gcj02(lon, lat)
    if roll < 0.9:
        return f"{glon:.7f}", f"{glat:.7f}", "GCJ02"
    blon, blat = gcj02_to_bd09(glon, glat)
    return f"{blon:.7f}", f"{blat:.7f}", "BD09"


def generate_demo(out_dir: Path, *, houses: int, seed: int = 1,
                  messy: bool = False) -> DemoSummary:
    """Write the demo files for about ``houses`` houses into ``out_dir``; see the module."""
    if houses < 1:
        raise ValueError("houses must be at least 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    summary = DemoSummary(out_dir)
    estate_count = max(1, round(houses / HOUSES_PER_ESTATE))
    communities = _pick_communities(rng, estate_count)
    names = estate_names(rng, estate_count)
    per_estate = [houses // estate_count + (1 if i < houses % estate_count else 0)
                  for i in range(estate_count)]
    plans: list[EstatePlan] = []
    for index, (name, wanted) in enumerate(zip(names, per_estate, strict=True)):
        community = communities[index % len(communities)]
        # A village's groups are numbered by how many estates it got so far: index % 9
        # repeated a number when the community count shares a factor with 9 (two 9组 in
        # one village, so two houses per address).
        group = index // len(communities) + 1
        plan_name = f"{group}组" if community.rural else name
        plans.append(plan_estate(rng, plan_name, community, index // len(communities), seed,
                                 wanted))
    summary.estates = len(plans)
    summary.communities = sorted({p.community.code for p in plans})
    summary.files["register"] = _write_register(out_dir / "register.csv", plans, per_estate,
                                                rng, summary, messy)
    summary.files["estates"] = _write_estates(out_dir / "estates.geojson", plans)
    summary.files["buildings"] = _write_buildings(out_dir / "buildings.geojson", plans)
    summary.files["facilities"] = _write_facilities(out_dir / "facilities.csv", plans, rng,
                                                    seed, summary)
    summary.files["projects"], rows = _write_projects(
        out_dir / "projects.csv", random.Random(f"{seed}:programme"), summary)
    summary.files["project_boundaries"] = _write_project_boundaries(
        out_dir / "project_boundaries.geojson", rows, seed)
    manifest = out_dir / "manifest.json"
    summary.files["manifest"] = manifest
    manifest.write_text(json.dumps(summary.as_dict() | {"seed": seed, "messy": messy},
                                   ensure_ascii=False, indent=2) + "\n", "utf-8")
    return summary


def _unit_number(rng: random.Random, community_code: str, building: Building,
                 parcel: int, room_seq: int) -> str:
    """The real-estate unit number 60 % of flats carry in the register (none for a house)."""
    if building.single_family or rng.random() >= 0.6:
        return ""
    return (f"{community_code[:6]}{community_code[6:12]}GB{parcel:05d}"
            f"F{int(building.label):04d}{room_seq:04d}")


def _write_register(path: Path, plans: list[EstatePlan], per_estate: list[int],
                    rng: random.Random, summary: DemoSummary, messy: bool) -> Path:
    people = PeopleFactory(rng, DEMO_TODAY)
    dirt = Dirt(rng) if messy else None
    seen_ids: set[str] = set()
    encoding = "gbk" if messy else "utf-8"
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        if dirt:
            handle.write("嘉兴市住户信息登记表（演示数据）\r\n填报单位：各街道、乡镇\r\n")
        writer.writerow(REGISTER_HEADER)
        for parcel, (plan, wanted) in enumerate(zip(plans, per_estate, strict=True), 1):
            community = plan.community
            county_path = community.path_name[: community.path_name.index(
                community.county_name) + len(community.county_name)]
            made = 0
            recent: list[tuple[str, list[str]]] = []  # earlier houses of the estate
            for building in plan.buildings:
                summary.buildings += 1
                lon, lat, crs = _point(rng, *building.centre)
                for unit in range(1, building.units + 1):
                    for floor in range(1, building.floors + 1):
                        for slot in range(1, building.rooms_per_floor + 1):
                            if made >= wanted:
                                break
                            if building.single_family and floor > 1:
                                break  # a village house is one house over all its floors
                            made += 1
                            summary.houses += 1
                            room = "" if building.single_family else f"{floor}{slot:02d}"
                            unit_label = "" if building.single_family else str(unit)
                            area = (rng.uniform(120, 300) if building.single_family
                                    else rng.uniform(45, 160))
                            unit_no = _unit_number(rng, community.code, building, parcel,
                                                   unit * 1000 + floor * 10 + slot)
                            use = "住宅" if rng.random() < 0.97 else "商住"
                            tail = (f"{plan.name}{building.label}号" if building.single_family
                                    else f"{plan.name}{building.label}幢{unit}单元{room}室")
                            here = [plan.name, building.label, unit_label, room, str(floor),
                                    f"{area:.2f}", use, unit_no, lon, lat, crs]
                            household = people.household(community.county)
                            # 人户分离: some households are registered (户籍) at an earlier
                            # house of the estate and live (常住) here
                            registered_at = (community.path_name + tail, here)
                            if household.number and recent and rng.random() < 0.06:
                                registered_at = rng.choice(recent)
                            recent.append((community.path_name + tail, here))
                            del recent[:-50]
                            rows = _member_rows(
                                household, community.path_name + tail, here, registered_at,
                                dirt, (community.path_name, county_path, plan.name,
                                       building.label, unit_label, room),
                                building.single_family, seen_ids)
                            _write_rows(writer, rows, dirt, summary)
    summary.persons = len(seen_ids)
    summary.dirt = dirt.counts if dirt else {}
    return path


def _member_rows(household: Household, address: str, here: list[str],
                 registered_at: tuple[str, list[str]], dirt: Dirt | None,
                 address_parts: tuple[str, str, str, str, str, str], rural: bool,
                 seen_ids: set[str]) -> list[tuple[list[str], bool]]:
    """The register rows of one house's persons: (row, whether dirt broke its ID number).

    户籍 rows go to ``registered_at`` (another house for 人户分离), the others to ``here``.
    """
    rows: list[tuple[list[str], bool]] = []
    for person, relations, to_head in household.members:
        for relation in relations:
            written, columns = registered_at if relation == "户籍" else (address, here)
            id_number = person.id_number
            if dirt:
                if columns is here:
                    written = dirt.address(*address_parts, rural=rural)
                id_number = dirt.id_number(id_number)
            seen_ids.add(person.id_number)
            joined = ([household.number, household.head_name, to_head, household.kind]
                      if to_head else ["", "", "", ""])
            row = [written, *columns[:7], person.name, id_number, person.phone or "",
                   relation, *columns[7:], *joined, ethnicity(person.id_number), ""]
            rows.append((row, id_number != person.id_number))
    if any(bad for _row, bad in rows):
        # a dirty ID number rejects its row: the household would lose a member (or its
        # head), so a household with dirt is written without its household columns
        for row, _bad in rows:
            row[_HOUSEHOLD_AT:_HOUSEHOLD_AT + 4] = ["", "", "", ""]
    return rows


def _write_rows(writer: Any, rows: list[tuple[list[str], bool]], dirt: Dirt | None,
                summary: DemoSummary) -> None:
    for row, bad in rows:
        copies = 2 if dirt and dirt.duplicate() else 1
        for _ in range(copies):
            if dirt and dirt.stray_header(summary.register_rows):
                writer.writerow(REGISTER_HEADER)
            if dirt and dirt.blank_line():
                writer.writerow([])
            writer.writerow(row)
            summary.register_rows += 1
            if bad:
                summary.rejected_expected += 1


def _polygon(ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": [[[list(p) for p in ring]]]}


def _write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    collection = {"type": "FeatureCollection",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
                  "features": features}
    path.write_text(json.dumps(collection, ensure_ascii=False) + "\n", "utf-8")
    return path


def _write_estates(path: Path, plans: list[EstatePlan]) -> Path:
    features = [{"type": "Feature", "geometry": _polygon(plan.boundary),
                 "properties": {"name": plan.name, "community": plan.community.name,
                                "kind": "rural_group" if plan.rural else "commodity",
                                "address": plan.community.path_name + plan.name}}
                for plan in plans if not plan.rural]
    return _write_geojson(path, features)


def _write_buildings(path: Path, plans: list[EstatePlan]) -> Path:
    features = []
    for plan in plans:
        for b in plan.buildings:
            label = f"{b.label}号" if b.single_family else f"{b.label}幢"
            features.append({"type": "Feature", "geometry": _polygon(b.footprint),
                             "properties": {"address": plan.community.path_name + plan.name
                                            + label, "floors_above": b.floors}})
    return _write_geojson(path, features)


def _write_facilities(path: Path, plans: list[EstatePlan], rng: random.Random, seed: int,
                      summary: DemoSummary) -> Path:
    communities = {p.community.code: p.community for p in plans}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FACILITY_HEADER)
        number = 0
        for position, community in enumerate(communities.values()):
            cx, cy = community_centre(community, seed)
            for category, subtypes in SUBTYPES.items():
                # every category at least once in the first community; then thinner
                if position and rng.random() < 0.35:
                    continue
                subtype = rng.choice(subtypes)
                number += 1
                lon = cx + rng.uniform(-0.008, 0.008)
                lat = cy + rng.uniform(-0.007, 0.007)
                capacity = rng.choice((20, 40, 60, 120)) if category in (
                    FacilityCategory.CHILDCARE, FacilityCategory.ELDERLY_CARE,
                    FacilityCategory.EDUCATION) else ""
                writer.writerow([f"demo-{number:06d}", f"{community.short}{subtype}",
                                 category.value, subtype,
                                 f"{community.path_name}{rng.randint(1, 199)}号",
                                 f"{lon:.7f}", f"{lat:.7f}", "CGCS2000", capacity,
                                 community.code])
    summary.facilities = number
    return path


def _write_projects(path: Path, rng: random.Random, summary: DemoSummary
                    ) -> tuple[Path, list[dict[str, str]]]:
    every = jiaxing_communities()
    streets = {c.code[:9]: c.town for c in every}
    rows = programme_rows(rng, [c.code for c in every], streets)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=PROJECT_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    summary.projects = len(rows)
    return path, rows


def _write_project_boundaries(path: Path, rows: list[dict[str, str]], seed: int) -> Path:
    """Every other project's boundary (CGCS2000): a rectangle of about 900 x 700 m around
    its first community, as a planning office draws it (``import project-boundaries``)."""
    communities = {c.code: c for c in jiaxing_communities()}
    features = [{"type": "Feature", "properties": {"项目编号": row["项目编号"],
                                                   "项目名称": row["项目名称"]},
                 "geometry": {"type": "Polygon", "coordinates": [rectangle(community_centre(
                     communities[row["覆盖社区"].split(";")[0]], seed), 900.0, 700.0)]}}
                for row in rows[::2]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False) + "\n", "utf-8")
    return path


__all__ = ["FACILITY_HEADER", "REGISTER_HEADER", "DemoSummary", "generate_demo"]
