"""The spatial members of ``BuiltFilter`` (``bbox``, ``polygon``, ``near``) compiled.

Inputs are validated and moved to the storage CRS in Python at bind time with the resolver
path's own functions (``bbox_corners``, ``near_box``, ``parse_geojson``); a refused input
falls back. Houses are located by their building's footprint, as in ``house_query``.

Example::

    spatial_sql(compiler, fd, node, "estate")
    # ["{x}.boundary && ST_MakeEnvelope(%(p4)s::float8, ..., 4490)"]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import FieldNode, GraphQLField

from cimhouse.graphql.common import Crs, bbox_corners, near_box, parse_geojson
from cimhouse.graphql.compiled.compiler import Compiler, checked
from cimhouse.settings import STORAGE_SRID

COLUMNS = {"estate": "boundary", "building": "footprint", "house": "footprint"}


def _member(name: str, fn: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    return checked(lambda flt: fn(flt[name]), f"filter.{name}")


def _bbox(box: dict[str, Any]) -> tuple[float, float, float, float]:
    return bbox_corners(box["west"], box["south"], box["east"], box["north"],
                        box.get("crs") or Crs.CGCS2000)


def _near(near: dict[str, Any]) -> tuple[float, float, float, float]:
    return near_box(near["lon"], near["lat"], near["metres"], near.get("crs") or Crs.CGCS2000)


def spatial_sql(c: Compiler, fd: GraphQLField, node: FieldNode, table: str,
                has: Callable[[str], bool]) -> list[str]:
    """Predicates over ``{x}`` for the spatial members present (``has``)."""
    geom = "sb2.footprint" if table == "house" else "{x}." + COLUMNS[table]
    out: list[str] = []

    def value(member: str, fn: Callable[[Any], Any], index: int | None) -> str:
        pick = (lambda v: fn(v)[index]) if index is not None else fn
        return c.arg_param(fd, node, "filter", _member(member, pick), "float8"
                           if index is not None else "text")

    if has("bbox"):
        w, s, e, n = (value("bbox", _bbox, i) for i in range(4))
        out.append(f"{geom} && ST_MakeEnvelope({w}, {s}, {e}, {n}, {STORAGE_SRID})")
    if has("polygon"):
        wkt = c.arg_param(fd, node, "filter", checked(lambda f: parse_geojson(
            f["polygon"], f.get("polygonCrs") or Crs.CGCS2000).wkt, "filter.polygon"), "text")
        out.append(f"ST_Intersects({geom}, ST_GeomFromText({wkt}, {STORAGE_SRID}))")
    if has("near"):
        x, y, lon_pad, lat_pad = (value("near", _near, i) for i in range(4))
        metres = c.arg_param(fd, node, "filter", _member("near", lambda v: v["metres"]),
                             "float8")
        point = f"ST_SetSRID(ST_MakePoint({x}, {y}), {STORAGE_SRID})"
        box = (f"ST_MakeEnvelope({x} - {lon_pad}, {y} - {lat_pad}, {x} + {lon_pad}, "
               f"{y} + {lat_pad}, {STORAGE_SRID})")
        out.append(f"{geom} && {box} AND ST_DWithin(geography({geom}), geography({point}), "
                   f"{metres})")
    if table == "house" and out:
        return [f"EXISTS (SELECT 1 FROM building sb2 WHERE sb2.county = {{x}}.county AND "
                f"sb2.id = {{x}}.building_id AND {' AND '.join(out)})"]
    return out
