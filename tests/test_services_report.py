"""The services report: sections and numbers, JSON/CSV/XLSX, and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import session_scope
from cimhouse.errors import InvalidInput, exit_code
from cimhouse.scope import parse_scope
from cimhouse.services.report import build_services_report, write_report
from cimhouse.settings import Settings
from tests.helpers.services_world import AS_OF, COMMUNITY_A, POLICY, build_world


def test_report_sections_and_writers(session: Session, test_settings: Settings, tmp_path: Path) -> None:
    build_world(session, test_settings)
    report = build_services_report(session, parse_scope("330402"), policy=POLICY, as_of=AS_OF)
    assert set(report.tables) == {"service_index", "index_components", "community_gaps",
                                  "estate_gaps", "coverage", "elderly_living_alone", "households",
                                  "gap_projects", "index_history"}
    assert len(report.tables["coverage"]) == 3 * 5
    assert report.tables["estate_gaps"][0]["affected"] == 4
    assert [r["index"] for r in report.tables["service_index"]] == [37.5, 43.8]
    assert all("*" in r["name"] for r in report.tables["elderly_living_alone"])
    assert report.unlocated_estates == 1

    written = write_report(report, "xlsx", tmp_path / "r.xlsx", language="en")
    book = load_workbook(written[0], read_only=True)
    assert "estate_gaps" in book.sheetnames
    assert "about" in book.sheetnames
    chinese = load_workbook(write_report(report, "xlsx", tmp_path / "zh.xlsx")[0],
                            read_only=True)
    assert "小区缺口" in chinese.sheetnames
    assert "说明" in chinese.sheetnames
    csv_files = write_report(report, "csv", tmp_path / "r.csv")
    assert {p.name for p in csv_files} >= {"r.coverage.csv", "r.service_index.csv"}
    assert (tmp_path / "r.coverage.csv").read_text(encoding="utf-8-sig").count("\n") == 16
    json_file = write_report(report, "json", tmp_path / "r.json")[0]
    data = json.loads(json_file.read_text(encoding="utf-8"))
    assert data["radii_m"]["childcare"] == 300.0
    assert data["index_weights"]["childcare"] == 2.0
    with pytest.raises(InvalidInput):
        write_report(report, "pdf", None)
    with pytest.raises(InvalidInput):
        write_report(report, "xlsx", None)


@pytest.fixture
def fresh_world(fresh_engine: Engine, test_settings: Settings) -> None:
    """The services world committed to the private clone the CLI reads."""
    with session_scope(fresh_engine) as session:
        build_world(session, test_settings)


@pytest.mark.usefixtures("cli_env", "fresh_world")
def test_cli_report_and_imports(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", "services", "--scope", COMMUNITY_A, "--format",
                                 "json", "--as-of", "2026-06-30", "--radius", "elderly_care=650"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["radii_m"]["elderly_care"] == 650.0
    e2 = [r for r in data["coverage"] if r["estate_name"] == "E2小区"
          and r["category"] == "elderly_care"]
    assert e2[0]["covered"] is True  # 600 m within the overridden 650 m
    bad = runner.invoke(app, ["report", "services", "--scope", "33040", "--format", "json"])
    assert bad.exit_code == exit_code(InvalidInput(""))

    path = tmp_path / "f.csv"
    path.write_text("name,category,community_code\n警务室,警务,330402007029\n,托育,\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["import", "facilities", str(path), "--json",
                                 "--report", str(tmp_path / "rej.csv")])
    assert result.exit_code == 1  # one row rejected
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["added"], summary["rejected"]) == (2, 1, 1)
    assert (tmp_path / "rej.csv").exists()

    geo = tmp_path / "b.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    result = runner.invoke(app, ["import", "boundaries", str(geo), "--level", "estate"])
    assert result.exit_code == exit_code(InvalidInput(""))
    assert "no features" in result.output
