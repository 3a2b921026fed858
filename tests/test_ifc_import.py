"""``import_ifc`` and ``cimhouse import ifc`` on a real PostGIS database: the samples, a
georeferenced residential block with zones (built in tests/helpers/ifc_model.py), re-imports that
keep codes, broken files that write nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ifcopenshell
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.errors import Conflict, InvalidInput, NotFound, exit_code
from cimhouse.importers.ifc.georef import CliGeoref
from cimhouse.importers.ifc.import_ifc import import_ifc
from cimhouse.importers.rejects import REPORT_COLUMNS
from cimhouse.schema import Building, ChangeLog, Estate, House, ImportRun, Space, Storey
from tests.helpers.ifc_model import DUPLEX, FZK, GEOREF_EXAMPLE, build_block, build_campus, open_ifc

COMMUNITY = "330402007024"  # a Jiaxing community (the block lies near 120.75E 30.75N)
OTHER_COUNTY_COMMUNITY = "330102001051"
JIAXING_GRID = CliGeoref(4549, 571815.2, 3403498.7, 15.0)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture(scope="module")
def block(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_block(tmp_path_factory.mktemp("ifc") / "block.ifc")


def test_block_with_zones_lands_in_jiaxing(session: Session, block: Path) -> None:
    result = import_ifc(session, block, community=COMMUNITY, actor="tester")
    assert result.georef["source"] == "ifc_map_conversion"
    assert not result.warnings
    assert result.dwelling_rule == "zone"
    assert (result.read, result.accepted, result.rejected) == (11, 11, [])
    assert result.target["created"] is True
    assert result.target["estate_name"] == "Block 7"
    counts = result.counts
    assert (counts["buildings_added"], counts["storeys_added"], counts["houses_added"],
            counts["spaces_added"]) == (1, 2, 4, 8)

    building = session.scalars(select(Building).where(Building.ifc_global_id.is_not(None))
                               .order_by(Building.id.desc())).first()
    assert building is not None
    assert (building.county, building.region_code) == ("330402", COMMUNITY)
    assert building.building_label == "7幢"
    assert (building.floors_above, building.floors_below) == (2, 0)
    assert float(building.height_m or 0) == pytest.approx(6.0, abs=0.05)
    assert building.attributes["ifc"]["georeference"]["srid"] == 4549
    area, lon, lat = session.execute(text(
        "SELECT ST_Area(footprint::geography), ST_X(ST_Centroid(footprint)), "
        "ST_Y(ST_Centroid(footprint)) FROM building WHERE id = :id"), {"id": building.id}).one()
    assert area == pytest.approx(20.4 * 5.4, rel=0.01)
    assert lon == pytest.approx(120.7509, abs=0.001)
    assert lat == pytest.approx(30.7502, abs=0.001)

    houses = session.scalars(select(House).where(House.building_id == building.id)
                             .order_by(House.room_label)).all()
    assert [h.room_label for h in houses] == ["1-101", "1-102", "1-201", "1-202"]
    assert all(h.ifc_global_id and h.region_code == COMMUNITY for h in houses)
    assert [h.floor_number for h in houses] == [1, 1, 2, 2]
    assert float(houses[0].area_m2 or 0) == pytest.approx(49.5)  # 29.5 (Qto) + 20.0 (geometry)
    assert houses[0].area_source == "sum_of_spaces"
    sources = dict(session.execute(select(Space.number, Space.area_source).where(
        Space.building_id == building.id)).all())
    assert sources["A101"] == "ifc_qto"
    assert sources["A102"] == "ifc_geometry"
    assert session.scalar(select(func.count()).select_from(Space).where(
        Space.building_id == building.id, Space.footprint.is_not(None),
        Space.house_id.is_not(None))) == 8
    run = session.get(ImportRun, result.import_run_id)
    assert run is not None
    assert run.kind == "ifc"
    assert run.status == "succeeded"
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (11, 11, 0)
    logged = session.scalars(select(ChangeLog.object_kind).where(
        ChangeLog.source == f"import_run:{run.id}")).all()
    assert sorted(logged) == ["building", "house", "house", "house", "house"]


def test_reimport_updates_keeps_codes_never_duplicates(session: Session, block: Path,
                                                       tmp_path: Path) -> None:
    first = import_ifc(session, block, community=COMMUNITY)
    building = session.scalars(select(Building).order_by(Building.id.desc())).first()
    assert building is not None
    building.code = "3304020070240001000000000"
    house = session.scalars(select(House).where(House.building_id == building.id)
                            .order_by(House.room_label)).first()
    assert house is not None
    house.code = "3304020070240001000100001"
    session.flush()
    totals = [_count(session, m) for m in (Building, Storey, House, Space, Estate)]

    again = import_ifc(session, block)  # no target: found from the earlier import
    assert again.counts["buildings_unchanged"] == 1
    assert again.counts["houses_unchanged"] == 4
    assert [_count(session, m) for m in (Building, Storey, House, Space, Estate)] == totals
    assert again.target["estate_id"] == first.target["estate_id"]

    # the architect renames the building, enlarges a quantity and drops a room
    model = open_ifc(block)
    model.by_type("IfcBuilding")[0].Name = "7号楼"
    for quantity in model.by_type("IfcQuantityArea"):
        quantity.AreaValue = 31.0
    dropped = next(s for s in model.by_type("IfcSpace") if s.Name == "B202")
    model.remove(dropped)
    changed = tmp_path / "block-v2.ifc"
    model.write(str(changed))
    third = import_ifc(session, changed, community=COMMUNITY)
    assert third.counts["buildings_updated"] == 1
    assert third.counts["houses_updated"] == 4
    assert third.counts["spaces_removed"] == 1
    session.refresh(building)
    session.refresh(house)
    assert building.code == "3304020070240001000000000"
    assert building.building_label == "7号楼"
    assert building.version == 2
    assert house.code == "3304020070240001000100001"
    assert float(house.area_m2 or 0) == 51.0
    change = session.scalars(select(ChangeLog).where(
        ChangeLog.object_kind == "building", ChangeLog.object_id == str(building.id),
        ChangeLog.operation == "update")).one()
    assert change.previous == {"building_label": "7幢", "source": "ifc:block.ifc"}
    assert change.current == {"building_label": "7号楼", "source": "ifc:block-v2.ifc"}
    assert _count(session, Space) == totals[3] - 1


def test_skip_geometry_keeps_earlier_footprints(session: Session, block: Path) -> None:
    import_ifc(session, block, community=COMMUNITY)
    again = import_ifc(session, block, geometry=False)
    assert again.counts["buildings_unchanged"] == 1
    assert again.counts["houses_unchanged"] == 4
    bedroom = session.scalars(select(Space).where(Space.number == "A102")).one()
    assert bedroom.footprint is not None
    assert (float(bedroom.area_m2 or 0), bedroom.area_source) == (20.0, "ifc_geometry")


def test_duplex_prefix_dwellings_with_command_line_georef(session: Session) -> None:
    result = import_ifc(session, DUPLEX, community=COMMUNITY, estate_name="Duplex",
                        georef_cli=JIAXING_GRID, override_georef=True)
    assert result.georef["source"] == "cli"
    assert result.dwelling_rule == "prefix"
    assert result.georef["ref_lonlat"] == pytest.approx([-87.6394, 41.8744], abs=1e-3)
    assert result.counts["houses_added"] == 2
    assert result.counts["spaces_added"] == 21
    houses = session.execute(select(House.room_label, House.area_m2, House.floor_label).join(
        Building, (Building.county == House.county) & (Building.id == House.building_id)).where(
        Building.source == "ifc:Duplex_A_20110907.ifc").order_by(House.room_label)).all()
    assert [h.room_label for h in houses] == ["A", "B"]
    assert float(houses[0].area_m2) == pytest.approx(138.16, abs=0.01)  # PSet_Revit_Dimensions.Area
    assert houses[0].floor_label == "Level 1"
    floors = session.execute(select(Building.floors_above, Building.floors_below).where(
        Building.source == "ifc:Duplex_A_20110907.ifc")).one()
    assert tuple(floors) == (2, 0)  # the foundation and the roof level are not floors
    outside = session.scalar(select(func.count()).select_from(Space).where(
        Space.number == "R301", Space.house_id.is_(None)))
    assert outside == 1


def test_fzk_as_one_dwelling_outside_china_is_warned(session: Session) -> None:
    result = import_ifc(session, FZK, community=COMMUNITY, dwellings="building")
    assert result.georef["source"] == "site_ref_latlon"
    assert any("outside China" in w for w in result.warnings)
    assert result.counts["houses_added"] == 1
    area = session.scalar(text("SELECT ST_Area(footprint::geography) FROM building "
                               "WHERE ifc_global_id = :g"),
                          {"g": ifcopenshell.open(str(FZK)).by_type("IfcBuilding")[0].GlobalId})
    assert area == pytest.approx(120.0, rel=0.01)


def test_scale_error_sample_without_meshable_geometry(session: Session) -> None:
    result = import_ifc(session, GEOREF_EXAMPLE, community=COMMUNITY)
    assert any("used 0.001" in w for w in result.warnings)
    assert result.counts["buildings_added"] == 1
    assert result.counts.get("houses_added", 0) == 0
    assert result.georef["latlon_disagrees"] is False


def test_campus_accounts_for_every_object(session: Session, tmp_path: Path) -> None:
    campus = build_campus(tmp_path / "campus.ifc")
    result = import_ifc(session, campus, community=COMMUNITY, dwellings="building",
                        georef_cli=JIAXING_GRID)
    assert result.georef["source"] == "cli"
    assert (result.read, result.accepted, len(result.rejected)) == (7, 5, 2)
    assert result.accepted + len(result.rejected) == result.read
    assert result.counts["buildings_added"] == 2
    assert result.counts["houses_added"] == 2
    run = session.get(ImportRun, result.import_run_id)
    assert run is not None
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (7, 5, 2)
    assert {r["reason"] for r in run.summary["rejected"]} == {
        "not reachable from the IfcProject through a building"}
    labels = session.execute(select(Building.building_label, Building.footprint.is_(None))
                             .where(Building.source == "ifc:campus.ifc")
                             .order_by(Building.id)).all()
    assert [tuple(r) for r in labels] == [("Hall", False), (None, True)]
    shed_space = session.scalars(select(Space).where(Space.number == "S1")).one()
    assert shed_space.storey_id is None
    assert shed_space.footprint is None
    assert shed_space.area_m2 is None
    assert shed_space.house_id is not None


@pytest.mark.parametrize("damage", ["truncated", "schema", "garbage", "no_building"])
def test_broken_files_write_nothing(session: Session, tmp_path: Path, damage: str) -> None:
    raw = GEOREF_EXAMPLE.read_bytes()
    broken = tmp_path / f"{damage}.ifc"
    if damage == "truncated":
        broken.write_bytes(raw[: len(raw) // 2])
    elif damage == "schema":
        broken.write_bytes(raw.replace(b"('IFC4')", b"('IFC2X2')"))
    elif damage == "garbage":
        broken.write_bytes(b"\x00\xff" * 500)
    else:
        broken.write_bytes(raw.replace(b"#100024= IFCRELAGGREGATES", b"#100024= IFCRELNESTS"))
    before = [_count(session, m) for m in (Building, Estate, ImportRun, ChangeLog)]
    with pytest.raises(InvalidInput):
        import_ifc(session, broken, community=COMMUNITY)
    assert [_count(session, m) for m in (Building, Estate, ImportRun, ChangeLog)] == before


def _declared_as(source: Path, schema: str, target: Path) -> Path:
    """A real sample whose header names another schema (only the FILE_SCHEMA text edited)."""
    raw = source.read_bytes()
    edited, n = re.subn(rb"FILE_SCHEMA\s*\(\s*\('[^']*'\)\s*\)",
                        b"FILE_SCHEMA(('" + schema.encode() + b"'))", raw, count=1)
    assert n == 1
    target.write_bytes(edited)
    return target


@pytest.mark.parametrize(("sample", "declared", "content"), [
    (DUPLEX, "IFC4", "IFC2X3"), (FZK, "IFC2X3", "IFC4"), (GEOREF_EXAMPLE, "IFC2X3", "IFC4"),
    (DUPLEX, "IFC4X3_ADD2", "IFC2X3")])
def test_header_schema_that_does_not_match_the_content_is_refused(
        session: Session, tmp_path: Path, sample: Path, declared: str, content: str) -> None:
    """Issue 11 item 13: an IFC2X3 model whose header said IFC4 was imported without a word
    (ifcopenshell reads the attributes by the declared schema's positions)."""
    wrong = _declared_as(sample, declared, tmp_path / f"{sample.stem}-{declared}.ifc")
    before = [_count(session, m) for m in (Building, Estate, House, ImportRun, ChangeLog)]
    with pytest.raises(InvalidInput) as refused:
        import_ifc(session, wrong, community=COMMUNITY, georef_cli=JIAXING_GRID,
                   override_georef=True)
    message = str(refused.value)
    declared = declared.removesuffix("_ADD2")
    assert f"the header says FILE_SCHEMA {declared} but the content is {content}" in message
    chinese = refused.value.message.render("zh")  # type: ignore[attr-defined]
    assert f"文件头声明的模式 {declared} 与内容 ({content}) 不符" in chinese
    assert [_count(session, m) for m in (Building, Estate, House, ImportRun, ChangeLog)] == before


def test_entities_that_fit_no_schema_are_a_warning_in_summary_and_run(
        session: Session, tmp_path: Path) -> None:
    """A stray misfit that no other schema explains is imported, with a word about it."""
    raw = DUPLEX.read_text("utf-8")
    line = re.search(r"^(#159=IFCPROPERTYSINGLEVALUE\(.*)\);$", raw, re.MULTILINE)
    assert line is not None
    odd = tmp_path / "duplex-one-odd.ifc"
    odd.write_text(raw.replace(line.group(0), line.group(1) + ",$);", 1), "utf-8")
    result = import_ifc(session, odd, community=COMMUNITY, georef_cli=JIAXING_GRID,
                        override_georef=True)
    warning = "1 entities do not fit the schema IFC2X3 the header names"
    assert any(warning in w for w in result.warnings)
    run = session.get(ImportRun, result.import_run_id)
    assert run is not None
    assert any(warning in w for w in run.summary["warnings"])
    assert result.counts["houses_added"] == 2


def test_geometry_over_its_time_limit_writes_nothing(session: Session, block: Path) -> None:
    before = [_count(session, m) for m in (Building, Estate, ImportRun, ChangeLog)]
    with pytest.raises(InvalidInput, match="--geometry-timeout"):
        import_ifc(session, block, community=COMMUNITY, geometry_timeout_s=0.0001)
    assert [_count(session, m) for m in (Building, Estate, ImportRun, ChangeLog)] == before


def test_targets_and_dry_run(session: Session, block: Path) -> None:
    before = [_count(session, m) for m in (Building, Estate, ImportRun)]
    result = import_ifc(session, block, community=COMMUNITY, dry_run=True)
    assert result.dry_run
    assert result.import_run_id is None
    assert result.counts["houses_added"]
    assert [_count(session, m) for m in (Building, Estate, ImportRun)] == before
    with pytest.raises(InvalidInput, match="--estate"):
        import_ifc(session, block)
    with pytest.raises(NotFound):
        import_ifc(session, block, community="330402999999")
    with pytest.raises(NotFound):
        import_ifc(session, block, estate="3304020070240009000000000")
    first = import_ifc(session, block, community=COMMUNITY)
    estate = session.get(Estate, ("330402", first.target["estate_id"]))
    assert estate is not None
    estate.code = "330402007024000100000000X"
    session.flush()
    fzk = import_ifc(session, FZK, estate=estate.code, dwellings="none")
    assert fzk.target["estate_id"] == estate.id
    assert fzk.target["created"] is False
    assert session.scalar(select(func.count()).select_from(Building).where(
        Building.estate_id == estate.id)) == 2
    with pytest.raises(InvalidInput, match="not both"):
        import_ifc(session, FZK, estate=estate.code, community=COMMUNITY)
    with pytest.raises(Conflict, match="county 330402"):
        import_ifc(session, block, community=OTHER_COUNTY_COMMUNITY)


def test_cli_import_with_codes_then_reimport(fresh_db: str, fresh_engine: Engine,
                                             monkeypatch: pytest.MonkeyPatch,
                                             block: Path) -> None:
    from cimhouse.cli.main import app

    monkeypatch.setenv("CIMHOUSE_DATABASE_URL", fresh_db)
    runner = CliRunner()
    outcome = runner.invoke(app, ["import", "ifc", str(block), "--community", COMMUNITY,
                                  "--assign-codes", "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    assert summary["codes"]["houses"] == 4
    assert summary["codes"]["buildings"] == 1
    with Session(fresh_engine) as session:
        codes = dict(session.execute(select(House.ifc_global_id, House.code)).all())
    assert len(codes) == 4
    assert all(codes.values())

    outcome = runner.invoke(app, ["import", "ifc", str(block), "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.stdout)["counts"]["houses_unchanged"] == 4
    with Session(fresh_engine) as session:
        assert dict(session.execute(select(House.ifc_global_id, House.code)).all()) == codes
        assert session.scalar(select(func.count()).select_from(Building)) == 1

    outcome = runner.invoke(app, ["import", "ifc", str(GEOREF_EXAMPLE), "--community",
                                  COMMUNITY, "--dwellings", "none"])
    assert outcome.exit_code == 0, outcome.output
    assert re.search(r"georeference\s+ifc_map_conversion", outcome.output), outcome.output
    assert "used 0.001" in outcome.output  # the Scale warning reaches the user

    campus = build_campus(block.parent / "cli-campus.ifc")
    report = block.parent / "rejected.csv"
    outcome = runner.invoke(app, ["import", "ifc", str(campus), "--community", COMMUNITY,
                                  "--report", str(report)])
    assert outcome.exit_code == 1, outcome.output  # imported, two objects rejected
    assert re.search(r"georeference\s+none", outcome.output), outcome.output
    assert "rejected: IfcSpace" in outcome.output
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(["global_id", "ifc_class", *REPORT_COLUMNS])
    assert len(lines) == 3

    broken = block.parent / "cli-broken.ifc"
    broken.write_bytes(block.read_bytes()[:2000])
    outcome = runner.invoke(app, ["import", "ifc", str(broken), "--community", COMMUNITY])
    assert outcome.exit_code == exit_code(InvalidInput(""))
    assert "truncated" in outcome.output
