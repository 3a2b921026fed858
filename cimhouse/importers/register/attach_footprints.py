"""Attach building footprints (and storey counts) from GeoJSON to registered buildings.

Each feature carries the building's address (``address``/``地址``/``房屋坐落``: region names,
estate, building number, as in a register) and a Polygon or MultiPolygon; it is parsed with
the same rules as the register, so it finds exactly the building the register created.
``floors_above`` (or ``地上层数``) sets the storey count. Changed footprints are written to
``change_log`` with the previous geometry as WKT; unchanged ones are left alone, so a second
run changes nothing. Coordinates are in ``crs`` (per feature, else the default): any form
:func:`cimhouse.crs.crs_name` accepts (CGCS2000, WGS84, GCJ02, BD09, EPSG:xxxx).

Example::

    with session_scope(engine) as session:
        result = attach_footprints(session, Path("var/demo/buildings.geojson"))
    result.read, result.updated, len(result.rejected)     # (1840, 1840, 0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, shape
from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from cimhouse.addressing.gazetteer import Gazetteer
from cimhouse.addressing.parse_address import building_address, parse_address
from cimhouse.crs import geometry_to_storage
from cimhouse.db.bulk import copy_rows, create_staging, execute_count
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

ADDRESS_KEYS = ("address", "地址", "房屋坐落", "坐落")
FLOOR_KEYS = ("floors_above", "地上层数", "层数", "floors")


@dataclass
class FootprintResult:
    read: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, list[str]]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"read": self.read, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": len(self.rejected),
                "rejections": [{"feature": n, "address": a, "reasons": r}
                               for n, a, r in self.rejected[:50]]}


def _features(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(_("{file} is not readable GeoJSON: {exc}", file=path.name,
                             exc=exc)) from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or not features:
        raise InvalidInput(_("{file} holds no GeoJSON features", file=path.name))
    return features


def attach_footprints(session: Session, path: Path, *, actor: str = "cli",
                      default_crs: str = "CGCS2000") -> FootprintResult:
    """Set ``building.footprint``/``floors_above`` from the features of ``path``."""
    features = _features(path)
    gazetteer = Gazetteer.load(session)
    result = FootprintResult()
    staged: list[tuple[int, str, str, str, int | None]] = []
    for number, feature in enumerate(features, start=1):
        result.read += 1
        props = feature.get("properties") or {}
        address = next((str(props[k]) for k in ADDRESS_KEYS if props.get(k)), "")
        reasons: list[str] = []
        parsed = parse_address(address, gazetteer)
        if not address:
            reasons.append("缺少地址属性 / feature has no address property")
        elif not parsed.accepted:
            reasons += parsed.reasons
        try:
            geom = shape(feature.get("geometry") or {})
            if geom.geom_type == "Polygon":
                geom = MultiPolygon([geom])
            if geom.geom_type != "MultiPolygon" or geom.is_empty:
                raise ValueError(geom.geom_type)
        except (ValueError, TypeError, AttributeError, KeyError):
            reasons.append("几何不是面 / geometry is not a polygon")
            geom = None
        system = str(props.get("crs") or default_crs)
        try:
            geom = geometry_to_storage(geom, system) if geom is not None else None
        except ValueError:
            reasons.append(f"未知坐标系 / unknown coordinate system {system!r}")
            geom = None
        floors_raw = str(next((props[k] for k in FLOOR_KEYS if props.get(k)), ""))
        floors = int(floors_raw) if floors_raw.isdigit() else None
        if reasons or geom is None:
            result.rejected.append((number, address, reasons))
            continue
        staged.append((number, str(parsed.county), building_address(gazetteer, parsed),
                       geom.wkt, floors))
    create_staging(session, "stage_footprint",
                   "line integer, county text, address_norm text, wkt text, floors integer")
    copy_rows(session, "stage_footprint", ["line", "county", "address_norm", "wkt", "floors"],
              staged)
    matched = """
        FROM stage_footprint s JOIN building b
          ON b.county = s.county AND b.address_norm = s.address_norm"""
    changed = ("(b.footprint IS NULL OR NOT ST_Equals(b.footprint, "
               "ST_Multi(ST_GeomFromText(s.wkt, 4490))) OR (s.floors IS NOT NULL AND "
               "b.floors_above IS DISTINCT FROM s.floors))")
    params = {"actor": actor, "src": f"footprints:{path.name}"}
    execute_count(session, _sql(f"""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT b.county, 'building', b.id::text, 'update', :actor, :src,
               jsonb_build_object('footprint', ST_AsText(b.footprint),
                                  'floors_above', b.floors_above),
               jsonb_build_object('footprint', s.wkt,
                                  'floors_above', COALESCE(s.floors, b.floors_above))
        {matched} WHERE {changed}"""), params)
    result.updated = execute_count(session, _sql(f"""
        UPDATE building b SET footprint = ST_Multi(ST_GeomFromText(s.wkt, 4490)),
               floors_above = COALESCE(s.floors, b.floors_above), updated_at = now(),
               version = b.version + 1
        FROM stage_footprint s
        WHERE b.county = s.county AND b.address_norm = s.address_norm AND {changed}"""))
    found = {row[0] for row in session.execute(_sql(f"SELECT s.line {matched}"))}
    by_line = {row[0]: row for row in staged}
    for line in sorted(set(by_line) - found):
        result.rejected.append((line, by_line[line][2], [
            "未找到该地址的幢 / no registered building at this address"]))
    result.rejected.sort()
    result.unchanged = len(found) - result.updated
    return result


def _sql(statement: str) -> TextClause:
    return text(statement)


__all__ = ["FootprintResult", "attach_footprints"]
