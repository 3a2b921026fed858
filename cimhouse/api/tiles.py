"""``GET /tiles/{layer}/{z}/{x}/{y}.mvt``: Mapbox vector tiles of the export layers, scoped.

The token comes as ``Authorization: Bearer <token>`` like everywhere (MapLibre adds it with
``transformRequest``; no token in URLs, where proxies and logs would keep it). Each tile is
one statement (:func:`cimhouse.exports.vector_tiles.tile_statement`) filtered by the token's
scope in SQL. An empty tile answers 204 (no body); a tile outside the grid or an unknown layer
404. A tile depends on the token, so it is cached only privately, briefly, and per token::

    Cache-Control: private, max-age=60
    Vary: Authorization
    ETag: "<sha256 of the tile, first 32 hex digits>"     (If-None-Match -> 304)

Example::

    curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/tiles/buildings/16/54719/26828.mvt
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cimhouse.auth.tokens import authenticate, bearer_token
from cimhouse.exports.gap_cache import GapCache
from cimhouse.exports.vector_tiles import render_tile
from cimhouse.schema.vocab import Role
from cimhouse.settings import DEFAULT_METRIC_SRID

MVT = "application/vnd.mapbox-vector-tile"
MAX_AGE_S = 60
CACHE_HEADERS = {"Cache-Control": f"private, max-age={MAX_AGE_S}", "Vary": "Authorization"}


def tiles_router(db: Engine, metric_srid: int = DEFAULT_METRIC_SRID,
                 gap_cache: GapCache | None = None) -> APIRouter:
    """The /tiles routes; ``metric_srid`` is the CRS the gaps' distances are measured in;
    ``gap_cache`` keeps a scope's gaps between its tiles (the app's ``state.gap_cache``)."""
    router = APIRouter()
    gap_cache = GapCache() if gap_cache is None else gap_cache

    @router.get("/{layer}/{z}/{x}/{y}.mvt")
    def tile(request: Request, layer: str, z: int, x: int, y: int) -> Response:
        with Session(db) as session:
            principal = authenticate(session, bearer_token(
                request.headers.get("authorization")))
            principal.require(Role.READER)
            session.commit()  # last_used_at; the tile reads in a fresh snapshot
            # authenticate resolved the scope's county keys already (Citus routing)
            data = render_tile(session, principal.scope, layer, z, x, y,
                               metric_srid=metric_srid, gap_cache=gap_cache)
        if not data:
            return Response(status_code=204, headers=CACHE_HEADERS)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {**CACHE_HEADERS, "ETag": etag}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=MVT, headers=headers)

    return router
