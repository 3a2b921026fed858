"""Mapbox vector tiles of the export layers: one SQL statement per tile, scoped in SQL.

``tile_statement(layer, z, x, y, scope)`` is ``SELECT ST_AsMVT(t, layer, 4096, 'geom') FROM
(SELECT ST_AsMVTGeom(ST_Transform(geometry, 3857), <tile>, 4096, 64) AS geom, ... FROM ...
WHERE <scope_filter> AND geometry && <tile in storage CRS>) t``: the scope is the same
:func:`cimhouse.scope.scope_filter` as every other way out of the database, and the box test
runs on the storage geometry (EPSG:4490), so the GiST index answers it. The tile bounds are
computed here (web mercator arithmetic) and bound as numbers. CGCS2000 lon/lat is taken as
WGS 84 (metres apart; the map has no online base map to disagree with).

Layers and the zoom from which they are served (below it a tile is empty, so a whole province
is never drawn house by house): estates and facilities from z10, buildings from z13, houses
from z15, the future-community projects' boundaries (``projects``, shown only to a scope
holding every community of the project) from z10. Houses without a location of their own
lie at their building's point on surface.
No layer carries personal data. ``gaps`` (from z10) is computed for the token's scope by
:func:`cimhouse.exports.gap_features.read_gap_features` (the services' ``find_gaps``, scoped in
SQL, and the estates' points inside the tile, scoped in SQL); its tile is then one
``ST_AsMVT`` over those rows passed as arrays (no table read: the same on Citus). Each tile
of it would pay the gap computation of the whole scope: the tiles endpoint passes a
:class:`~cimhouse.exports.gap_cache.GapCache`, so the gaps of a scope are computed once per
data version (see docs/tiles.md).

Example::

    >>> data = render_tile(session, scope, "buildings", 16, 54719, 26828)
    >>> mapbox_vector_tile.decode(data)["buildings"]["features"][0]["properties"]["code"]
    '3304020010020010000000004'
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import Float

from cimhouse.crs import transform_point
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.exports.gap_cache import GapCache
from cimhouse.exports.gap_features import read_gap_features
from cimhouse.exports.layers import LAYERS, project_boundaries_visible
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, Facility, FutureProject, House
from cimhouse.schema.base import SRID
from cimhouse.schema.vocab import FacilityCategory, LifecycleStatus, vocab_label
from cimhouse.scope import Scope, scope_filter
from cimhouse.services.policy import ServicePolicy
from cimhouse.settings import DEFAULT_METRIC_SRID

EXTENT = 4096
BUFFER = 64  # pixels of the tile's edge drawn from the neighbours (lines and fills join)
MAX_ZOOM = 22
MIN_ZOOM = {"estates": 10, "facilities": 10, "buildings": 13, "houses": 15, "gaps": 10,
            "projects": 10}
TILE_LAYERS = tuple(MIN_ZOOM)
WEB_MERCATOR = 3857
_HALF = 20037508.342789244  # half the web mercator world, metres


def tile_bounds(z: int, x: int, y: int, *, margin: float = 0.0
                ) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of tile z/x/y in EPSG:3857, grown by ``margin`` tile widths.

    >>> tile_bounds(0, 0, 0)
    (-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244)
    """
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(_("no tile {z}/{x}/{y}", z=z, x=x, y=y))
    size = 2 * _HALF / 2 ** z
    grow = size * margin
    xmin, ymax = -_HALF + x * size, _HALF - y * size
    return xmin - grow, ymax - size - grow, xmin + size + grow, ymax + grow


def _labels(column: Any, vocabulary: Any) -> ColumnElement[Any]:
    """The vocabulary's label in the current language, computed in SQL."""
    return case({v.value: vocab_label(vocabulary, v.value) for v in vocabulary},
                value=column, else_=column)


def _rows(layer: str, scope: Scope | None, env: Any, box: Any) -> Select[Any]:
    def mvt_geom(geometry: Any) -> Any:
        return func.ST_AsMVTGeom(func.ST_Transform(geometry, WEB_MERCATOR), env, EXTENT,
                                 BUFFER, True).label("geom")

    if layer == "estates":
        return select(mvt_geom(Estate.boundary), Estate.code, Estate.name, Estate.status,
                      _labels(Estate.status, LifecycleStatus).label("status_label"),
                      Estate.region_code).where(
            scope_filter(Estate, scope), Estate.boundary.op("&&")(box))
    if layer == "buildings":
        # houses per building of this tile: a grouped join on the distribution key
        inside = aliased(Building)
        counts = (select(House.county, House.building_id, func.count().label("houses"))
                  .join(inside, (inside.county == House.county)
                        & (inside.id == House.building_id))
                  .where(scope_filter(House, scope), inside.footprint.op("&&")(box))
                  .group_by(House.county, House.building_id).subquery())
        return (select(mvt_geom(Building.footprint), Building.code,
                       Building.building_label.label("label"), Building.status,
                       _labels(Building.status, LifecycleStatus).label("status_label"),
                       Building.floors_above.label("floors"), counts.c.houses)
                .outerjoin(counts, (counts.c.county == Building.county)
                           & (counts.c.building_id == Building.id))
                .where(scope_filter(Building, scope), Building.footprint.op("&&")(box)))
    if layer == "houses":
        # Two index-driven branches instead of one test on COALESCE(location, building point)
        # (which no index answers: it read every house of the scope): houses with a location
        # by the location's GiST index, the others by their building's footprint index.
        def branch(point: Any, *where: Any) -> Select[Any]:
            return (select(point.label("point"), House.code,
                           Building.building_label.label("building"),
                           House.unit_label.label("unit"), House.floor_number.label("floor"),
                           House.room_label.label("room"), House.status)
                    .join(Building, (Building.county == House.county)
                          & (Building.id == House.building_id))
                    .where(scope_filter(House, scope), *where))

        houses = union_all(
            branch(House.location, House.location.op("&&")(box)),
            branch(func.ST_PointOnSurface(Building.footprint), House.location.is_(None),
                   Building.footprint.op("&&")(box))).subquery("h")
        return select(mvt_geom(houses.c.point), houses.c.code, houses.c.building,
                      houses.c.unit, houses.c.floor, houses.c.room, houses.c.status,
                      _labels(houses.c.status, LifecycleStatus).label("status_label"))
    if layer == "facilities":
        radius = ServicePolicy.default().radius_m
        return select(mvt_geom(func.ST_PointOnSurface(Facility.geom)), Facility.id,
                      Facility.name, Facility.category,
                      _labels(Facility.category, FacilityCategory).label("category_label"),
                      Facility.subtype, Facility.status,
                      case({k: float(v) for k, v in radius.items()}, value=Facility.category,
                           else_=cast(None, Float)).label("radius_m")).where(
            scope_filter(Facility, scope), Facility.geom.op("&&")(box))
    if layer == "projects":  # a reference table: few rows, no spatial index needed
        return select(mvt_geom(FutureProject.boundary), FutureProject.id,
                      FutureProject.name, FutureProject.level, FutureProject.kind,
                      FutureProject.status, FutureProject.year).where(
            project_boundaries_visible(scope), FutureProject.boundary.op("&&")(box))
    raise NotFound(_("no tile layer {layer!r}; layers: {layers}", layer=layer,
                     layers=", ".join(TILE_LAYERS)))


def tile_statement(layer: str, z: int, x: int, y: int, scope: Scope | None) -> Select[Any]:
    """The one statement that answers tile z/x/y of ``layer`` for ``scope`` (bytea)."""
    if layer not in MIN_ZOOM:
        raise NotFound(_("no tile layer {layer!r}; layers: {layers}", layer=layer,
                         layers=", ".join(TILE_LAYERS)))
    env = func.ST_MakeEnvelope(*tile_bounds(z, x, y), WEB_MERCATOR)
    box = func.ST_Transform(func.ST_MakeEnvelope(
        *tile_bounds(z, x, y, margin=BUFFER / EXTENT), WEB_MERCATOR), SRID)
    # The features as a materialised CTE: Citus cannot pass a whole-row value (``t``) of a
    # subquery over shards to the aggregate ("input of anonymous composite types"), nor keep
    # its column names ("no geometry column found"); it computes a CTE's rows first and
    # aggregates them on the coordinator. PostgreSQL aggregates the same rows.
    rows = _rows(layer, scope, env, box).cte("t").prefix_with("MATERIALIZED")
    return select(func.ST_AsMVT(literal_column("t"), layer, EXTENT, "geom")).select_from(
        rows).where(rows.c.geom.is_not(None))


def _gap_tile(session: Session, scope: Scope | None, z: int, x: int, y: int,
              metric_srid: int, cache: GapCache | None) -> bytes | None:
    """The gaps of ``scope`` inside tile z/x/y (with its buffer) as one MVT statement."""
    west, south, east, north = tile_bounds(z, x, y, margin=BUFFER / EXTENT)
    corners = [transform_point(px, py, WEB_MERCATOR, SRID)
               for px, py in ((west, south), (east, north))]
    box = (corners[0][0], corners[0][1], corners[1][0], corners[1][1])
    rows = read_gap_features(session, scope, metric_srid=metric_srid, box=box, cache=cache)
    if not rows:
        return None
    names = [c.name for c in LAYERS["gaps"].columns]
    kinds = {"text": "text", "integer": "bigint", "real": "float8"}
    columns = ", ".join(f"CAST(:{n} AS {kinds[c.kind]}[])"
                        for n, c in zip(names, LAYERS["gaps"].columns, strict=True))
    params: dict[str, Any] = {n: [row[i] for row in rows] for i, n in enumerate(names)}
    params |= {"wkb": [row[-1] for row in rows], "env": tile_bounds(z, x, y)}
    statement = text(f"""
        SELECT ST_AsMVT(t, 'gaps', {EXTENT}, 'geom') FROM (
            SELECT ST_AsMVTGeom(ST_Transform(ST_GeomFromWKB(g.wkb, {SRID}), {WEB_MERCATOR}),
                                ST_MakeEnvelope(:e0, :e1, :e2, :e3, {WEB_MERCATOR}),
                                {EXTENT}, {BUFFER}, true) AS geom, {", ".join(
                                    f"g.{n}" for n in names)}
            FROM unnest(CAST(:wkb AS bytea[]), {columns}) AS g(wkb, {", ".join(names)})) t
        WHERE t.geom IS NOT NULL""")
    params |= dict(zip(("e0", "e1", "e2", "e3"), params.pop("env"), strict=True))
    data = session.execute(statement, params).scalar()
    return bytes(data) if data else None


def render_tile(session: Session, scope: Scope | None, layer: str, z: int, x: int,
                y: int, *, metric_srid: int = DEFAULT_METRIC_SRID,
                gap_cache: GapCache | None = None) -> bytes:
    """Tile z/x/y of ``layer`` as MVT bytes; ``b""`` when empty (or below the layer's zoom).

    ``metric_srid``: the CRS the gaps' distances are measured in (settings' METRIC_CRS);
    ``gap_cache``: where the ``gaps`` layer keeps a scope's gaps between tiles."""
    if layer in MIN_ZOOM and z < MIN_ZOOM[layer]:
        tile_bounds(z, x, y)  # a tile that does not exist is still NOT_FOUND
        return b""
    if layer == "gaps":
        return _gap_tile(session, scope, z, x, y, metric_srid, gap_cache) or b""
    data = session.execute(tile_statement(layer, z, x, y, scope)).scalar()
    return bytes(data) if data else b""


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The (x, y) of the tile holding lon/lat at zoom z (for tests, benches and docs).

    >>> tile_of(120.75, 30.75, 10)
    (855, 420)
    """
    if not -85.0511 <= lat <= 85.0511:
        raise InvalidInput(_("latitude outside web mercator"))
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(x, n - 1), min(y, n - 1)
