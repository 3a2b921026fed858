"""One importer plumbing (issue 14 point 3): one rejects layout, one actor, one report path."""

from __future__ import annotations

import csv
import getpass
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.importers.boundaries.import_boundaries import import_boundaries
from cimhouse.importers.facilities.import_facilities import import_facilities
from cimhouse.importers.load_regions import load_regions
from cimhouse.importers.rejects import REPORT_COLUMNS

CLI_ACTOR = f"cli:{getpass.getuser()}"


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle))


def test_every_importer_writes_the_one_layout(session: Session, tmp_path: Path) -> None:
    regions = tmp_path / "regions.csv"
    regions.write_text("code,name,level,parentCode\n33x,坏代码,3,3304\n", encoding="utf-8")
    load_regions(session, regions, report_path=tmp_path / "r1.csv")
    facilities = tmp_path / "f.csv"
    facilities.write_text("name,category,lon,lat\n,托育,120.7,30.7\n", encoding="utf-8")
    import_facilities(session, facilities, source="t", report_path=tmp_path / "r2.csv")
    boundaries = tmp_path / "b.geojson"
    boundaries.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "无此小区"},
         "geometry": {"type": "Point", "coordinates": [120.7, 30.7]}}]}), encoding="utf-8")
    import_boundaries(session, boundaries, level="estate", report_path=tmp_path / "r3.csv")
    headers = [_header(tmp_path / f"r{n}.csv") for n in (1, 2, 3)]
    assert headers[0] == ["code", "name", "level", "parentCode", *REPORT_COLUMNS]
    assert headers[1] == ["name", "category", "lon", "lat", *REPORT_COLUMNS]
    assert headers[2] == ["key", *REPORT_COLUMNS]
    with (tmp_path / "r2.csv").open(encoding="utf-8-sig", newline="") as handle:
        row = next(iter(csv.DictReader(handle)))
    assert row[REPORT_COLUMNS[1]] == "2"
    assert "名称为空" in row[REPORT_COLUMNS[0]]


def test_a_corrected_facilities_report_imports_again(session: Session, tmp_path: Path) -> None:
    facilities = tmp_path / "f.csv"
    facilities.write_text("name,category,community_code\n,警务,330402007029\n",
                          encoding="utf-8")
    report = tmp_path / "rejects.csv"
    import_facilities(session, facilities, source="t", report_path=report)
    report.write_text(report.read_text("utf-8-sig").replace("\n,警务,", "\n警务室,警务,"), "utf-8-sig")
    again = import_facilities(session, report, source="t")
    assert (again.added, again.rejected) == (1, [])
    attributes = session.execute(text("SELECT attributes FROM facility")).scalar_one()
    assert not set(attributes) & set(REPORT_COLUMNS)


@pytest.mark.usefixtures("cli_env")
def test_cli_imports_record_the_acting_user(fresh_engine: Engine,
                                            tmp_path: Path) -> None:
    facilities = tmp_path / "f.csv"
    facilities.write_text("name,category,lon,lat\n托育园,托育,120.7,30.7\n,托育,1,1\n",
                          encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "facilities", str(facilities), "--json"])
    assert result.exit_code == 1, result.output
    with fresh_engine.connect() as conn:
        run = conn.execute(text("SELECT actor, report_path FROM import_run "
                                "WHERE kind = 'facilities'")).one()
    assert run.actor == CLI_ACTOR
    assert Path(run.report_path).name.startswith("facilities-")
    assert Path(run.report_path).name.endswith("-rejects.csv")
