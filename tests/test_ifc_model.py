"""IFC reading without a database: file checks, structure, units, areas, georeferencing,
dwelling rules and footprints, on the real samples and on models built here with
ifcopenshell.api (the builders are in tests/helpers/ifc_model.py)."""

from __future__ import annotations

import math
from pathlib import Path

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
import pytest
from shapely.geometry import Point

from cimhouse.errors import InvalidInput
from cimhouse.importers.ifc.dwellings import DwellingRule, group_dwellings, resolve_rule
from cimhouse.importers.ifc.footprints import compute_footprints
from cimhouse.importers.ifc.georef import (
    CliGeoref,
    compound_to_degrees,
    metric_grid_srid,
    resolve_georeference,
)
from cimhouse.importers.ifc.model_file import open_model
from cimhouse.importers.ifc.structure import read_structure
from tests.helpers.ifc_model import (
    BLOCK_EAST,
    BLOCK_NORTH,
    BLOCK_ROTATION,
    DUPLEX,
    FZK,
    GEOREF_EXAMPLE,
    build_block,
    build_campus,
    open_ifc,
)


@pytest.fixture(scope="module")
def block(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_block(tmp_path_factory.mktemp("ifc") / "block.ifc")


# -- broken files ------------------------------------------------------------------------

def test_truncated_file_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "truncated.ifc"
    broken.write_bytes(FZK.read_bytes()[:1_500_000])
    with pytest.raises(InvalidInput, match="truncated"):
        open_model(broken)


def test_truncated_file_with_trailer_fails_on_parser_log(tmp_path: Path) -> None:
    # cut in the middle of DATA, then glue the trailer back: only the parser log tells
    raw = FZK.read_bytes()
    broken = tmp_path / "cut.ifc"
    broken.write_bytes(raw[:1_500_000] + b"\nENDSEC;\nEND-ISO-10303-21;\n")
    with pytest.raises(InvalidInput, match="damaged"):
        open_model(broken)


def test_wrong_schema_label_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.ifc"
    wrong.write_bytes(GEOREF_EXAMPLE.read_bytes().replace(b"('IFC4')", b"('IFC9')"))
    with pytest.raises(InvalidInput, match="unsupported IFC schema"):
        open_model(wrong)


def test_garbage_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.ifc"
    garbage.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InvalidInput, match="not an IFC file"):
        open_model(garbage)
    half = tmp_path / "half.ifc"
    half.write_bytes(b"ISO-10303-21;\nHEADER;\nnonsense((\nEND-ISO-10303-21;\n")
    with pytest.raises(InvalidInput):
        open_model(half)


def test_two_projects_are_refused(tmp_path: Path) -> None:
    raw = GEOREF_EXAMPLE.read_bytes().replace(
        b"ENDSEC;\n\nEND", b"#999= IFCPROJECT('2JwSt5ycUHvKFlMZUleKS',$,'Two',$,$,$,$,$,$);"
                           b"\nENDSEC;\n\nEND")
    assert b"#999=" in raw
    two = tmp_path / "two.ifc"
    two.write_bytes(raw)
    with pytest.raises(InvalidInput, match="exactly one IfcProject"):
        open_model(two)


# -- structure, units, areas ---------------------------------------------------------------

def test_fzk_structure_and_base_quantities() -> None:
    structure = read_structure(open_model(FZK).model)
    assert structure.schema == "IFC4"
    assert structure.length_scale == 1.0
    [building] = structure.buildings
    assert building.name == "FZK-Haus"
    assert [(s.name, s.elevation_m) for s in building.storeys] == [
        ("Erdgeschoss", 0.0), ("Dachgeschoss", 2.7)]
    assert len(building.spaces) == 7
    assert structure.read == 10
    assert not structure.rejected
    assert {s.area_source for s in building.spaces} == {"ifc_base_quantities"}
    kitchen = next(s for s in building.spaces if s.long_name == "Küche")
    assert kitchen.area_m2 == pytest.approx(16.305, abs=0.01)


def test_duplex_vendor_areas_and_prefix_dwellings() -> None:
    structure = read_structure(open_model(DUPLEX).model)
    assert structure.schema == "IFC2X3"
    assert len(structure.spaces) == 21
    assert len(structure.buildings[0].storeys) == 4
    assert {s.area_source for s in structure.spaces} == {"ifc_vendor_pset"}
    rule = resolve_rule(structure, DwellingRule.parse("auto"))
    assert rule.kind == "prefix"
    groups = group_dwellings(structure, rule)
    assert sorted((g.label, len(g.space_ids)) for g in groups) == [("A", 10), ("B", 10)]
    # the lone roof space R301 joins a dwelling only when one-space groups are admitted
    assert "R" in {g.label for g in group_dwellings(structure, DwellingRule.parse("prefix:1"))}
    by_property = group_dwellings(
        structure, DwellingRule.parse("property:PSet_Revit_Other.OccupancyZoneName"))
    assert {g.label for g in by_property} >= {"Unit A OccupancyZoneName",
                                             "Unit B OccupancyZoneName"}


def test_millimetre_block_zones_and_geometry_areas(block: Path) -> None:
    opened = open_model(block)
    structure = read_structure(opened.model)
    assert structure.length_scale == pytest.approx(0.001)
    [building] = structure.buildings
    assert [s.elevation_m for s in building.storeys] == [0.0, 3.0]
    rule = resolve_rule(structure, DwellingRule.parse("auto"))
    assert rule.kind == "zone"
    groups = group_dwellings(structure, rule)
    assert sorted(g.label for g in groups) == ["1-101", "1-102", "1-201", "1-202"]
    shapes = compute_footprints(opened.model, structure, timeout_s=60, threads=1)
    bedroom = next(s for s in building.spaces if s.number == "A102")
    assert bedroom.area_m2 is None  # no quantity: the geometry fills in when writing
    assert shapes.spaces[bedroom.global_id].area_m2 == pytest.approx(20.0, abs=1e-6)
    footprint = shapes.buildings[building.global_id].footprint
    assert footprint is not None
    assert footprint.bounds == pytest.approx((-0.2, -0.2, 20.2, 5.2), abs=1e-6)
    assert shapes.buildings[building.global_id].top_z_m == pytest.approx(6.0, abs=0.01)


def test_fzk_footprint_excludes_roof_overhang() -> None:
    opened = open_model(FZK)
    structure = read_structure(opened.model)
    shapes = compute_footprints(opened.model, structure, timeout_s=120)
    footprint = shapes.buildings[structure.buildings[0].global_id].footprint
    assert footprint is not None
    assert footprint.area == pytest.approx(120.0, abs=0.5)
    assert shapes.failed == 0
    assert len(shapes.spaces) == 7


def test_geometry_time_limit_stops_the_kernel(block: Path) -> None:
    opened = open_model(block)
    with pytest.raises(InvalidInput, match="longer than"):
        compute_footprints(opened.model, read_structure(opened.model), timeout_s=0.0001)


def test_several_buildings_without_storeys_names_or_geometry(tmp_path: Path) -> None:
    opened = open_model(build_campus(tmp_path / "campus.ifc"))
    structure = read_structure(opened.model)
    hall, shed = structure.buildings
    assert (hall.name, shed.name) == ("Hall", None)
    assert len(hall.storeys) == 1
    assert hall.storeys[0].name is None
    assert shed.storeys == []
    assert [s.number for s in shed.spaces] == ["S1"]
    assert shed.spaces[0].storey_id is None
    assert structure.read == 7
    assert len(structure.rejected) == 2
    assert {r.ifc_class for r in structure.rejected} == {"IfcBuildingStorey", "IfcSpace"}
    shapes = compute_footprints(opened.model, structure, timeout_s=60, threads=1)
    assert shapes.failed == 0  # a space without geometry is not a meshing failure
    hall_footprint = shapes.buildings[hall.global_id].footprint
    assert hall_footprint is not None
    assert hall_footprint.area == pytest.approx(48.0)
    assert shapes.buildings[shed.global_id].footprint is None


def test_overlapping_zones_are_not_taken_as_dwellings(block: Path, tmp_path: Path) -> None:
    model = open_ifc(block)
    fire = ifcopenshell.api.root.create_entity(model, ifc_class="IfcZone", name="fire zone")
    ifcopenshell.api.group.assign_group(model, products=list(model.by_type("IfcSpace")), group=fire)
    layered = tmp_path / "layered.ifc"
    model.write(str(layered))
    structure = read_structure(open_model(layered).model)
    assert len(structure.zones) == 5
    rule = resolve_rule(structure, DwellingRule.parse("auto"))
    assert rule.kind == "prefix"  # the fire zone overlaps the flats: zones are not dwellings
    assert len(group_dwellings(structure, DwellingRule.parse("zone"))) == 5


def test_foot_model_in_metres(tmp_path: Path) -> None:
    opened = open_model(build_block(tmp_path / "feet.ifc", feet=True, scale=0.3048))
    structure = read_structure(opened.model)
    assert structure.length_scale == pytest.approx(0.3048)
    assert [s.elevation_m for s in structure.buildings[0].storeys] == pytest.approx([0.0, 3.0])
    living = next(s for s in structure.spaces if s.number == "A101")
    assert living.area_m2 == pytest.approx(29.5 * 0.3048**2)  # the quantity is in ft²
    georef = resolve_georeference(opened.model, structure.length_scale)
    assert not georef.warnings
    assert georef.placement is not None
    assert georef.placement.scale == pytest.approx(1.0)  # grid metres per model metre
    shapes = compute_footprints(opened.model, structure, timeout_s=60, threads=1)
    footprint = shapes.buildings[structure.buildings[0].global_id].footprint
    assert footprint is not None
    assert footprint.area == pytest.approx(20.4 * 5.4, rel=1e-6)


def test_ifc4x3_block_reads_like_ifc4(tmp_path: Path) -> None:
    opened = open_model(build_block(tmp_path / "block4x3.ifc", version="IFC4X3"))
    structure = read_structure(opened.model)
    assert opened.model.schema == "IFC4X3"
    assert structure.read == 11
    assert len(structure.zones) == 4
    georef = resolve_georeference(opened.model, structure.length_scale)
    assert georef.source == "ifc_map_conversion"
    assert not georef.warnings


# -- georeferencing --------------------------------------------------------------------------

def test_map_conversion_places_block_where_written(block: Path) -> None:
    opened = open_model(block)
    structure = read_structure(opened.model)
    georef = resolve_georeference(opened.model, structure.length_scale)
    assert georef.source == "ifc_map_conversion"
    assert georef.placement is not None
    assert georef.placement.srid == 4549
    assert not georef.warnings
    assert georef.placement.rotation_deg == pytest.approx(BLOCK_ROTATION)
    # model point (10 m, 0) lies 10 m along the rotated x axis from the written origin
    lon, lat = georef.to_storage(Point(10.0, 0.0)).coords[0]
    from cimhouse.crs import transform_point
    east, north = transform_point(lon, lat, 4490, 4549)
    assert east == pytest.approx(BLOCK_EAST + 10 * math.cos(math.radians(30)), abs=0.01)
    assert north == pytest.approx(BLOCK_NORTH + 10 * math.sin(math.radians(30)), abs=0.01)
    assert georef.disagreement_m is not None
    assert georef.disagreement_m < 5
    assert not georef.latlon_disagrees


def test_omitted_scale_in_millimetre_model_is_repaired(tmp_path: Path) -> None:
    path = build_block(tmp_path / "noscale.ifc", scale=None)
    opened = open_model(path)
    georef = resolve_georeference(opened.model, read_structure(opened.model).length_scale)
    assert any("Scale omitted" in w for w in georef.warnings)
    assert georef.placement is not None
    assert georef.placement.scale == pytest.approx(1.0)


def test_inverted_scale_is_repaired_and_sample_scale_omitted() -> None:
    opened = open_model(GEOREF_EXAMPLE)
    georef = resolve_georeference(opened.model, 0.001)
    assert georef.source == "ifc_map_conversion"
    assert georef.placement is not None
    assert georef.placement.srid == 25832
    assert any("used 0.001" in w for w in georef.warnings)
    # a building 1 m east of the origin lands ~1 m away, not 1 km
    a = georef.placement.apply(np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert math.dist(a[0], a[1]) == pytest.approx(1.0)


def test_disagreeing_latlon_is_flagged(tmp_path: Path) -> None:
    path = build_block(tmp_path / "far.ifc", latlon=(120.80, 30.75))  # ~4.8 km east
    opened = open_model(path)
    georef = resolve_georeference(opened.model, 0.001)
    assert georef.latlon_disagrees
    assert georef.disagreement_m == pytest.approx(4785, rel=0.05)
    assert any("RefLatitude/RefLongitude" in w for w in georef.warnings)


def test_ifc2x3_epset_map_conversion_and_revit_default_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ifcopenshell.api.owner.settings as owner_settings

    model = open_ifc(DUPLEX)
    monkeypatch.setattr(owner_settings, "get_user",
                        lambda f: f.by_type("IfcPersonAndOrganization")[0])
    monkeypatch.setattr(owner_settings, "get_application",
                        lambda f: f.by_type("IfcApplication")[0])
    site = model.by_type("IfcSite")[0]
    conversion = ifcopenshell.api.pset.add_pset(model, product=site, name="ePSet_MapConversion")
    ifcopenshell.api.pset.edit_pset(model, pset=conversion, properties={
        "Eastings": BLOCK_EAST, "Northings": BLOCK_NORTH, "XAxisAbscissa": 0.0,
        "XAxisOrdinate": 1.0, "Scale": 1.0})
    crs = ifcopenshell.api.pset.add_pset(model, product=site, name="ePSet_ProjectedCRS")
    ifcopenshell.api.pset.edit_pset(model, pset=crs, properties={"Name": "EPSG:4549"})
    path = tmp_path / "duplex-georef.ifc"
    model.write(str(path))
    opened = open_model(path)
    georef = resolve_georeference(opened.model, 1.0)
    assert georef.source == "epset_map_conversion"
    assert georef.placement is not None
    assert georef.placement.rotation_deg == pytest.approx(90.0)
    # Revit's default site (Chicago) contradicts the map conversion (Jiaxing): flagged
    assert georef.latlon_disagrees
    assert (georef.disagreement_m or 0) > 1_000_000


def test_site_latlon_with_true_north() -> None:
    opened = open_model(FZK)
    georef = resolve_georeference(opened.model, 1.0)
    assert georef.source == "site_ref_latlon"
    assert georef.placement is not None
    assert georef.placement.srid == 32632
    lon, lat = georef.to_storage(Point(0.0, 0.0)).coords[0]
    assert (lon, lat) == pytest.approx((8.436539, 49.100435), abs=1e-5)
    # TrueNorth (0.766, 0.643) is 40 deg from +x: the model x axis points ~50 deg from east
    assert georef.placement.rotation_deg == pytest.approx(50.0, abs=1.0)


def test_cli_georef_only_when_file_has_none_or_override(tmp_path: Path) -> None:
    cli = CliGeoref.parse("EPSG:4549", "500000,3400000", 90.0)
    assert cli is not None
    plain = build_block(tmp_path / "plain.ifc", georeferenced=False, latlon=None)
    opened = open_model(plain)
    georef = resolve_georeference(opened.model, 0.001, cli=cli)
    assert georef.source == "cli"
    assert georef.placement is not None
    east, north = georef.placement.apply(np.array([[1.0, 0.0]]))[0]
    assert (east, north) == pytest.approx((500000.0, 3400001.0))
    nothing = resolve_georeference(opened.model, 0.001)
    assert nothing.source == "none"
    assert nothing.placement is None
    opened_fzk = open_model(FZK)
    kept = resolve_georeference(opened_fzk.model, 1.0, cli=cli)
    assert kept.source == "site_ref_latlon"
    assert any("--override-georef" in w
                                                     for w in kept.warnings)
    forced = resolve_georeference(opened_fzk.model, 1.0, cli=cli, override=True)
    assert forced.source == "cli"
    with pytest.raises(InvalidInput):
        CliGeoref.parse("EPSG:4549", None, None)
    with pytest.raises(InvalidInput):
        CliGeoref.parse("4549x", "1,2", None)


def test_angles_and_grids() -> None:
    assert compound_to_degrees((49, 6, 1, 566000)) == pytest.approx(49.100435, abs=1e-6)
    assert compound_to_degrees((-87, -38, -21, -839999)) == pytest.approx(-87.6394, abs=1e-4)
    assert metric_grid_srid(120.75, 30.75) == 4549
    assert metric_grid_srid(8.43, 49.1) == 32632
    assert metric_grid_srid(-87.6, 41.9) == 32616


def test_dwelling_rule_parsing() -> None:
    assert str(DwellingRule.parse("property:Pset_X.Unit")) == "property:Pset_X.Unit"
    assert DwellingRule.parse("prefix:1").min_spaces == 1
    for bad in ("rooms", "property:nodot", "prefix:x", "zone:1"):
        with pytest.raises(InvalidInput):
            DwellingRule.parse(bad)
