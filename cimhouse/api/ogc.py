"""OGC API - Features (Part 1 Core, GeoJSON; Part 2 CRS) under ``/ogc``: the export layers,
token-scoped.

Every request needs ``Authorization: Bearer <token>`` like ``/graphql``; the items SELECT is
the export layer's (:mod:`cimhouse.exports.layers`), so the token's scope filters in SQL.
Items page with ``limit`` (1-1000, default 100) and ``offset``, with a ``next`` link while a
page is full. Parameters:

- ``bbox`` (minx,miny,maxx,maxy) in ``bbox-crs`` (default CRS84), by intersection;
- ``crs``: the response CRS, one of ``crs`` in the collection (CRS84 default, EPSG:4490 =
  CGCS2000 storage, EPSG:4326), axes in that CRS's order (EPSG:4490/4326: latitude first);
  the answer names it in the ``Content-Crs`` header;
- ``datetime`` (not on ``gaps``, computed for today, nor on ``projects``, the boundaries
  of the future-community projects, shown only to a scope holding every community of the
  project): an instant (``2026-01-01`` or an
  RFC 3339 date-time, read as its day) gives the features that existed on that day with
  their values then (GraphQL ``asOf``); an interval (``a/b``, ``../b``, ``a/..``) the
  features that existed on any day of it, with their values at its end (docs/feed.md,
  "Time travel").

GDAL / QGIS pass the token as a header::

    ogrinfo --config GDAL_HTTP_HEADERS "Authorization: Bearer $TOKEN" \\
        OAPIF:http://127.0.0.1:8000/ogc houses -so
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, Select, func, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from cimhouse.auth.tokens import authenticate, bearer_token
from cimhouse.crs import OGC_CRSS, OGC_STORAGE_CRS, bbox_from_ogc, geometry_to_ogc
from cimhouse.crs import ogc_crs as served_crs
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.exports.gap_features import read_gap_features
from cimhouse.exports.layers import LAYERS
from cimhouse.exports.writers import plain_value
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, Facility, FutureProject, House
from cimhouse.schema.vocab import Role
from cimhouse.scope import with_county_keys
from cimhouse.settings import DEFAULT_METRIC_SRID
from cimhouse.timetravel.rewind_rows import (
    existed_between,
    existed_on,
    undo_changes,
    undone_value,
)

GEOJSON = "application/geo+json"
_MODELS: dict[str, Any] = {"estates": Estate, "buildings": Building, "houses": House,
                           "facilities": Facility, "projects": FutureProject}
_GEOMETRY = {"estates": Estate.boundary, "buildings": Building.footprint,
             "houses": House.location, "facilities": Facility.geom,
             "projects": FutureProject.boundary}
_UNDATED = ("projects",)  # no valid-time history to rewind: served as they are today
_BY_ID = ("facilities", "projects")  # features named by their numeric id, not a code
CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
               "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"]


def _ogc_crs(raw: str | None, name: str) -> str:
    try:
        return served_crs(raw)
    except ValueError as exc:
        raise InvalidInput(_("{name}: unsupported crs {crs!r}; served: {served}", name=name,
                             crs=raw, served=", ".join(OGC_CRSS))) from exc


def _bbox(raw: str | None, crs: str) -> tuple[float, float, float, float] | None:
    if not raw:
        return None
    try:
        box = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidInput(_("bbox: four numbers minx,miny,maxx,maxy")) from None
    if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
        raise InvalidInput(_("bbox: four numbers minx,miny,maxx,maxy"))
    return bbox_from_ogc((box[0], box[1], box[2], box[3]), crs)


def _day(raw: str) -> dt.date | None:
    text = raw.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(_("datetime: an RFC 3339 date or date-time, or an interval "
                             "a/b (.. for an open end)")) from None
    return (moment.astimezone() if moment.tzinfo else moment).date()


def parse_datetime(raw: str | None) -> tuple[dt.date | None, dt.date | None] | None:
    """``datetime`` -> (first day, last day) (None = open); None without the parameter.

    >>> parse_datetime("2026-01-01")
    (datetime.date(2026, 1, 1), datetime.date(2026, 1, 1))
    >>> parse_datetime("../2026-01-01")
    (None, datetime.date(2026, 1, 1))
    """
    if raw is None or not raw.strip():
        return None
    if "/" not in raw:
        day = _day(raw)
        return day, day
    first, _sep, last = raw.partition("/")
    start, end = _day(first), _day(last)
    if start and end and start > end:
        raise InvalidInput(_("datetime: the interval ends before it starts"))
    return start, end


def _dated(query: Select[Any], name: str, when: tuple[dt.date | None, dt.date | None],
           counties: tuple[str, ...]) -> Select[Any]:
    """``query`` limited to the features that existed in ``when``; adds the undo column
    of the values at its end (NULL when the end is open: today's values)."""
    model, (start, end) = _MODELS[name], when
    joined = query

    def join(day: dt.date) -> Any:
        nonlocal joined
        undo = undo_changes(model, day, counties)
        joined = joined.outerjoin(undo, (undo.c.county == model.county)
                                  & (undo.c.id == model.id))
        return undo.c.undo

    if start == end and start is not None:
        undo = join(start)
        return joined.add_columns(undo).where(existed_on(model, undo, start))
    undo_end = join(end) if end is not None else None
    undo_start = join(start) if start is not None else None
    joined = joined.where(existed_between(model, undo_start, start, end))
    return joined.add_columns(undo_end if undo_end is not None else literal(None, JSONB))


def _attribute(name: str, column: str) -> str:
    """The model column behind a layer column (the layers call address_norm ``address``)."""
    return "address_norm" if column == "address" and name in ("buildings", "houses") \
        else column


def _feature(name: str, row: Any, crs: str, dated: bool) -> dict[str, Any]:
    layer, model = LAYERS[name], _MODELS.get(name)  # gaps: no model, never dated
    *values, wkb = row[:-1] if dated else row
    undo = (row[-1] or {}) if dated else {}
    props: dict[str, Any] = {}
    for column, value in zip(layer.columns, values, strict=True):
        key = _attribute(name, column.name)
        if key in undo:  # the value on the requested day
            value = undone_value(model, key, undo[key])
        props[column.name] = plain_value(value)
    geometry = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
    return {"type": "Feature", "id": str(props.get("code") or props.get("id")),
            "properties": props,
            "geometry": shapely.geometry.mapping(geometry_to_ogc(geometry, crs))
            if geometry is not None else None}


def _gap_rows(session: Session, scope: Any, metric_srid: int, *, feature_id: str | None,
              box: tuple[float, float, float, float] | None,
              when: tuple[dt.date | None, dt.date | None] | None, limit: int,
              offset: int) -> list[Any]:
    """The ``gaps`` collection: computed for the scope (in SQL) for today, then paged."""
    if when is not None:
        raise InvalidInput(_("datetime: the gaps collection is computed for today only"))
    rows = read_gap_features(session, scope, metric_srid=metric_srid, box=box)
    if feature_id is not None:
        rows = [row for row in rows if row[0] == feature_id]
    return rows[offset:offset + limit]


def _rows(session: Session, scope: Any, name: str, *, where: Any = None,
          box: tuple[float, float, float, float] | None = None,
          when: tuple[dt.date | None, dt.date | None] | None = None,
          limit: int = 1, offset: int = 0) -> list[Any]:
    """The layer's rows in ``scope`` (scope first, in SQL), filtered and paged."""
    query = LAYERS[name].select(scope)
    if where is not None:
        query = query.where(where)
    if box:
        query = query.where(func.ST_Intersects(_GEOMETRY[name],
                                               func.ST_MakeEnvelope(*box, 4490)))
    if when is not None and name in _UNDATED:
        raise InvalidInput(_("datetime: the {name} collection is served for today only",
                             name=name))
    if when is not None:
        query = _dated(query, name, when, scope.county_keys)
    return list(session.execute(query.limit(limit).offset(offset)).all())


def _page_links(url: str, limit: int, offset: int, full: bool, params: dict[str, str | None]
                ) -> list[dict[str, str]]:
    extra = "".join(f"&{key}={value}" for key, value in params.items() if value)
    links = [{"href": f"{url}?limit={limit}&offset={offset}{extra}", "rel": "self",
              "type": GEOJSON}]
    if full:
        links.append({"href": f"{url}?limit={limit}&offset={offset + limit}{extra}",
                      "rel": "next", "type": GEOJSON})
    return links


def _match(name: str, feature_id: str) -> Any:
    model = _MODELS[name]
    if name not in _BY_ID:
        return model.code == feature_id
    if not feature_id.isdigit():
        raise NotFound(_("no feature {feature_id!r}", feature_id=feature_id))
    return model.id == int(feature_id)


def ogc_router(db: Engine, metric_srid: int = DEFAULT_METRIC_SRID) -> APIRouter:
    """The /ogc routes; ``metric_srid`` is the CRS the gaps' distances are measured in."""
    router = APIRouter()

    def signed_in(request: Request, session: Session) -> Any:
        principal = authenticate(session, bearer_token(request.headers.get("authorization")))
        principal.require(Role.READER)
        return with_county_keys(session, principal.scope)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/ogc"

    def collection(request: Request, name: str) -> dict[str, Any]:
        url = f"{base(request)}/collections/{name}"
        return {"id": name, "title": LAYERS[name].title, "itemType": "feature",
                "crs": list(OGC_CRSS), "storageCrs": OGC_STORAGE_CRS,
                "links": [{"href": url, "rel": "self", "type": "application/json"},
                          {"href": f"{url}/items", "rel": "items", "type": GEOJSON}]}

    def layer_of(name: str) -> Any:
        if name not in LAYERS:
            raise NotFound(_("no collection {name!r}", name=name))
        return LAYERS[name]

    @router.get("")
    def landing(request: Request) -> dict[str, Any]:
        with Session(db) as session:
            signed_in(request, session)
        root = base(request)
        return {"title": "cimhouse", "links": [
            {"href": root, "rel": "self", "type": "application/json"},
            {"href": f"{root}/conformance", "rel": "conformance", "type": "application/json"},
            {"href": f"{root}/collections", "rel": "data", "type": "application/json"}]}

    @router.get("/conformance")
    def conformance() -> dict[str, Any]:
        return {"conformsTo": CONFORMANCE}

    @router.get("/collections")
    def collections(request: Request) -> dict[str, Any]:
        with Session(db) as session:
            signed_in(request, session)
        return {"links": [{"href": f"{base(request)}/collections", "rel": "self",
                           "type": "application/json"}],
                "crs": list(OGC_CRSS),
                "collections": [collection(request, name) for name in LAYERS]}

    @router.get("/collections/{name}")
    def one_collection(request: Request, name: str) -> dict[str, Any]:
        layer_of(name)
        with Session(db) as session:
            signed_in(request, session)
        return collection(request, name)

    def answer(body: dict[str, Any], crs: str) -> JSONResponse:
        return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})

    @router.get("/collections/{name}/items")
    def items(request: Request, name: str, limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0), bbox: str | None = None,
              bbox_crs: str | None = Query(None, alias="bbox-crs"),
              crs: str | None = None, datetime: str | None = None) -> JSONResponse:
        layer_of(name)
        out_crs = _ogc_crs(crs, "crs")
        box = _bbox(bbox, _ogc_crs(bbox_crs, "bbox-crs"))
        when = parse_datetime(datetime)
        with Session(db) as session:
            scope = signed_in(request, session)
            rows = _gap_rows(session, scope, metric_srid, feature_id=None, box=box, when=when,
                             limit=limit, offset=offset) if LAYERS[name].computed else \
                _rows(session, scope, name, box=box, when=when, limit=limit, offset=offset)
        features = [_feature(name, row, out_crs, when is not None) for row in rows]
        links = _page_links(f"{base(request)}/collections/{name}/items", limit, offset,
                            len(rows) == limit, {"bbox": bbox, "bbox-crs": bbox_crs,
                                                 "crs": crs, "datetime": datetime})
        return answer({"type": "FeatureCollection", "features": features,
                       "numberReturned": len(features), "links": links}, out_crs)

    @router.get("/collections/{name}/items/{feature_id}")
    def item(request: Request, name: str, feature_id: str, crs: str | None = None,
             datetime: str | None = None) -> JSONResponse:
        layer_of(name)
        out_crs = _ogc_crs(crs, "crs")
        when = parse_datetime(datetime)
        with Session(db) as session:
            scope = signed_in(request, session)
            rows = _gap_rows(session, scope, metric_srid, feature_id=feature_id, box=None,
                             when=when, limit=1, offset=0) if LAYERS[name].computed else \
                _rows(session, scope, name, where=_match(name, feature_id), when=when)
        if not rows:  # outside the scope reads exactly like unknown
            raise NotFound(_("no feature {feature_id!r}", feature_id=feature_id))
        url = f"{base(request)}/collections/{name}/items/{feature_id}"
        return answer({**_feature(name, rows[0], out_crs, when is not None),
                       "links": [{"href": url, "rel": "self", "type": GEOJSON}]}, out_crs)

    return router
