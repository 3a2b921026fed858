"""The map's data: its GeoJSON layers (the regions and the open alerts) and the search box,
each filtered by the caller's scope in SQL (:func:`cimhouse.scope.scope_filter`), behind the
same bearer token as the GraphQL API. The rest of the map comes from the vector tiles.

``GET /map/layers/{layer}.geojson`` with ``layer`` one of :data:`LAYERS`; ``GET /map/search
?q=...`` answers the best houses for an address or a code with a point to fly to. Nothing
outside the scope appears: not a feature, not a name, not a count. Geometries are CGCS2000
lon/lat (close enough to WGS84 for a map with no online basemap).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cimhouse.addressing.search_addresses import search_addresses
from cimhouse.auth.principal import Principal
from cimhouse.coding.house_code import validate
from cimhouse.errors import InvalidInput
from cimhouse.schema import Building, Estate, House, Region, SafetyAlert
from cimhouse.schema.vocab import (
    AlertKind,
    AlertState,
    vocab_label,
)
from cimhouse.scope import scope_filter, with_county_keys

# The estates, buildings, houses, facilities and service gaps come from the scoped vector tiles
# (cimhouse/exports/vector_tiles.py; the gaps are its one ``gaps`` layer); these two are small.
LAYERS = ("regions", "alerts")
MAX_FEATURES = 20_000  # a page holds this many; narrower tokens see their own part whole


def _collection(rows: Any) -> dict[str, Any]:
    features = [{"type": "Feature", "geometry": json.loads(geometry),
                 "properties": {k: v for k, v in props.items() if v is not None}}
                for geometry, props in rows if geometry]
    return {"type": "FeatureCollection", "features": features}


def _geojson(column: Any) -> Any:
    return func.ST_AsGeoJSON(column, 7)


def map_layer(session: Session, principal: Principal, layer: str) -> dict[str, Any]:
    """One layer as a GeoJSON FeatureCollection, limited to the principal's scope."""
    scope = with_county_keys(session, principal.scope)
    query: Select[Any]
    if layer == "regions":
        query = (select(_geojson(Region.boundary), Region.code, Region.name, Region.level)
                 .where(scope_filter(Region, scope), Region.boundary.is_not(None),
                        Region.valid_to.is_(None)))
        drawn = [(g, {"code": c, "name": n, "level": lv})
                 for g, c, n, lv in session.execute(query.limit(MAX_FEATURES))]
        # communities without a boundary of their own: the hull of their estates, so that the
        # base is drawn from the project's data even before boundaries are imported
        have = {props["code"] for _g, props in drawn}
        hulls = (select(_geojson(func.ST_ConvexHull(func.ST_Collect(Estate.boundary))),
                        Estate.region_code)
                 .where(scope_filter(Estate, scope), Estate.boundary.is_not(None))
                 .group_by(Estate.region_code))
        derived = [(g, code) for g, code in session.execute(hulls) if code not in have]
        names = dict(session.execute(
            select(Region.code, Region.name).where(scope_filter(Region, scope),
                                                   Region.code.in_([c for _g, c in derived]))
        ).tuples().all())
        drawn += [(g, {"code": code, "name": names.get(code), "level": 5, "derived": True})
                  for g, code in derived]
        return _collection(drawn)
    if layer == "alerts":
        return _collection(_open_alerts(session, scope))
    raise ValueError(layer)


def _open_alerts(session: Session, scope: Any) -> list[tuple[Any, dict[str, Any]]]:
    """Unresolved safety alerts at their house's point (house, else building, else estate):
    kind, severity, state and house code; never the person (issue 19)."""
    shape = func.coalesce(House.location, Building.footprint, Estate.boundary)
    query = (select(_geojson(func.ST_PointOnSurface(shape)), SafetyAlert.kind,
                    SafetyAlert.severity, SafetyAlert.state, SafetyAlert.opened_at, House.code)
             .join(House, (House.county == SafetyAlert.county)
                   & (House.id == SafetyAlert.house_id))
             .outerjoin(Building, (Building.county == House.county)
                        & (Building.id == House.building_id))
             .outerjoin(Estate, (Estate.county == Building.county)
                        & (Estate.id == Building.estate_id))
             .where(scope_filter(House, scope), SafetyAlert.state != AlertState.RESOLVED.value)
             .order_by(SafetyAlert.last_evidence_at.desc()).limit(MAX_FEATURES))
    return [(g, {"code": code, "kind": kind, "kind_label": vocab_label(AlertKind, kind),
                 "severity": severity, "state": state,
                 "state_label": vocab_label(AlertState, state),
                 "opened_at": opened.isoformat()})
            for g, kind, severity, state, opened, code in session.execute(query)]


def _house_point(session: Session, scope: Any, *where: Any) -> tuple[float, float] | None:
    """Where to fly for a house: its own location, else its building's footprint, else its
    estate's boundary (None when it has none, or lies outside ``scope``)."""
    shape = func.coalesce(House.location, Building.footprint, Estate.boundary)
    row = session.execute(
        select(func.ST_X(func.ST_PointOnSurface(shape)), func.ST_Y(func.ST_PointOnSurface(shape)))
        .select_from(House)
        .outerjoin(Building, (Building.county == House.county)
                   & (Building.id == House.building_id))
        .outerjoin(Estate, (Estate.county == Building.county)
                   & (Estate.id == Building.estate_id))
        .where(scope_filter(House, scope), *where)).first()
    return None if row is None or row[0] is None else (row[0], row[1])


def _code_point(session: Session, scope: Any, text: str) -> dict[str, Any] | None:
    """A typed estate, building or house code in scope, with a point (None: not a code, or
    not one the caller may see)."""
    try:
        code = validate(text)
    except InvalidInput:
        return None
    point = _house_point(session, scope, House.code == code)
    for model, shape in ((Building, Building.footprint), (Estate, Estate.boundary)):
        if point is None:
            row = session.execute(
                select(func.ST_X(func.ST_PointOnSurface(shape)),
                       func.ST_Y(func.ST_PointOnSurface(shape)))
                .where(scope_filter(model, scope), model.code == code, shape.is_not(None))
            ).first()
            point = None if row is None else (row[0], row[1])
    if point is None:
        return None
    return {"code": code, "address": None, "estate": None, "score": 1.0,
            "lon": point[0], "lat": point[1]}


def map_search(session: Session, principal: Principal, text: str) -> list[dict[str, Any]]:
    """The best houses in scope for ``text`` (address or code), with a point to fly to: the
    house's own location, else its building's footprint, else its estate's boundary."""
    scope = with_county_keys(session, principal.scope)
    by_code = _code_point(session, scope, text)
    if by_code is not None:
        return [by_code]
    found = search_addresses(session, text, scope=scope, first=5)
    out = []
    for candidate in found.candidates:
        point = _house_point(session, scope, House.county == candidate.county,
                             House.id == candidate.house_id)
        if point is None:
            continue
        out.append({"code": candidate.code, "address": candidate.address,
                    "estate": candidate.estate_name, "score": candidate.score,
                    "lon": point[0], "lat": point[1]})
    return out
