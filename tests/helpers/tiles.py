"""Where each object of the tile layers lies (its tile at the tested zoom) and tile fetching.

Example::

    places = tile_places(session)                  # layer -> {key: (x, y)}
    features = fetch_tile(client, token, "buildings", ZOOM["buildings"], *places["buildings"][c])
"""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.exports.vector_tiles import tile_of

# layer -> (zoom tested, SQL giving (key, lon, lat) of every object: where its tile is)
PLACES = {
    "estates": (12, "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, "
                    "ST_PointOnSurface(boundary) p FROM estate) s"),
    "buildings": (15, "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, "
                      "ST_PointOnSurface(footprint) p FROM building) s"),
    "houses": (16, "SELECT h.code, ST_X(p), ST_Y(p) FROM house h JOIN (SELECT county, id, "
                   "ST_PointOnSurface(footprint) p FROM building) b "
                   "ON b.county = h.county AND b.id = h.building_id"),
    "facilities": (14, "SELECT f.id::text, ST_X(p), ST_Y(p) FROM (SELECT id, "
                       "ST_PointOnSurface(geom) p FROM facility) f"),
}
ZOOM = {layer: z for layer, (z, _sql) in PLACES.items()}
KEY = {"estates": "code", "buildings": "code", "houses": "code", "facilities": "id"}


def tile_places(session: Session) -> dict[str, dict[str, tuple[int, int]]]:
    """layer -> {object key: (x, y) of its tile at ZOOM[layer]}, read without a scope."""
    return {layer: {str(key): tile_of(lon, lat, z)
                    for key, lon, lat in session.execute(text(sql))}
            for layer, (z, sql) in PLACES.items()}


def fetch_tile(client: Any, token: str, layer: str, z: int, x: int,
               y: int) -> list[dict[str, Any]]:
    """The decoded features of one tile (none for a 204)."""
    reply = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt",
                       headers={"Authorization": f"Bearer {token}"})
    if reply.status_code == 204:
        assert reply.content == b""
        return []
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(reply.content)
    assert set(decoded) == {layer}
    return list(decoded[layer]["features"])
