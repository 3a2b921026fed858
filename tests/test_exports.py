"""Exports read back by real readers: GDAL's ogrinfo (GeoPackage, GeoJSON, CSV) and openpyxl
(XLSX); the scope is applied in SQL; no personal data leaves (issue 17)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.crs import normalize_coordinate_system
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.exports.copy_csv import copy_csv_supported
from cimhouse.exports.export_layer import export_layer, write_rows
from cimhouse.exports.layers import LAYERS
from cimhouse.exports.writers import open_writer
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.graphql_world import World, build_world

needs_ogrinfo = pytest.mark.skipif(shutil.which("ogrinfo") is None,
                                   reason="gdal-bin (ogrinfo) is installed by `make test`")


@pytest.fixture(scope="module")
def world_db(pg_cluster: EmbeddedCluster, template_db: str,
             test_settings: Settings) -> Iterator[tuple[Engine, World, str]]:
    from tests.helpers.database import clone_database

    name = clone_database(pg_cluster, template_db, "export")
    engine = make_engine(test_settings, url=pg_cluster.url(name))
    with session_scope(engine) as session:
        world = build_world(session, test_settings, estates=2, buildings=2, houses=3)
    yield engine, world, pg_cluster.url(name)
    engine.dispose()
    pg_cluster.drop_database(name)


def _export(engine: Engine, scope: str, layer: str, fmt: str, path: Path,
            crs: str = "CGCS2000") -> int:
    with session_scope(engine) as session:
        parsed = with_county_keys(session, parse_scope(scope))
        return export_layer(session, scope=parsed, layer=layer, fmt=fmt, path=path,
                            crs=crs).rows


def _ogrinfo(path: Path, *args: str) -> str:
    done = subprocess.run(["ogrinfo", "-ro", "-al", *args, str(path)], capture_output=True,
                          text=True, check=True)
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout


def _codes(world: World, kind: str, scope: str) -> set[str]:
    return {c for c, o in world.objects.items() if o.kind == kind and world.visible(c, scope)}


@needs_ogrinfo
@pytest.mark.parametrize(("layer", "kind"), [("houses", "house"), ("buildings", "building"),
                                        ("estates", "estate")])
def test_gpkg_and_geojson_read_by_gdal_hold_exactly_the_scope(
        world_db: tuple[Engine, World, str], tmp_path: Path, layer: str, kind: str) -> None:
    engine, world, _ = world_db
    scope = world.communities[0]
    for fmt in ("gpkg", "geojson"):
        path = tmp_path / f"{layer}.{fmt}"
        rows = _export(engine, scope, layer, fmt, path)
        assert rows == len(_codes(world, kind, scope)) > 0
        info = _ogrinfo(path, "-so")
        assert f"Feature Count: {rows}" in info
        assert "4490" in info  # CGCS2000 named in the file
        found = {line.split("=", 1)[1].strip() for line in _ogrinfo(path).splitlines()
                 if line.strip().startswith("code (String) =")}
        assert found == _codes(world, kind, scope)


@needs_ogrinfo
def test_crs_option_moves_coordinates_through_the_crs_module(
        world_db: tuple[Engine, World, str], tmp_path: Path) -> None:
    engine, world, _ = world_db
    scope = world.communities[0][:6]
    a, b = tmp_path / "a.geojson", tmp_path / "b.geojson"
    _export(engine, scope, "estates", "geojson", a, "CGCS2000")
    _export(engine, scope, "estates", "geojson", b, "GCJ02")
    pa = json.loads(a.read_text("utf-8"))["features"][0]["geometry"]["coordinates"][0][0][0]
    pb = json.loads(b.read_text("utf-8"))["features"][0]["geometry"]["coordinates"][0][0][0]
    shift = ((pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2) ** 0.5
    assert 0.001 < shift < 0.01  # GCJ-02 offsets by a few hundred metres
    gpkg = tmp_path / "w.gpkg"
    _export(engine, scope, "estates", "gpkg", gpkg, "WGS84")
    assert "4326" in _ogrinfo(gpkg, "-so")


def test_xlsx_has_chinese_headers_and_the_rows(world_db: tuple[Engine, World, str],
                                              tmp_path: Path) -> None:
    engine, world, _ = world_db
    scope = world.estates[0]
    path = tmp_path / "h.xlsx"
    rows = _export(engine, scope, "houses", "xlsx", path)
    sheet = load_workbook(path, read_only=True)["房屋"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("房屋编码", "社区代码", "小区名称")
    assert "经度(CGCS2000)" in values[0]
    assert {r[0] for r in values[1:]} == _codes(world, "house", scope)
    assert rows == len(
        values) - 1


def test_csv_and_facilities_and_no_personal_data(world_db: tuple[Engine, World, str],
                                                 tmp_path: Path) -> None:
    engine, world, _ = world_db
    scope = world.communities[0]
    path = tmp_path / "f.csv"
    rows = _export(engine, scope, "facilities", "csv", path)
    lines = path.read_text("utf-8-sig").splitlines()
    assert lines[0].startswith("id,category")
    assert lines[0].endswith(",wkt")
    assert rows == len(lines) - 1 > 0
    assert all(world.communities[0] in line for line in lines[1:])
    house_csv = tmp_path / "h.csv"
    _export(engine, world.communities[0][:2], "houses", "csv", house_csv)
    content = house_csv.read_text("utf-8-sig")
    assert not any(number in content for number in world.id_numbers.values())


def test_other_county_gets_nothing_of_this_one(world_db: tuple[Engine, World, str],
                                               tmp_path: Path) -> None:
    engine, world, _ = world_db
    a, b = world.communities[0], world.communities[-1]
    assert a[:6] != b[:6]
    path = tmp_path / "b.geojson"
    _export(engine, b[:6], "houses", "geojson", path)
    features = json.loads(path.read_text("utf-8"))["features"]
    assert features
    assert all(f["properties"]["region_code"].startswith(b[:6])
                            for f in features)
    assert not {f["properties"]["code"] for f in features} & _codes(world, "house", a[:6])


def test_cli_export(world_db: tuple[Engine, World, str], tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    _engine, world, url = world_db
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL", url)
    out = tmp_path / "e.geojson"
    result = CliRunner().invoke(app, ["export", "--scope", world.communities[0], "--layer",
                                      "estates", "--format", "geojson", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text("utf-8"))["features"]) == len(
        _codes(world, "estate", world.communities[0]))
    bad = CliRunner().invoke(app, ["export", "--scope", "330402", "--layer", "persons",
                                   "--format", "csv", "--out", str(out)])
    assert bad.exit_code != 0


@pytest.mark.parametrize("crs", ["CGCS2000", "WGS84"])
def test_csv_by_copy_equals_the_row_writer(world_db: tuple[Engine, World, str],
                                           tmp_path: Path, crs: str) -> None:
    """The CSV streamed by COPY (PostGIS WKT, reals as double precision) holds what the row
    writer (shapely WKT, Python floats) writes: same header, rows, values and shapes, in
    the same order, quotes and line breaks in a value included."""
    engine, world, _ = world_db
    scope = world.communities[0][:6]
    with session_scope(engine) as session:
        # inside this transaction only (rolled back): the world has no points or areas
        session.execute(text(
            "UPDATE house SET location = ST_SetSRID(ST_MakePoint(120.7 + id * 0.0001234567,"
            " 30.7 + id * 0.0000765432), 4490), area_m2 = 60.25 + id"))
        session.execute(text(
            "UPDATE house SET address_norm = 'A \"quoted\", two' || chr(10) || 'lines' "
            "WHERE id = (SELECT min(id) FROM house)"))
        parsed = with_county_keys(session, parse_scope(scope))
        for layer in ("estates", "buildings", "houses", "facilities"):
            spec = LAYERS[layer]
            assert copy_csv_supported(spec, normalize_coordinate_system(crs))
            copied = export_layer(session, scope=parsed, layer=layer, fmt="csv",
                                  path=tmp_path / "copy.csv", crs=crs).rows
            writer = open_writer("csv", spec, tmp_path / "rows.csv", crs)
            try:
                written = write_rows(session, parsed, layer, writer, crs)
            finally:
                writer.close()
            by_copy, by_rows = (list(csv.reader((tmp_path / f).open(encoding="utf-8-sig")))
                                for f in ("copy.csv", "rows.csv"))
            assert copied == written == len(by_rows) - 1 > 0, layer
            assert by_copy[0] == by_rows[0]
            kinds = [c.kind for c in spec.columns]
            for mine, theirs in zip(by_copy[1:], by_rows[1:], strict=True):
                for kind, a, b in zip(kinds, mine, theirs, strict=False):
                    assert (float(a) == float(b)) if kind == "real" and a else a == b
                assert shapely.from_wkt(mine[-1]).equals_exact(
                    shapely.from_wkt(theirs[-1]), 1e-6), (mine[-1], theirs[-1])
            if layer == "houses":
                quoted = [v for row in by_copy[1:] for v in row if "quoted" in v]
                assert quoted == ['A "quoted", two\nlines']
        session.rollback()
