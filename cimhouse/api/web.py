"""The app's pages for people: the pinned browser assets under ``/vendor/`` (GraphiQL, the
map) and the map page with its data (:mod:`cimhouse.api.map_data`)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cimhouse.auth.principal import Principal
from cimhouse.auth.tokens import authenticate, bearer_token
from cimhouse.settings import Settings
from cimhouse.web.assets import BY_URL, asset

MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


def add_vendor_routes(app: FastAPI) -> None:
    """``GET /vendor/<package>/<version>/<file>``: only the pinned files, nothing else."""

    @app.get("/vendor/{path:path}", include_in_schema=False)
    def vendor(path: str) -> FileResponse:
        item = BY_URL.get(f"/vendor/{path}")
        if item is None or not item.local_path.exists():
            raise HTTPException(status_code=404)
        return FileResponse(item.local_path,
                            media_type=MEDIA_TYPES.get(item.local_path.suffix, "text/plain"))


def map_page_html(settings: Settings) -> str:
    """The map page with its pinned MapLibre and the configured tile URL (or none)."""
    js, css = asset("maplibre-gl", "maplibre-gl.js"), asset("maplibre-gl", "maplibre-gl.css")
    page = (Path(__file__).resolve().parent.parent / "web" / "map.html").read_text("utf-8")
    for key, value in (("maplibre_js", js.url), ("maplibre_js_integrity", js.integrity),
                       ("maplibre_css", css.url), ("maplibre_css_integrity", css.integrity),
                       ("tile_url", json.dumps(settings.map_tile_url))):
        page = page.replace("{{" + key + "}}", value)
    return page


def add_map_routes(app: FastAPI, settings: Settings, engine: Engine) -> None:
    """``/map`` (the page; it asks for a token) and its data, scoped by the token."""
    from cimhouse.api.map_data import LAYERS, map_layer, map_search

    page = map_page_html(settings)

    def signed_in(session: Session, authorization: str | None) -> Principal:
        principal = authenticate(session, bearer_token(authorization))
        session.commit()  # last_used_at
        return principal

    @app.get("/map", include_in_schema=False)
    def map_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/map/layers/{layer}.geojson", include_in_schema=False)
    def layer_data(layer: str, authorization: str | None = Header(None)) -> JSONResponse:
        if layer not in LAYERS:
            raise HTTPException(status_code=404)
        with Session(engine) as session:
            principal = signed_in(session, authorization)
            return JSONResponse(map_layer(session, principal, layer),
                                media_type="application/geo+json")

    @app.get("/map/search", include_in_schema=False)
    def search(q: str, authorization: str | None = Header(None)) -> JSONResponse:
        with Session(engine) as session:
            principal = signed_in(session, authorization)
            return JSONResponse(map_search(session, principal, q))
