"""OGC API - Features (Part 1 Core, GeoJSON) under ``/ogc``: the export layers, token-scoped.

Every request needs ``Authorization: Bearer <token>`` like ``/graphql``; the items SELECT is
the export layer's (:mod:`cimhouse.exports.layers`), so the token's scope filters in SQL.
Items page with ``limit`` (1-1000, default 100) and ``offset``, with a ``next`` link while a
page is full; ``bbox`` (lon/lat, minx,miny,maxx,maxy) filters by intersection. Coordinates
are CRS84 (WGS 84 lon/lat, converted by :mod:`cimhouse.crs`).

GDAL / QGIS pass the token as a header::

    ogrinfo --config GDAL_HTTP_HEADERS "Authorization: Bearer $TOKEN" \\
        OAPIF:http://127.0.0.1:8000/ogc houses -so
"""

from __future__ import annotations

from typing import Any

import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, func
from sqlalchemy.orm import Session

from cimhouse.auth.tokens import authenticate, bearer_token
from cimhouse.crs import geometry_from_storage
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.exports.layers import LAYERS
from cimhouse.exports.writers import plain_value
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, Facility, House
from cimhouse.schema.vocab import Role
from cimhouse.scope import with_county_keys

GEOJSON = "application/geo+json"
_GEOMETRY = {"estates": Estate.boundary, "buildings": Building.footprint,
             "houses": House.location, "facilities": Facility.geom}
CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"]


def _bbox(raw: str | None) -> list[float] | None:
    if not raw:
        return None
    try:
        box = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidInput(_("bbox: four numbers minx,miny,maxx,maxy")) from None
    if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
        raise InvalidInput(_("bbox: four numbers minx,miny,maxx,maxy"))
    return box


def ogc_router(db: Engine) -> APIRouter:
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
                "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
                "links": [{"href": url, "rel": "self", "type": "application/json"},
                          {"href": f"{url}/items", "rel": "items", "type": GEOJSON}]}

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
                "collections": [collection(request, name) for name in LAYERS]}

    @router.get("/collections/{name}")
    def one_collection(request: Request, name: str) -> dict[str, Any]:
        if name not in LAYERS:
            raise NotFound(_("no collection {name!r}", name=name))
        with Session(db) as session:
            signed_in(request, session)
        return collection(request, name)

    @router.get("/collections/{name}/items")
    def items(request: Request, name: str, limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0), bbox: str | None = None) -> JSONResponse:
        if name not in LAYERS:
            raise NotFound(_("no collection {name!r}", name=name))
        box = _bbox(bbox)
        layer = LAYERS[name]
        with Session(db) as session:
            scope = signed_in(request, session)
            query = layer.select(scope)
            if box:
                query = query.where(func.ST_Intersects(
                    _GEOMETRY[name], func.ST_MakeEnvelope(*box, 4490)))
            rows = session.execute(query.limit(limit).offset(offset)).all()
        features = []
        for row in rows:
            *values, wkb = row
            geometry = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
            props = {c.name: plain_value(v) for c, v in zip(layer.columns, values, strict=True)}
            features.append({
                "type": "Feature", "id": str(props.get("code") or props.get("id")),
                "properties": props,
                "geometry": shapely.geometry.mapping(geometry_from_storage(geometry, "WGS84"))
                if geometry is not None else None})
        url = f"{base(request)}/collections/{name}/items"
        extra = f"&bbox={bbox}" if bbox else ""
        links = [{"href": f"{url}?limit={limit}&offset={offset}{extra}", "rel": "self",
                  "type": GEOJSON}]
        if len(rows) == limit:
            links.append({"href": f"{url}?limit={limit}&offset={offset + limit}{extra}",
                          "rel": "next", "type": GEOJSON})
        return JSONResponse({"type": "FeatureCollection", "features": features,
                             "numberReturned": len(features), "links": links},
                            media_type=GEOJSON)

    return router
