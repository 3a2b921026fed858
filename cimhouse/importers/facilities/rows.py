"""Validate one facility row: name, category, location, status, capacity.

Coordinates may be in CGCS2000 (default), WGS84, GCJ-02 (高德/腾讯) or BD-09 (百度), named
per row in ``crs`` or for the whole file; a projected ``EPSG:NNNN`` (e.g. the
Gauss-Kruger ``EPSG:4549``) takes x/y in metres. Everything ends up in EPSG:4490 and must
fall inside China. Reasons are bilingual, Chinese first.

Example::

    >>> row, reasons = validate_row({"name": "阳光托育园", "category": "托育",
    ...                              "lon": "120.75", "lat": "30.75"}, default_crs="CGCS2000")
    >>> row.category, row.subtype, row.wkt, reasons
    ('childcare', '托育', 'POINT (120.75 30.75)', [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shapely import wkt as shapely_wkt
from shapely.errors import ShapelyError

from cimhouse.crs import crs_name, geometry_to_storage, in_china
from cimhouse.importers.facilities.categories import resolve_category
from cimhouse.schema.vocab import LifecycleStatus

KNOWN_COLUMNS = {"name", "category", "subtype", "address", "lon", "lat", "crs", "external_id",
                 "capacity", "status", "community_code", "estate_code", "_wkt"}
STATUS_WORDS = {"在用": "in_use", "运营": "in_use", "正常": "in_use", "规划": "planned",
                "在建": "under_construction", "停用": "out_of_use", "拆除": "demolished",
                "已拆除": "demolished"}


@dataclass
class FacilityRow:
    name: str
    category: str
    subtype: str | None
    address: str | None
    wkt: str | None  # EPSG:4490
    external_id: str | None
    capacity: int | None
    status: str
    community_code: str | None
    estate_code: str | None
    attributes: dict[str, Any] = field(default_factory=dict)


def _location(row: dict[str, str], default_crs: str, reasons: list[str]) -> str | None:
    lon, lat, wkt_text = row.get("lon", ""), row.get("lat", ""), row.get("_wkt", "")
    if not (lon or lat or wkt_text):
        return None
    try:
        system = crs_name(row.get("crs") or default_crs)
    except ValueError:
        reasons.append(f"未知坐标系 / unknown coordinate system {row.get('crs') or default_crs!r}")
        return None
    try:
        if wkt_text:
            geom = shapely_wkt.loads(wkt_text)
            if geom.is_empty or geom.geom_type not in ("Point", "Polygon", "MultiPolygon"):
                raise ValueError(geom.geom_type)
        else:
            from shapely.geometry import Point
            geom = Point(float(lon), float(lat))
    except (ValueError, ShapelyError):
        reasons.append("坐标无效 / coordinates are not valid numbers or geometry "
                       "(Point, Polygon, MultiPolygon)")
        return None
    stored = geometry_to_storage(geom, system)
    if not in_china(stored):
        reasons.append("坐标不在中国境内，请检查经纬度顺序和坐标系 / coordinates outside China "
                       "(lon/lat swapped or wrong coordinate system?)")
        return None
    if not stored.is_valid:
        reasons.append("几何图形自相交 / polygon is not valid (self-intersecting)")
        return None
    return str(stored.wkt)


def validate_row(row: dict[str, str], *, default_crs: str = "CGCS2000"
                 ) -> tuple[FacilityRow | None, list[str]]:
    """The cleaned row, or None with the reasons it was rejected."""
    reasons: list[str] = []
    name = row.get("name", "").strip()
    if not name:
        reasons.append("名称为空 / name is empty")
    resolved = resolve_category(row.get("category", "")) if row.get("category") else (
        resolve_category(name) if name else None)
    if resolved is None:
        reasons.append(f"无法识别设施类别 / unknown facility category "
                       f"{row.get('category') or '(empty, not in the name either)'!r}")
    wkt_text = _location(row, default_crs, reasons)
    community = row.get("community_code", "").strip() or None
    if community is not None and not (community.isdigit() and len(community) == 12):
        reasons.append("社区代码应为12位数字 / community code must be 12 digits")
    located = any(row.get(k) for k in ("lon", "lat", "_wkt"))
    if not located and community is None and not row.get("estate_code"):
        reasons.append("既无坐标也无社区/小区代码，无法定位 / neither coordinates nor a "
                       "community or estate code: cannot place the facility")
    capacity: int | None = None
    if row.get("capacity"):
        try:
            capacity = int(float(row["capacity"]))
            if capacity < 0:
                raise ValueError
        except ValueError:
            reasons.append("容量应为非负整数 / capacity must be a non-negative integer")
    status_raw = row.get("status", "").strip()
    status = STATUS_WORDS.get(status_raw, status_raw.lower() or LifecycleStatus.IN_USE.value)
    if status not in {s.value for s in LifecycleStatus}:
        reasons.append(f"未知状态 / unknown status {status_raw!r}")
    if reasons or resolved is None:
        return None, reasons
    category, word_subtype = resolved
    return FacilityRow(
        name=name, category=category, subtype=row.get("subtype") or word_subtype,
        address=row.get("address") or None, wkt=wkt_text,
        external_id=row.get("external_id") or None, capacity=capacity, status=status,
        community_code=community, estate_code=row.get("estate_code") or None,
        attributes={k: v for k, v in row.items() if k not in KNOWN_COLUMNS and v},
    ), []
