"""Write a read model into buildings, storeys, houses and spaces, keyed on GlobalIds.

A re-import finds every record by its GlobalId (a rule-made dwelling by its stable key in
``house.external_ids['ifc_dwelling']``), updates what changed, bumps ``version``, and writes
the previous and current values of buildings and houses to ``change_log``. Codes are never
touched. Storeys and spaces that left the model are deleted (they carry no code); houses that
left it are kept and counted, since a code may hang on them.

Example::

    counts = write_model(session, target, view, actor="alice", source="import_run:7")
    counts["buildings_added"], counts["houses_updated"]
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import execute_count
from cimhouse.errors import Conflict
from cimhouse.i18n import _
from cimhouse.importers.ifc.dwellings import DwellingGroup
from cimhouse.importers.ifc.footprints import FootprintResult
from cimhouse.importers.ifc.georef import Georeference
from cimhouse.importers.ifc.structure import BuildingRecord, ModelStructure, SpaceRecord
from cimhouse.schema import Building, ChangeLog, House, Space, Storey
from cimhouse.schema.base import SRID
from cimhouse.schema.vocab import AreaSource, HouseUse

#: storeys below this elevation (m) count as underground floors
BASEMENT_BELOW_M = -1.5
TRACKED_BUILDING = ("estate_id", "region_code", "building_label", "footprint", "floors_above",
                    "floors_below", "height_m", "source")
TRACKED_HOUSE = ("building_id", "region_code", "room_label", "floor_label", "floor_number",
                 "area_m2", "area_source")


@dataclass(frozen=True)
class ImportTarget:
    county: str
    region_code: str
    estate_id: int | None


@dataclass
class ModelView:
    """Everything read from one file, ready to be written."""

    structure: ModelStructure
    dwellings: list[DwellingGroup]
    shapes: FootprintResult | None
    georef: Georeference
    origin: str  # what the rows' ``source`` says: "ifc:<file name>"
    #: without a geometry step: geometric areas an earlier import stored, by GlobalId
    kept_geometry_areas: dict[str, float] = field(default_factory=dict)


def _multipolygon(geom: BaseGeometry | None, georef: Georeference) -> Any:
    if geom is None or geom.is_empty or georef.placement is None:
        return None
    snapped = shapely.set_precision(geom, 0.001)  # 1 mm in model metres: drops slivers
    stored = georef.to_storage(snapped)
    polygons = [p for p in getattr(stored, "geoms", [stored]) if isinstance(p, Polygon)]
    if not polygons:
        return None
    # normalized: the same model gives the same vertex order, so re-imports compare equal
    return from_shape(shapely.normalize(MultiPolygon(polygons)), srid=SRID)


def _comparable(value: Any) -> Any:
    """A JSON-able form of a column value, equal for equal values whatever their type."""
    if value is None:
        return None
    if isinstance(value, Decimal | float):
        return round(float(value), 3)
    if hasattr(value, "data") and hasattr(value, "srid"):  # a GeoAlchemy2 element
        return shapely.normalize(shapely.set_precision(to_shape(value), 1e-9)).wkt
    return value


def _apply(session: Session, row: Any, values: dict[str, Any], tracked: tuple[str, ...],
           kind: str, actor: str, source: str, county: str) -> bool:
    """Set ``values`` on ``row``; log tracked changes; True when something changed."""
    previous: dict[str, Any] = {}
    current: dict[str, Any] = {}
    for name, value in values.items():
        before, after = _comparable(getattr(row, name)), _comparable(value)
        if before != after:
            if name in tracked:
                previous[name], current[name] = before, after
            setattr(row, name, value)
    if previous:
        row.version = (row.version or 1) + 1
        session.add(ChangeLog(county=county, object_kind=kind, object_id=str(row.id),
                              operation="update", actor=actor, source=source,
                              previous=previous, current=current))
    return bool(previous)


def _set_changed(row: Any, values: dict[str, Any]) -> bool:
    """Set only the values that differ (an unchanged row costs no UPDATE); True if any."""
    changed = False
    for name, value in values.items():
        if _comparable(getattr(row, name)) != _comparable(value):
            setattr(row, name, value)
            changed = True
    return changed


def _log_insert(session: Session, object_id: int, values: dict[str, Any], kind: str,
                actor: str, source: str, county: str) -> None:
    session.add(ChangeLog(county=county, object_kind=kind, object_id=str(object_id),
                          operation="insert", actor=actor, source=source, previous=None,
                          current=json.loads(json.dumps(
                              {k: _comparable(v) for k, v in values.items()}, default=str))))


def _by_global_id(session: Session, model: type[Any], county: str, ids: list[str]
                  ) -> dict[str, Any]:
    if not ids:
        return {}
    rows = session.scalars(select(model).where(model.county == county,
                                               model.ifc_global_id.in_(ids)))
    return {row.ifc_global_id: row for row in rows}


def check_other_counties(session: Session, county: str, structure: ModelStructure) -> None:
    """Refuse a model whose buildings were imported under another county."""
    ids = [b.global_id for b in structure.buildings]
    elsewhere = session.execute(select(Building.county, Building.ifc_global_id).where(
        Building.ifc_global_id.in_(ids), Building.county != county)).first()
    if elsewhere is not None:
        raise Conflict(_("building {ifc_global_id} of this model was imported under county "
                         "{county}; re-import it with an estate or community of that county",
                         ifc_global_id=elsewhere.ifc_global_id, county=elsewhere.county))


def _floors(building: BuildingRecord, in_dwellings: set[str]) -> tuple[int, int, float]:
    """Floors above/below ground and the ground storey's elevation. A storey is a floor when
    it holds a space of a dwelling (when the building has dwellings), else any space (when it
    has spaces), so foundation, roof and datum levels do not count."""
    dwelling_storeys = {s.storey_id for s in building.spaces if s.global_id in in_dwellings}
    with_spaces = dwelling_storeys or {s.storey_id for s in building.spaces}
    storeys = [s for s in building.storeys if not with_spaces or s.global_id in with_spaces]
    elevations = [s.elevation_m or 0.0 for s in storeys]
    above = [e for e in elevations if e >= BASEMENT_BELOW_M]
    ground = min(above) if above else 0.0
    return len(above), len(elevations) - len(above), ground


def _building_values(record: BuildingRecord, view: ModelView, target: ImportTarget,
                     existing: Building | None) -> dict[str, Any]:
    above, below, ground = _floors(record, {i for g in view.dwellings for i in g.space_ids})
    shape = view.shapes.buildings.get(record.global_id) if view.shapes else None
    height = None
    if shape is not None and shape.top_z_m is not None:
        height = round(Decimal(max(shape.top_z_m - (record.origin_z_m + ground), 0.0)), 2)
    values: dict[str, Any] = {
        "building_label": record.name or record.long_name,
        "floors_above": above, "floors_below": below, "source": view.origin,
        "attributes": {**(existing.attributes if existing else {}), "ifc": {
            "name": record.name, "long_name": record.long_name, "site": record.site_name,
            "site_global_id": record.site_id, "schema": view.structure.schema,
            "project": view.structure.project_name, "georeference": view.georef.as_dict(),
            "storeys": len(record.storeys), "spaces": len(record.spaces)}},
    }
    if view.shapes is not None:  # --skip-geometry keeps what an earlier import found
        values["footprint"] = _multipolygon(shape.footprint if shape else None, view.georef)
        values["height_m"] = height
    if existing is None or existing.code is None:
        values["estate_id"] = target.estate_id
        values["region_code"] = target.region_code
    return values


def _space_area(space: SpaceRecord, view: ModelView) -> tuple[float | None, str | None]:
    if space.area_m2 is not None:
        return space.area_m2, space.area_source
    shape = view.shapes.spaces.get(space.global_id) if view.shapes else None
    if shape is not None and shape.area_m2 > 0:
        return shape.area_m2, AreaSource.IFC_GEOMETRY.value
    if space.global_id in view.kept_geometry_areas:  # --skip-geometry: the earlier figure
        return view.kept_geometry_areas[space.global_id], AreaSource.IFC_GEOMETRY.value
    return None, None


def write_model(session: Session, target: ImportTarget, view: ModelView, *, actor: str,
                source: str) -> dict[str, int]:
    """Upsert ``view`` under ``target``; returns counts of what was added/updated/removed."""
    counts: Counter[str] = Counter()
    county = target.county
    # two imports into one county at once would race on the GlobalId keys: take turns
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"cimhouse.ifc_import:{county}"})
    check_other_counties(session, county, view.structure)
    records = view.structure.buildings
    buildings = _by_global_id(session, Building, county, [b.global_id for b in records])
    added: list[tuple[Any, dict[str, Any]]] = []
    for record in records:
        row = buildings.get(record.global_id)
        values = _building_values(record, view, target, row)
        if row is None:
            row = Building(county=county, ifc_global_id=record.global_id, **values)
            session.add(row)
            added.append((row, values))
            buildings[record.global_id] = row
            counts["buildings_added"] += 1
        elif _apply(session, row, values, TRACKED_BUILDING, "building", actor, source, county):
            counts["buildings_updated"] += 1
        else:
            counts["buildings_unchanged"] += 1
    session.flush()  # one batch of inserts; the ids are needed from here on
    for row, values in added:
        _log_insert(session, row.id, values, "building", actor, source, county)
    if view.shapes is None:
        view.kept_geometry_areas = {str(gid): float(area or 0) for gid, area in session.execute(
            select(Space.ifc_global_id, Space.area_m2).where(
                Space.county == county, Space.ifc_global_id.in_(
                    [s.global_id for s in view.structure.spaces]),
                Space.area_source == AreaSource.IFC_GEOMETRY.value))}
    storey_rows = _write_storeys(session, view, buildings, county, counts)
    house_of_space = _write_houses(session, view, buildings, storey_rows, target, actor,
                                   source, counts)
    _write_spaces(session, view, buildings, storey_rows, house_of_space, county, counts,
                  {row.id for row, _ in added})
    return dict(counts)


def _write_storeys(session: Session, view: ModelView, buildings: dict[str, Building],
                   county: str, counts: Counter[str]) -> dict[str, Storey]:
    records = [(b, s) for b in view.structure.buildings for s in b.storeys]
    rows = _by_global_id(session, Storey, county, [s.global_id for _, s in records])
    new: list[dict[str, Any]] = []
    for building, storey in records:
        elevation = (None if storey.elevation_m is None
                     else round(Decimal(storey.elevation_m), 3))
        values = {"building_id": buildings[building.global_id].id, "name": storey.name,
                  "elevation_m": elevation}
        row = rows.get(storey.global_id)
        if row is None:
            new.append({"county": county, "ifc_global_id": storey.global_id, **values})
        else:
            _set_changed(row, values)
    session.flush()
    if new:  # one multi-row INSERT, then the rows (with ids) into the session
        session.execute(insert(Storey), new)
        counts["storeys_added"] += len(new)
        rows.update(_by_global_id(session, Storey, county, [v["ifc_global_id"] for v in new]))
    return rows


def _write_houses(session: Session, view: ModelView, buildings: dict[str, Building],
                  storeys: dict[str, Storey], target: ImportTarget, actor: str, source: str,
                  counts: Counter[str]) -> dict[str, int]:
    building_ids = [b.id for b in buildings.values()]
    existing = list(session.scalars(select(House).where(
        House.county == target.county, House.building_id.in_(building_ids)))) if building_ids \
        else []
    by_key = {h.ifc_global_id or (h.external_ids or {}).get("ifc_dwelling"): h
              for h in existing}
    spaces = {s.global_id: s for s in view.structure.spaces}
    house_of_space: dict[str, int] = {}
    seen: set[int] = set()
    claimed: set[str] = set()  # spaces already in a dwelling of this run
    added: list[tuple[dict[str, Any], list[SpaceRecord]]] = []
    placed: list[tuple[int, list[SpaceRecord]]] = []
    for group in view.dwellings:
        members = [spaces[i] for i in group.space_ids if i not in claimed]
        if len(members) < len(group.space_ids):
            counts["spaces_in_two_dwellings"] += len(group.space_ids) - len(members)
        areas = [_space_area(s, view)[0] for s in members]
        total = sum(a for a in areas if a is not None)
        member_storeys = [storeys[s.storey_id] for s in members if s.storey_id]
        lowest = min(member_storeys, key=lambda s: s.elevation_m or 0, default=None)
        building = buildings[group.building_global_id]
        row = by_key.get(group.key)
        # other systems' identifiers and attributes on the house are kept
        external_ids = dict(row.external_ids or {}) if row is not None else {}
        attributes = dict(row.attributes or {}) if row is not None else {}
        values: dict[str, Any] = {
            "building_id": building.id, "room_label": group.label,
            "floor_label": lowest.name if lowest else None,
            "floor_number": _floor_number(building, lowest, storeys) if lowest else None,
            "area_m2": round(Decimal(total), 2) if total else None,
            "area_source": AreaSource.SUM_OF_SPACES.value if total else None,
            "external_ids": {**external_ids, "ifc_dwelling": group.key},
            "attributes": {**attributes, "ifc": {"spaces": len(members), "storeys": sorted(
                {s.name or s.ifc_global_id or "" for s in member_storeys})}},
        }
        if row is None or row.code is None:
            values["region_code"] = building.region_code
        if row is None:
            values["ifc_global_id"] = group.zone_global_id
            added.append((values, members))
            counts["houses_added"] += 1
        else:
            if _apply(session, row, values, TRACKED_HOUSE, "house", actor, source,
                      target.county):
                counts["houses_updated"] += 1
            else:
                counts["houses_unchanged"] += 1
            placed.append((row.id, members))
        for space in members:
            claimed.add(space.global_id)
    session.flush()
    if added:  # one multi-row INSERT returning the ids in input order
        new_ids = session.scalars(
            insert(House).returning(House.id, sort_by_parameter_order=True),
            [{"county": target.county, "use": HouseUse.RESIDENTIAL.value,
              "source": view.origin, **values} for values, _ in added]).all()
        for house_id, (values, members) in zip(new_ids, added, strict=True):
            _log_insert(session, house_id, values, "house", actor, source, target.county)
            placed.append((house_id, members))
    for house_id, members in placed:
        seen.add(house_id)
        for space in members:
            house_of_space[space.global_id] = house_id
    counts["houses_not_in_model"] = sum(
        1 for h in existing if h.id not in seen and "ifc_dwelling" in (h.external_ids or {}))
    return house_of_space


def _floor_number(building: Building, storey: Storey, storeys: dict[str, Storey]) -> int:
    """1 for the lowest storey at or above ground, -1 for the first basement, and so on."""
    levels = sorted({(s.elevation_m or Decimal(0)) for s in storeys.values()
                     if s.building_id == building.id})
    elevation = storey.elevation_m or Decimal(0)
    above = [e for e in levels if e >= Decimal(str(BASEMENT_BELOW_M))]
    below = [e for e in levels if e < Decimal(str(BASEMENT_BELOW_M))]
    if elevation in above:
        return above.index(elevation) + 1
    return -(len(below) - below.index(elevation))


def _write_spaces(session: Session, view: ModelView, buildings: dict[str, Building],
                  storeys: dict[str, Storey], house_of_space: dict[str, int], county: str,
                  counts: Counter[str], new_building_ids: set[int]) -> None:
    records = [(b, s) for b in view.structure.buildings for s in b.spaces]
    rows = _by_global_id(session, Space, county, [s.global_id for _, s in records])
    new: list[dict[str, Any]] = []
    for building, space in records:
        area, area_source = _space_area(space, view)
        shape = view.shapes.spaces.get(space.global_id) if view.shapes else None
        values: dict[str, Any] = {
            "building_id": buildings[building.global_id].id,
            "storey_id": storeys[space.storey_id].id if space.storey_id else None,
            "house_id": house_of_space.get(space.global_id), "number": space.number,
            "long_name": space.long_name,
            "area_m2": round(Decimal(area), 2) if area is not None else None,
            "area_source": area_source,
            "attributes": {"ifc": {"area_geometry_m2": round(shape.area_m2, 3)
                                   if shape else None}},
        }
        if view.shapes is not None:
            values["footprint"] = _multipolygon(shape.polygon if shape else None, view.georef)
        row = rows.get(space.global_id)
        if row is None:
            new.append({"county": county, "ifc_global_id": space.global_id, **values})
        elif _set_changed(row, values):
            counts["spaces_updated"] += 1
        else:
            counts["spaces_unchanged"] += 1
    session.flush()
    if new:  # one multi-row INSERT; no ids needed
        session.execute(insert(Space), new)
        counts["spaces_added"] += len(new)
    # what left the model: its spaces and storeys go (no code hangs on them); buildings new
    # in this run have nothing to lose
    building_ids = [b.id for b in buildings.values() if b.id not in new_building_ids]
    if not building_ids:
        return
    kept_spaces = [s.global_id for _, s in records]
    counts["spaces_removed"] = execute_count(session, delete(Space).where(
        Space.county == county, Space.building_id.in_(building_ids),
        Space.ifc_global_id.not_in(kept_spaces)))
    kept_storeys = list(storeys)
    counts["storeys_removed"] = execute_count(session, delete(Storey).where(
        Storey.county == county, Storey.building_id.in_(building_ids),
        Storey.ifc_global_id.not_in(kept_storeys)))
