"""CityJSON 2.0 LoD1 export (issue 17): valid (cjio, the official schema and cjval's checks),
closed outward solids of the right height, the house codes as attributes, scope in SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely import wkt
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.exports.export_cityjson import CityJsonResult, export_cityjson
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.cityjson_check import cjio, solid_report, validate
from tests.helpers.graphql_world import World, build_world

# building index in the world (ordered by county, id) -> what the fixture gives it
RING_WITH_HOLE = ("POLYGON((0 0, 0.0004 0, 0.0004 0.0003, 0 0.0003, 0 0),"
                  "(0.0001 0.0001, 0.0001 0.0002, 0.0002 0.0002, 0.0002 0.0001, 0.0001 0.0001))")


@pytest.fixture(scope="module")
def world_db(pg_cluster: EmbeddedCluster, template_db: str,
             test_settings: Settings) -> Iterator[tuple[Engine, World]]:
    from tests.helpers.database import clone_database

    name = clone_database(pg_cluster, template_db, "cityjson")
    engine = make_engine(test_settings, url=pg_cluster.url(name))
    with session_scope(engine) as session:
        world = build_world(session, test_settings, estates=2, buildings=3, houses=2)
        # storeys on every building, an IFC height on some, odd footprints on others,
        # and one building with neither height nor storeys (kept, without geometry)
        session.execute(text("UPDATE building SET floors_above = 2 + id % 5"))
        session.execute(text("UPDATE building SET height_m = 17.4 WHERE id % 3 = 0"))
        session.execute(text(
            "UPDATE building SET footprint = ST_Multi(ST_Translate(ST_GeomFromText("
            ":ring, 4490), ST_XMin(footprint), ST_YMin(footprint))) WHERE id % 3 = 1"),
            {"ring": RING_WITH_HOLE})
        session.execute(text(
            "UPDATE building SET footprint = ST_Multi(ST_Union(footprint, "
            "ST_Translate(footprint, 0.001, 0))) WHERE id % 3 = 2 AND id % 2 = 0"))
        session.execute(text("UPDATE building SET floors_above = NULL, height_m = NULL "
                             "WHERE id = (SELECT max(id) FROM building)"))
    yield engine, world
    engine.dispose()
    pg_cluster.drop_database(name)


def _export(engine: Engine, scope: str | None, path: Path, **options: Any) -> CityJsonResult:
    with session_scope(engine) as session:
        parsed = with_county_keys(session, parse_scope(scope)) if scope else None
        return export_cityjson(session, scope=parsed, path=path, metric_srid=4549, **options)


def _buildings(engine: Engine) -> dict[str, dict[str, Any]]:
    with session_scope(engine) as session:
        rows = session.execute(text(
            "SELECT b.code, b.floors_above, b.height_m, ST_Area(ST_Transform(b.footprint, "
            "4549)) AS area, ST_NumGeometries(b.footprint) AS parts, array(SELECT h.code "
            "FROM house h WHERE h.county = b.county AND h.building_id = b.id ORDER BY h.code)"
            " AS houses, e.code AS estate, e.name AS estate_name, b.address_norm "
            "FROM building b JOIN estate e ON e.county = b.county AND e.id = b.estate_id"))
        return {r.code: dict(r._mapping) for r in rows}


def test_cityjson_is_valid_with_closed_solids_heights_and_house_codes(
        world_db: tuple[Engine, World], tmp_path: Path) -> None:
    engine, _world = world_db
    path = tmp_path / "all.city.json"
    result = _export(engine, None, path, storey_height_m=3.2)
    assert validate(path) == []
    info = cjio(path, "info")
    assert info.returncode == 0, info.stderr
    assert "2.0" in info.stdout
    assert "4549" in info.stdout
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == "2.0"
    assert doc["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/4549"
    truth = _buildings(engine)
    assert {c for c, o in doc["CityObjects"].items() if o["type"] == "Building"} == set(truth)
    assert result.buildings == len(truth)
    assert result.without_geometry == 1
    for code, b in truth.items():
        obj = doc["CityObjects"][code]
        attrs = obj["attributes"]
        assert attrs["house_codes"] == b["houses"]
        assert attrs["house_count"] == len(b["houses"])
        assert attrs["code"] == code
        assert attrs["estate_code"] == b["estate"]
        assert attrs["estate_name"] == b["estate_name"]
        assert attrs["address"] == b["address_norm"]
        if b["floors_above"] is None:
            assert obj["geometry"] == []
            assert "measuredHeight" not in attrs
            continue
        ifc = b["height_m"] is not None
        height = float(b["height_m"]) if ifc else b["floors_above"] * 3.2
        assert attrs["height_source"] == ("ifc" if ifc else "storeys")
        assert attrs["measuredHeight"] == pytest.approx(height)
        assert attrs["storeysAboveGround"] == b["floors_above"]
        parts = obj.get("children", [code])
        assert len(parts) == b["parts"]  # one BuildingPart per polygon of a multi-part footprint
        volume = 0.0
        for part in parts:
            report = solid_report(doc, part)
            assert report["closed"], part
            assert report["type"] == "Solid", part
            assert report["bottom"] == pytest.approx(0.0)
            assert report["height"] == pytest.approx(height, abs=0.001)
            volume += report["volume"]
        # outward normals: positive volume = footprint area (holes excluded) x height
        assert volume == pytest.approx(b["area"] * height, rel=1e-4)
    assert any(b["parts"] > 1 for b in truth.values())


def test_cityjson_holds_only_the_scope(world_db: tuple[Engine, World], tmp_path: Path) -> None:
    engine, world = world_db
    for scope in (world.communities[0], world.communities[2][:6], world.estates[-1], "330421"):
        path = tmp_path / f"{scope}.city.json"
        result = _export(engine, scope, path)
        doc = json.loads(path.read_text(encoding="utf-8"))
        expected = {c for c, o in world.objects.items()
                    if o.kind == "building" and world.visible(c, scope)}
        buildings = {c: o for c, o in doc["CityObjects"].items() if o["type"] == "Building"}
        assert set(buildings) == expected
        assert result.buildings == len(expected)
        houses = {h for o in buildings.values() for h in o["attributes"]["house_codes"]}
        assert houses == {c for c, o in world.objects.items()
                          if o.kind == "house" and world.visible(c, scope)}
        assert validate(path) == []


def test_a_footprint_far_from_the_first_keeps_millimetres(world_db: tuple[Engine, World],
                                                          tmp_path: Path) -> None:
    """Every vertex is an integer of millimetres from one translate; rounding them back gives
    the footprint's corners (in EPSG:4549) to the millimetre, across the whole province."""
    engine, world = world_db
    path = tmp_path / "mm.city.json"
    _export(engine, world.communities[0][:2], path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c, o in doc["CityObjects"].items() if o["geometry"]][-1]  # the last one
    with session_scope(engine) as session:
        corners = wkt.loads(session.execute(text(
            "SELECT ST_AsText(ST_Transform(footprint, 4549)) FROM building WHERE code = :c"),
            {"c": code}).scalar_one())
    scale, move = doc["transform"]["scale"], doc["transform"]["translate"]
    ground = {(round(x * scale[0] + move[0], 3), round(y * scale[1] + move[1], 3))
              for i in {i for s in doc["CityObjects"][code]["geometry"][0]["boundaries"][0]
                        for r in s for i in r}
              for x, y, z in [doc["vertices"][i]] if z == 0}
    polygon = corners.geoms[0]
    expected = {(round(x, 3), round(y, 3)) for ring in (polygon.exterior, *polygon.interiors)
                for x, y in ring.coords}
    assert ground == expected


def test_cli_writes_cityjson(world_db: tuple[Engine, World], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    engine, world = world_db
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = tmp_path / "cli.city.json"
    done = CliRunner().invoke(app, ["export", "--scope", world.communities[0], "--format",
                                    "cityjson", "--storey-height", "2.8", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert validate(out) == []
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert {o.get("attributes", {}).get("measuredHeight")
            for o in doc["CityObjects"].values()} <= {
        None, 17.4, *(round(n * 2.8, 3) for n in range(2, 7))}
    wrong = CliRunner().invoke(app, ["export", "--scope", world.communities[0], "--layer",
                                     "houses", "--format", "cityjson", "--out", str(out)])
    assert wrong.exit_code != 0
