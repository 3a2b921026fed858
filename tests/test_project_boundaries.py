"""``cimhouse import project-boundaries``: future-community project boundaries from GeoJSON,
keyed like the project rows, stored in CGCS2000, every feature accounted for, idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import Polygon, mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.crs import geometry_to_storage
from cimhouse.db import make_engine, session_scope
from cimhouse.importers.rejects import LINE_COLUMN, REASONS_COLUMN
from cimhouse.programme.import_project_boundaries import import_project_boundaries
from cimhouse.programme.upsert_project import ProjectData, upsert_project
from cimhouse.schema import ChangeLog, FutureProject
from cimhouse.settings import Settings

STREET, COMMUNITY = "330402007", "330402007024"
#: about 300 m square in Nanhu, as a GCJ-02 web map draws it
SQUARE = Polygon([(120.760, 30.750), (120.763, 30.750), (120.763, 30.753), (120.760, 30.753)])


def add_project(session: Session, external_id: str | None, name: str) -> int:
    data = ProjectData(name=name, level="provincial", kind="renovation", lead_street=STREET,
                       communities=[COMMUNITY], dates={"declared": dt.date(2022, 5, 1)},
                       external_id=external_id)
    return upsert_project(session, data, actor="tests").project.id


def feature(props: dict[str, Any], geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": geometry if geometry is not None else mapping(SQUARE)}


def write(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def features() -> list[dict[str, Any]]:
    return [
        feature({"项目编号": "B-1"}),
        feature({"项目名称": "无编号未来社区", "牵头街道": STREET}),
        feature({"项目编号": "NO-SUCH"}),
        feature({"项目编号": "B-3"}, {"type": "Point", "coordinates": [120.76, 30.75]}),
        feature({"项目编号": "B-1"}),  # the same project again
        feature({"项目编号": "B-3"}, mapping(Polygon([(0, 0), (1, 0), (1, 1)]))),  # not China
        feature({"名称": "只有名称"}),
    ]


def test_import_stores_cgcs2000_accounts_for_every_feature_and_reruns(
        session: Session, tmp_path: Path) -> None:
    first = add_project(session, "B-1", "有编号未来社区")
    second = add_project(session, None, "无编号未来社区")
    add_project(session, "B-3", "第三个未来社区")
    path = write(tmp_path / "projects.geojson", features())
    report = tmp_path / "rejects.csv"
    result = import_project_boundaries(session, path, crs="GCJ02", actor="tests",
                                       report_path=report)
    assert (result.read, result.updated, result.accepted + len(result.rejected)) == (7, 2, 7)
    assert [r.line for r in result.rejected] == [3, 4, 5, 6, 7]
    with report.open(encoding="utf-8-sig") as handle:
        rejected = list(csv.DictReader(handle))
    assert [r[LINE_COLUMN] for r in rejected] == ["3", "4", "5", "6", "7"]
    assert all(" / " in r[REASONS_COLUMN] for r in rejected)  # Chinese / English
    expected = geometry_to_storage(SQUARE, "GCJ02")
    for pid in (first, second):
        stored = session.scalar(select(FutureProject.boundary).where(FutureProject.id == pid))
        assert stored is not None
        shape = to_shape(stored)
        assert shape.geom_type == "MultiPolygon"
        assert shape.symmetric_difference(expected).area < 1e-12  # converted, not GCJ-02
        assert not shape.equals(SQUARE)
    assert session.scalar(select(func.ST_SRID(FutureProject.boundary)).where(
        FutureProject.id == first)) == 4490
    logged = session.scalars(select(ChangeLog).where(
        ChangeLog.object_kind == "future_project", ChangeLog.object_id == str(first),
        ChangeLog.operation == "update")).all()
    assert len(logged) == 1
    assert logged[0].current is not None
    assert 80_000 < logged[0].current["boundary_area_m2"] < 110_000  # about 300 m x 320 m
    again = import_project_boundaries(session, path, crs="GCJ02", actor="tests")
    assert (again.updated, again.unchanged, len(again.rejected)) == (0, 2, 5)
    moved = write(tmp_path / "moved.geojson", [feature({"项目编号": "B-1"})])
    assert import_project_boundaries(session, moved, crs="WGS84", actor="tests").updated == 1


def test_dry_run_leaves_nothing(session: Session, tmp_path: Path) -> None:
    pid = add_project(session, "B-1", "有编号未来社区")
    path = write(tmp_path / "p.geojson", features()[:1])
    result = import_project_boundaries(session, path, actor="tests", dry_run=True)
    assert (result.updated, result.import_run_id) == (1, None)
    assert session.scalar(select(FutureProject.boundary).where(FutureProject.id == pid)) is None


def test_cli_imports_and_exits_1_on_rejects(cli_env: str, tmp_path: Path,
                                             test_settings: Settings) -> None:
    engine = make_engine(test_settings, url=cli_env)
    try:
        with session_scope(engine) as session:
            add_project(session, "B-1", "有编号未来社区")
    finally:
        engine.dispose()
    good = write(tmp_path / "good.geojson", features()[:1])
    done = CliRunner().invoke(app, ["import", "project-boundaries", str(good), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["updated"] == 1
    bad = write(tmp_path / "bad.geojson", features()[2:3])
    report = tmp_path / "r.csv"
    failed = CliRunner().invoke(app, ["import", "project-boundaries", str(bad), "--report",
                                      str(report), "--json"])
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["rejected"] == 1
    assert report.exists()
    helped = CliRunner().invoke(app, ["import", "project-boundaries", "--help"])
    assert "Example:" in helped.stdout
