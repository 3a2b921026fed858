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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely import wkt as shapely_wkt
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from cimhouse.crs import normalize_coordinate_system, to_cgcs2000, transform_point, transformer
from cimhouse.importers.facilities.categories import resolve_category
from cimhouse.schema.vocab import LifecycleStatus

KNOWN_COLUMNS = {"name", "category", "subtype", "address", "lon", "lat", "crs", "external_id",
                 "capacity", "status", "community_code", "estate_code", "_wkt"}
STATUS_WORDS = {"在用": "in_use", "运营": "in_use", "正常": "in_use", "规划": "planned",
                "在建": "under_construction", "停用": "out_of_use", "拆除": "demolished",
                "已拆除": "demolished"}
CHINA_LON, CHINA_LAT = (73.0, 136.0), (3.0, 54.0)


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


def coordinate_converter(crs_name: str) -> Callable[[float, float], tuple[float, float]]:
    """lon/lat (or x/y) in ``crs_name`` -> EPSG:4490; raises ValueError when unknown."""
    text = crs_name.strip().upper().replace(" ", "")
    code = text.removeprefix("EPSG:").removeprefix("EPSG::")
    if text.startswith("EPSG:") and code.isdigit() and code not in ("4490", "4326"):
        srid = int(code)
        transformer(srid, 4490)  # fails now (CRSError) for an unknown EPSG code
        return lambda x, y: transform_point(x, y, srid, 4490)
    system = normalize_coordinate_system({"4490": "CGCS2000", "4326": "WGS84"}.get(
        code, crs_name))
    return lambda x, y: to_cgcs2000(x, y, system)


def convert_geometry(geom: BaseGeometry,
                     convert: Callable[[float, float], tuple[float, float]]) -> BaseGeometry:
    """Apply a point converter (see :func:`coordinate_converter`) to every vertex."""
    return shapely.transform(  # type: ignore[no-any-return]
        geom, lambda coords: np.array([convert(float(x), float(y)) for x, y in coords],
                                      dtype=float).reshape(-1, 2))


def in_china(geom: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return bool(CHINA_LON[0] <= minx and maxx <= CHINA_LON[1]
            and CHINA_LAT[0] <= miny and maxy <= CHINA_LAT[1])


def _location(row: dict[str, str], default_crs: str, reasons: list[str]) -> str | None:
    lon, lat, wkt_text = row.get("lon", ""), row.get("lat", ""), row.get("_wkt", "")
    if not (lon or lat or wkt_text):
        return None
    try:
        convert = coordinate_converter(row.get("crs") or default_crs)
    except Exception:  # ValueError, or pyproj's CRSError for an unknown EPSG code
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
    stored = convert_geometry(geom, convert)
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
