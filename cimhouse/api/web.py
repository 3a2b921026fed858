"""The app's pages for people: the pinned browser assets under ``/vendor/`` (GraphiQL, the
map) and the map page with its data (:mod:`cimhouse.api.map_data`)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

from cimhouse.web.assets import BY_URL

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
