"""The IFC samples (tests/data/ifc) and models built with ifcopenshell.api: a georeferenced
residential block and a campus of awkward buildings, for the IFC reader and importer tests
and bench/bench_ifc.py."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.georeference
import ifcopenshell.api.group
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import numpy as np

IFC_DATA = Path(__file__).resolve().parent.parent / "data" / "ifc"
FZK = IFC_DATA / "AC20-FZK-Haus.ifc"
DUPLEX = IFC_DATA / "Duplex_A_20110907.ifc"
GEOREF_EXAMPLE = IFC_DATA / "geographic-referencing_IFC4.ifc"

#: the block's model origin in EPSG:4549 (CGCS2000 GK CM 120E), near Jiaxing
BLOCK_EAST, BLOCK_NORTH, BLOCK_ROTATION = 571815.2, 3403498.7, 30.0
BLOCK_LONLAT = (120.75, 30.75)


def open_ifc(path: Path) -> ifcopenshell.file:
    """A .ifc file opened for editing (``ifcopenshell.open`` may also give its SQLite form)."""
    model = ifcopenshell.open(str(path))
    assert not isinstance(model, ifcopenshell.sqlite)
    return model


def _dms(value: float) -> tuple[int, int, int, int]:
    degrees = int(value)
    rest = (value - degrees) * 60
    minutes = int(rest)
    seconds_total = (rest - minutes) * 60
    seconds = int(seconds_total)
    return degrees, minutes, seconds, round((seconds_total - seconds) * 1e6)


def _place(model: Any, product: Any, x: float, y: float, z: float = 0.0) -> None:
    matrix = np.eye(4)
    matrix[:3, 3] = (x, y, z)
    ifcopenshell.api.geometry.edit_object_placement(model, product=product, matrix=matrix)


def build_block(path: Path, *, scale: float | None = 0.001, zones: bool = True,
                with_walls: bool = True, latlon: tuple[float, float] | None = BLOCK_LONLAT,
                georeferenced: bool = True, storeys: int = 2,
                version: Literal["IFC2X3", "IFC4", "IFC4X3"] = "IFC4",
                feet: bool = False) -> Path:
    """A two-storey residential block in millimetres: per storey two dwellings (zones named
    1-101 ... with spaces A101.. numbered per dwelling), 20 m x 5 m walls, georeferenced by
    an IfcMapConversion to EPSG:4549 (``scale`` None leaves Scale out: the classic error)."""
    model = ifcopenshell.api.project.create_file(version=version)
    project = ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject",
                                                  name="Residential block 7")
    if feet:  # an imperial model: foot and square foot
        units = [ifcopenshell.api.unit.add_conversion_based_unit(model, name="foot"),
                 ifcopenshell.api.unit.add_conversion_based_unit(model, name="square foot")]
    else:
        units = [ifcopenshell.api.unit.add_si_unit(model, unit_type="LENGTHUNIT",
                                                   prefix="MILLI"),
                 ifcopenshell.api.unit.add_si_unit(model, unit_type="AREAUNIT")]
    ifcopenshell.api.unit.assign_unit(model, units=units)
    length_unit = 0.3048 if feet else 0.001
    context = ifcopenshell.api.context.add_context(model, context_type="Model")
    body = ifcopenshell.api.context.add_context(model, context_type="Model",
                                                context_identifier="Body",
                                                target_view="MODEL_VIEW", parent=context)
    if georeferenced:
        ifcopenshell.api.georeference.add_georeferencing(model, name="EPSG:4549")
        operation: dict[str, Any] = {
            "Eastings": BLOCK_EAST, "Northings": BLOCK_NORTH, "OrthogonalHeight": 5.0,
            "XAxisAbscissa": math.cos(math.radians(BLOCK_ROTATION)),
            "XAxisOrdinate": math.sin(math.radians(BLOCK_ROTATION))}
        if scale is not None:
            operation["Scale"] = scale
        ifcopenshell.api.georeference.edit_georeferencing(
            model, coordinate_operation=operation, projected_crs={"Name": "EPSG:4549"})
        if scale is None:
            model.by_type("IfcMapConversion")[0].Scale = None
    site = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSite", name="Block 7")
    if latlon is not None:
        site.RefLongitude, site.RefLatitude = _dms(latlon[0]), _dms(latlon[1])
    building = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding",
                                                   name="7幢")
    ifcopenshell.api.aggregate.assign_object(model, relating_object=project, products=[site])
    ifcopenshell.api.aggregate.assign_object(model, relating_object=site, products=[building])
    for product in (site, building):
        _place(model, product, 0, 0)
    for level in range(storeys):
        storey = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey",
                                                     name=f"{level + 1}F")
        storey.Elevation = level * 3.0 / length_unit
        ifcopenshell.api.aggregate.assign_object(model, relating_object=building,
                                                 products=[storey])
        _place(model, storey, 0, 0, level * 3.0)
        for flat in range(2):
            letter = "AB"[flat]
            spaces = []
            for room, (x0, width) in enumerate(((0.0, 6.0), (6.0, 4.0))):
                space = ifcopenshell.api.root.create_entity(
                    model, ifc_class="IfcSpace", name=f"{letter}{level + 1}0{room + 1}",
                    )
                space.LongName = ("living", "bedroom")[room]
                ifcopenshell.api.aggregate.assign_object(model, relating_object=storey,
                                                         products=[space])
                shape = ifcopenshell.api.geometry.add_slab_representation(
                    model, context=body, depth=2.8,
                    polyline=[(0.0, 0.0), (width, 0.0), (width, 5.0), (0.0, 5.0), (0.0, 0.0)])
                ifcopenshell.api.geometry.assign_representation(model, product=space,
                                                                representation=shape)
                _place(model, space, flat * 10.0 + x0, 0.0, level * 3.0)
                if room == 0:  # the living room has a quantity, the bedroom only geometry
                    qto = ifcopenshell.api.pset.add_qto(model, product=space,
                                                        name="Qto_SpaceBaseQuantities")
                    ifcopenshell.api.pset.edit_qto(model, qto=qto,
                                                   properties={"NetFloorArea": 29.5})
                spaces.append(space)
            if zones:
                zone = ifcopenshell.api.root.create_entity(model, ifc_class="IfcZone",
                                                           name=f"1-{level + 1}0{flat + 1}")
                ifcopenshell.api.group.assign_group(model, products=spaces, group=zone)
        if with_walls:
            for x, y, length, angle in ((0, -0.2, 20.0, 0), (0, 5.0, 20.0, 0),
                                        (-0.2, -0.2, 5.4, 90), (20.0, -0.2, 5.4, 90)):
                wall = ifcopenshell.api.root.create_entity(model, ifc_class="IfcWall")
                shape = ifcopenshell.api.geometry.add_wall_representation(
                    model, context=body, length=length, height=3.0, thickness=0.2)
                ifcopenshell.api.geometry.assign_representation(model, product=wall,
                                                                representation=shape)
                matrix = np.eye(4)
                if angle:
                    matrix[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
                    x += 0.2  # the rotated wall's thickness runs towards -x
                matrix[:3, 3] = (x, y, level * 3.0)
                ifcopenshell.api.geometry.edit_object_placement(model, product=wall,
                                                                matrix=matrix)
                ifcopenshell.api.spatial.assign_container(model, relating_structure=storey,
                                                          products=[wall])
    model.write(str(path))
    return path


def build_campus(path: Path) -> Path:
    """Two buildings on one site, the second nameless and without storeys (its space sits
    directly under it, without geometry); a storey and a space that nothing aggregates."""
    model = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="Campus")
    ifcopenshell.api.unit.assign_unit(model, units=[
        ifcopenshell.api.unit.add_si_unit(model, unit_type="LENGTHUNIT")])
    context = ifcopenshell.api.context.add_context(model, context_type="Model")
    body = ifcopenshell.api.context.add_context(model, context_type="Model",
                                                context_identifier="Body",
                                                target_view="MODEL_VIEW", parent=context)
    site = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSite", name="Site")
    ifcopenshell.api.aggregate.assign_object(model, relating_object=project, products=[site])
    hall = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding", name="Hall")
    shed = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding")
    ifcopenshell.api.aggregate.assign_object(model, relating_object=site, products=[hall, shed])
    storey = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey")
    ifcopenshell.api.aggregate.assign_object(model, relating_object=hall, products=[storey])
    room = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSpace")
    ifcopenshell.api.aggregate.assign_object(model, relating_object=storey, products=[room])
    shape = ifcopenshell.api.geometry.add_slab_representation(
        model, context=body, depth=3.0, polyline=[(0, 0), (8, 0), (8, 6), (0, 6), (0, 0)])
    ifcopenshell.api.geometry.assign_representation(model, product=room, representation=shape)
    for product in (site, hall, shed, storey, room):
        _place(model, product, 0, 0)
    loose = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSpace", name="S1")
    ifcopenshell.api.aggregate.assign_object(model, relating_object=shed, products=[loose])
    ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey", name="orphan")
    ifcopenshell.api.root.create_entity(model, ifc_class="IfcSpace", name="lost")
    model.write(str(path))
    return path
