"""The spatial structure of a model, read by decomposition, in metres and square metres.

project -> site(s) -> building(s) -> storey(s) -> space(s); sites and buildings may nest,
a building may hold spaces without storeys, a space may hold sub-spaces. Every record is
keyed on its GlobalId; names may be missing. Spaces and storeys that no building reaches
are reported as rejected, never silently dropped.

Example::

    structure = read_structure(open_model(path).model)
    [b.name for b in structure.buildings]          # ['FZK-Haus']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ifcopenshell.util.element import get_psets
from ifcopenshell.util.placement import get_local_placement
from ifcopenshell.util.unit import calculate_unit_scale

from cimhouse.schema.vocab import AreaSource

#: ifcopenshell's entities and files are untyped
IfcEntity = Any
IfcModel = Any

#: quantity sets and properties holding a space's floor area, best first
QTO_AREAS = ("NetFloorArea", "GrossFloorArea")
VENDOR_AREAS = (
    ("PSet_Revit_Dimensions", "Area"),
    ("GSA Space Areas", "GSA BIM Area"),
    ("AC_Pset_Allgemeiner_Raumstempel", "Gemessene Fläche"),
    ("AC_Pset_RoomStamp", "Measured Area"),
    ("ArchiCADQuantities", "NetFloorArea"),
    ("Pset_SpaceCommon", "NetPlannableArea"),
    ("Pset_SpaceCommon", "GrossPlannedArea"),
)


@dataclass
class SpaceRecord:
    global_id: str
    number: str | None
    long_name: str | None
    storey_id: str | None
    area_m2: float | None
    area_source: str | None
    psets: dict[str, dict[str, Any]] = field(repr=False)


@dataclass
class StoreyRecord:
    global_id: str
    name: str | None
    elevation_m: float | None


@dataclass
class BuildingRecord:
    global_id: str
    name: str | None
    long_name: str | None
    site_id: str | None
    site_name: str | None
    origin_z_m: float
    storeys: list[StoreyRecord] = field(default_factory=list)
    spaces: list[SpaceRecord] = field(default_factory=list)
    #: geometric elements (walls, slabs, ...) contained in the building: STEP ids
    element_ids: list[int] = field(default_factory=list)


@dataclass
class Rejected:
    global_id: str
    ifc_class: str
    reason: str
    step_id: int = 0  # the entity's #id in the STEP file: the "line" of the rejects report


@dataclass
class ModelStructure:
    schema: str
    length_scale: float  # metres per project length unit
    area_scale: float  # square metres per project area unit
    project_name: str | None
    buildings: list[BuildingRecord]
    zones: dict[str, tuple[str | None, list[str]]]  # zone GlobalId -> (name, space ids)
    rejected: list[Rejected]
    read: int  # IfcBuilding + IfcBuildingStorey + IfcSpace in the file
    warnings: list[str]

    @property
    def spaces(self) -> list[SpaceRecord]:
        return [s for b in self.buildings for s in b.spaces]


def _children(obj: IfcEntity) -> list[IfcEntity]:
    # RelatedObjects is a SET: file order makes runs (and new row ids) repeatable
    children = [child for rel in obj.IsDecomposedBy or () for child in rel.RelatedObjects]
    return sorted(children, key=lambda child: child.id())


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def space_area(psets: dict[str, dict[str, Any]], area_scale: float
               ) -> tuple[float | None, str | None]:
    """Floor area of a space from its quantities or properties, with the source's name.

    Quantities (Qto_SpaceBaseQuantities, then BaseQuantities) come first, then the vendor
    property sets listed in :data:`VENDOR_AREAS`; the geometry fills in later when all of
    them are missing.
    """
    for qto_name, source in (("Qto_SpaceBaseQuantities", AreaSource.IFC_QTO),
                             ("BaseQuantities", AreaSource.IFC_BASE_QUANTITIES)):
        quantities = psets.get(qto_name) or {}
        for key in QTO_AREAS:
            if (value := _number(quantities.get(key))) is not None:
                return value * area_scale, source.value
    for pset_name, key in VENDOR_AREAS:
        if (value := _number((psets.get(pset_name) or {}).get(key))) is not None:
            return value * area_scale, AreaSource.IFC_VENDOR_PSET.value
    return None, None


def _contained_elements(spatial: IfcEntity) -> list[IfcEntity]:
    return [e for rel in getattr(spatial, "ContainsElements", None) or ()
            for e in rel.RelatedElements]


class _Walker:
    def __init__(self, model: IfcModel) -> None:
        self.model = model
        self.length_scale = float(calculate_unit_scale(model))
        self.area_scale = float(calculate_unit_scale(model, "AREAUNIT"))
        self.buildings: list[BuildingRecord] = []
        self.seen: dict[str, int] = {}  # GlobalId -> STEP id
        self.duplicates: set[int] = set()
        self.rejected: list[Rejected] = []
        self.warnings: list[str] = []

    def first_visit(self, obj: IfcEntity) -> bool:
        if self.seen.get(obj.GlobalId, obj.id()) != obj.id():
            self.rejected.append(Rejected(obj.GlobalId, obj.is_a(), "duplicate GlobalId",
                                         obj.id()))
            self.duplicates.add(obj.id())
            return False
        if obj.GlobalId in self.seen:
            self.warnings.append(f"{obj.is_a()} {obj.GlobalId} is reached twice in the "
                                 "spatial structure; its first place is kept")
            return False
        self.seen[obj.GlobalId] = obj.id()
        return True

    def walk(self, obj: IfcEntity, site: IfcEntity | None) -> None:
        for child in _children(obj):
            if child.is_a("IfcSite"):
                self.walk(child, child)
            elif child.is_a("IfcBuilding") and self.first_visit(child):
                self.add_building(child, site)

    def add_building(self, building: IfcEntity, site: IfcEntity | None) -> None:
        origin_z = 0.0
        if building.ObjectPlacement is not None:
            origin_z = float(get_local_placement(building.ObjectPlacement)[2][3])
        record = BuildingRecord(building.GlobalId, _text(building.Name),
                                _text(building.LongName), site.GlobalId if site else None,
                                _text(site.Name) if site else None,
                                origin_z * self.length_scale)
        self.buildings.append(record)
        record.element_ids.extend(e.id() for e in _contained_elements(building))
        for child in _children(building):
            if child.is_a("IfcBuilding"):  # a building complex: each part is a building
                if self.first_visit(child):
                    self.add_building(child, site)
            else:
                self.add_part(record, child, None)

    def add_part(self, building: BuildingRecord, obj: IfcEntity,
                 storey_id: str | None) -> None:
        if obj.is_a("IfcBuildingStorey"):
            if not self.first_visit(obj):
                return
            elevation = obj.Elevation
            if elevation is None and obj.ObjectPlacement is not None:
                elevation = get_local_placement(obj.ObjectPlacement)[2][3]
            building.storeys.append(StoreyRecord(
                obj.GlobalId, _text(obj.Name),
                None if elevation is None else float(elevation) * self.length_scale))
            storey_id = obj.GlobalId
        elif obj.is_a("IfcSpace"):
            if not self.first_visit(obj):
                return
            psets = get_psets(obj)
            area, source = space_area(psets, self.area_scale)
            building.spaces.append(SpaceRecord(obj.GlobalId, _text(obj.Name),
                                               _text(obj.LongName), storey_id, area, source,
                                               psets))
        elif not obj.is_a("IfcSpatialStructureElement") and not obj.is_a("IfcSpatialElement"):
            building.element_ids.append(obj.id())  # an element aggregated into the structure
            return
        building.element_ids.extend(e.id() for e in _contained_elements(obj))
        for child in _children(obj):
            self.add_part(building, child, storey_id)


def read_structure(model: IfcModel) -> ModelStructure:
    """Walk ``model`` from its IfcProject; see the module docstring."""
    walker = _Walker(model)
    project = model.by_type("IfcProject")[0]
    walker.walk(project, None)
    counted = [*model.by_type("IfcBuilding"), *model.by_type("IfcBuildingStorey"),
               *model.by_type("IfcSpace")]
    for obj in counted:
        if walker.seen.get(obj.GlobalId) != obj.id() and obj.id() not in walker.duplicates:
            walker.rejected.append(Rejected(obj.GlobalId, obj.is_a(),
                                            "not reachable from the IfcProject through a "
                                            "building", obj.id()))
    for building in walker.buildings:
        building.storeys.sort(key=lambda s: (s.elevation_m is None, s.elevation_m or 0.0))
    space_ids = {s.global_id for b in walker.buildings for s in b.spaces}
    zones: dict[str, tuple[str | None, list[str]]] = {}
    for zone in model.by_type("IfcZone"):
        members = [o.GlobalId for rel in zone.IsGroupedBy or () for o in rel.RelatedObjects
                   if o.is_a("IfcSpace") and o.GlobalId in space_ids]
        if members:
            zones[zone.GlobalId] = (_text(zone.Name) or _text(zone.LongName), members)
    return ModelStructure(model.schema, walker.length_scale, walker.area_scale,
                          _text(project.Name), walker.buildings, zones, walker.rejected,
                          len(counted), walker.warnings)
