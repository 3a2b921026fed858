"""Shared GraphQL pieces: Relay connections with opaque cursors, global ids, GeoJSON I/O.

Cursors and node ids are URL-safe base64 of ``kind:key`` strings: opaque to callers, stable
for a given object. Pages are keyset-paged (never OFFSET) and capped by
``settings.max_page_size``.

Example::

    >>> decode_cursor(encode_cursor("house", "330402:17"), "house")
    '330402:17'
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from geoalchemy2 import WKBElement
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, and_, func, or_
from strawberry.scalars import JSON

from cimhouse.crs import CoordinateSystem, geometry_from_storage, geometry_to_storage
from cimhouse.errors import InvalidInput
from cimhouse.graphql.input_limits import check_vertex_count
from cimhouse.i18n import _
from cimhouse.settings import STORAGE_SRID, Settings

T = TypeVar("T")
METRES_PER_DEGREE = 111_320.0
GEOJSON_DECIMALS = 7


# the one list of coordinate systems (cimhouse.crs), exposed under GraphQL's name ``Crs``
strawberry.enum(CoordinateSystem, name="Crs",
                description="Coordinate systems for geometry input and output.")
Crs = CoordinateSystem


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of results; pass pageInfo.endCursor as `after`.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_query: strawberry.Private[Callable[[], int] | None] = None

    @strawberry.field(description="Number of matching objects in scope (all pages).")
    def total_count(self) -> int:
        return self.count_query() if self.count_query else len(self.edges)


@strawberry.interface(description="An object with a global id, fetchable with node(id).")
class Node:
    id: strawberry.ID


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    try:
        padded = text + "=" * (-len(text) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("malformed id or cursor")) from None


def encode_cursor(kind: str, key: str) -> str:
    return _b64(f"{kind}:{key}")


def decode_cursor(cursor: str, kind: str) -> str:
    found, _sep, key = _unb64(cursor).partition(":")
    if found != kind or not key:
        raise InvalidInput(_("cursor does not belong to this list"))
    return key


def global_id(kind: str, key: str) -> strawberry.ID:
    return strawberry.ID(_b64(f"{kind}:{key}"))


def parse_global_id(value: str) -> tuple[str, str]:
    kind, _sep, key = _unb64(value).partition(":")
    if not kind or not key:
        raise InvalidInput(_("malformed id"))
    return kind, key


def county_key(county: str, row_id: int) -> str:
    return f"{county}:{row_id}"


def parse_county_key(key: str) -> tuple[str, int]:
    county, _sep, raw_id = key.partition(":")
    if len(county) != 6 or not county.isdigit() or not raw_id.isdigit():
        raise InvalidInput(_("malformed id or cursor"))
    return county, int(raw_id)


def page_size(first: int | None, settings: Settings) -> int:
    if first is not None and first < 0:
        raise InvalidInput(_("first must not be negative"))
    wanted = settings.max_page_size if first is None else first
    return max(0, min(wanted, settings.max_page_size))


def make_connection(rows: Sequence[Any], limit: int, kind: str, key: Callable[[Any], str],
                    node: Callable[[Any], T],
                    count_query: Callable[[], int] | None = None) -> Connection[T]:
    """Build a page from ``limit + 1`` fetched rows (the extra row says there is more)."""
    page = rows[:limit]
    edges = [Edge(cursor=encode_cursor(kind, key(r)), node=node(r)) for r in page]
    return Connection(edges=edges,
                      page_info=PageInfo(has_next_page=len(rows) > limit,
                                         end_cursor=edges[-1].cursor if edges else None),
                      count_query=count_query)


def after_county_id(model: Any, after: str | None, kind: str) -> ColumnElement[bool] | None:
    """Keyset predicate for rows ordered by (county, id)."""
    if not after:
        return None
    county, row_id = parse_county_key(decode_cursor(after, kind))
    return or_(model.county > county, and_(model.county == county, model.id > row_id))


# -- geometry ----------------------------------------------------------------------------

def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, GEOJSON_DECIMALS)
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


def to_geojson(element: WKBElement | None, crs: Crs) -> JSON | None:
    """A stored geometry as a GeoJSON geometry object in ``crs`` (lon/lat order)."""
    if element is None:
        return None
    geom = to_shape(element)
    geom = geometry_from_storage(geom, crs)
    data = mapping(geom)
    return {"type": data["type"], "coordinates": _round(data["coordinates"])}  # type: ignore[return-value]


def to_storage_geometry(geom: BaseGeometry, crs: Crs) -> BaseGeometry:
    """Input geometry in ``crs`` -> storage CRS (EPSG:4490)."""
    return geometry_to_storage(geom, crs)


def parse_geojson(value: Any, crs: Crs) -> BaseGeometry:
    """A caller's GeoJSON geometry (object or string), validated, in storage CRS."""
    try:
        data = json.loads(value) if isinstance(value, str) else value
        check_vertex_count(data)
        geom = shape(data)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        raise InvalidInput(_("not a GeoJSON geometry")) from None
    if geom.is_empty or not geom.is_valid:
        raise InvalidInput(_("the GeoJSON geometry is empty or invalid"))
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(_("a Polygon or MultiPolygon is required"))
    return to_storage_geometry(geom, crs)


@strawberry.input(description="A point and a radius in metres.")
class NearInput:
    lon: float
    lat: float
    metres: float
    crs: Crs = Crs.CGCS2000


@strawberry.input(description="A lon/lat box: west, south, east, north.")
class BBoxInput:
    west: float
    south: float
    east: float
    north: float
    crs: Crs = Crs.CGCS2000


def _check_lon_lat(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(_("longitude must lie in [-180, 180] and latitude in [-90, 90]"))


def storage_point(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    from shapely.geometry import Point

    _check_lon_lat(lon, lat)
    point = to_storage_geometry(Point(lon, lat), crs)
    return float(point.x), float(point.y)


def near_box(lon: float, lat: float, metres: float, crs: Crs) -> tuple[float, float, float,
                                                                       float]:
    """The point in storage CRS and the half-sizes (lon, lat) of a box holding the circle."""
    if not (0 < metres <= 50_000):
        raise InvalidInput(_("metres must lie in (0, 50000]"))
    x, y = storage_point(lon, lat, crs)
    # One degree of longitude is shortest at the highest latitude the box reaches.
    import math

    lat_pad = metres / METRES_PER_DEGREE
    lon_pad = lat_pad / max(0.05, math.cos(math.radians(min(89.0, abs(y) + lat_pad))))
    return x, y, lon_pad, lat_pad


def near_clause(column: Any, near: NearInput) -> ColumnElement[bool]:
    """``column`` within ``near.metres`` of the point: an index-friendly box, then geodesic."""
    x, y, lon_pad, lat_pad = near_box(near.lon, near.lat, near.metres, near.crs)
    point = func.ST_SetSRID(func.ST_MakePoint(x, y), STORAGE_SRID)
    box = func.ST_MakeEnvelope(x - lon_pad, y - lat_pad, x + lon_pad, y + lat_pad,
                               STORAGE_SRID)
    return and_(column.op("&&")(box),
                func.ST_DWithin(func.geography(column), func.geography(point), near.metres))


def bbox_corners(west: float, south: float, east: float, north: float, crs: Crs
                 ) -> tuple[float, float, float, float]:
    """A caller's box as (west, south, east, north) in storage CRS, validated."""
    if west >= east or south >= north:
        raise InvalidInput(_("bbox needs west < east and south < north"))
    return (*storage_point(west, south, crs), *storage_point(east, north, crs))


def bbox_clause(column: Any, bbox: BBoxInput) -> ColumnElement[bool]:
    west, south, east, north = bbox_corners(bbox.west, bbox.south, bbox.east, bbox.north,
                                            bbox.crs)
    return column.op("&&")(func.ST_MakeEnvelope(west, south, east, north, STORAGE_SRID))  # type: ignore[no-any-return]


def polygon_clause(column: Any, polygon: Any, crs: Crs) -> ColumnElement[bool]:
    geom = parse_geojson(polygon, crs)
    return func.ST_Intersects(column, func.ST_GeomFromText(geom.wkt, STORAGE_SRID))


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE wildcards escaped (use with ``escape='\\\\'``)."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(_("search text must not be empty"))
    escaped = cleaned.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
