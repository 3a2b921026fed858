"""Future-community programme: import, history, progress figures against an independent
count on generated data, scope cuts, and the GraphQL queries and mutations."""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cimhouse.demo.programme import PROJECT_HEADER, programme_rows
from cimhouse.importers.rejects import LINE_COLUMN, REASONS_COLUMN
from cimhouse.programme.advance_project import advance_project
from cimhouse.programme.import_projects import import_projects
from cimhouse.programme.progress import TARGETS, compute_progress
from cimhouse.programme.project_rows import DATE_HEADERS, SCENARIO_HEADERS, parse_date
from cimhouse.programme.project_scenarios import load_scenarios
from cimhouse.schema import ChangeLog, FutureProject, FutureProjectRegion, ImportRun
from cimhouse.scope import parse_scope

STEPS = list(DATE_HEADERS)


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = PROJECT_HEADER
              ) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def jiaxing(session: Session, prefix: str = "3304") -> list[tuple[str, str]]:
    """(community code, code12) of the current communities under ``prefix``."""
    return [(c, c12) for c, c12 in session.execute(text(
        "SELECT code, code12 FROM region WHERE level = 5 AND valid_to IS NULL "
        "AND code LIKE :p ORDER BY code"), {"p": prefix + "%"})]


def stage(row: dict[str, str], as_of: dt.date) -> int:
    reached = 0
    for index, step in enumerate(STEPS):
        value = row[DATE_HEADERS[step]]
        if value and parse_date(value) <= as_of:
            reached = index + 1
    return reached


def delivered_on(cell: str, as_of: dt.date) -> bool:
    """Whether a scenario cell (``规划 2021-03-01；已建成 2022-05-01`` or a lone ``已建成``)
    says delivered on ``as_of``: read here with plain string splits, not the importer's."""
    for part in cell.split("；"):
        word, _space, day = part.strip().partition(" ")
        if word == "已建成":
            return not day or dt.date.fromisoformat(day) <= as_of
    return False


def independent(rows: list[dict[str, str]], communities: list[tuple[str, str]], prefix: str,  # noqa: C901 (a flat recount of every figure, one branch per rule of docs/programme.md)
                as_of: dt.date) -> dict[str, dict[str, Any]]:
    """The figures counted in plain Python from the generated rows (key: area code or '')."""
    urban = {c: int(c12[9:12]) < 200 for c, c12 in communities if c.startswith(prefix)}
    areas: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(set))
    for code, is_urban in urban.items():
        for area in ("", code[:6], code[:9]):
            areas[area]["communities"].add(code)
            if is_urban:
                areas[area]["urban"].add(code)
    for row in rows:
        reached = stage(row, as_of)
        provincial = row["级别"] == "省级"
        for code in row["覆盖社区"].split(";"):
            if code not in urban or reached == 0:
                continue
            for area in ("", code[:6], code[:9]):
                a = areas[area]
                key = row["项目编号"]
                if provincial and reached >= 2:
                    a["provincial_declared"].add(key)
                if provincial and reached >= 3:
                    a["provincial_creation"].add(key)
                    if urban[code]:
                        a["urban_covered"].add(code)
                if provincial and reached == 6:
                    a["provincial_built"].add(key)
                if not provincial and reached >= 3:
                    a["municipal_creation"].add(key)
                if not provincial and reached == 6:
                    a["municipal_named"].add(key)
                a[f"status_{STEPS[reached - 1]}"].add(key)
                for scenario, header in SCENARIO_HEADERS.items():
                    if reached >= 3 and delivered_on(row[header], as_of):
                        a[f"scenario_{scenario}"].add(key)
    return {area: {k: len(v) for k, v in sets.items()} for area, sets in areas.items()}


def check_figures(figures: Any, expected: dict[str, int], where: str) -> None:
    got = {"communities": figures.communities, "urban": figures.urban_communities,
           "urban_covered": figures.urban_covered,
           "provincial_declared": figures.provincial_declared,
           "provincial_creation": figures.provincial_creation,
           "provincial_built": figures.provincial_built,
           "municipal_creation": figures.municipal_creation,
           "municipal_named": figures.municipal_named,
           **{f"status_{k}": v for k, v in figures.by_status.items()},
           **{f"scenario_{k}": v for k, v in figures.scenarios_delivered.items()}}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}, where


@pytest.fixture
def generated(session: Session, tmp_path: Path) -> tuple[list[dict[str, str]],
                                                         list[tuple[str, str]]]:
    communities = jiaxing(session)
    rows = programme_rows(random.Random(16), [c for c, _ in communities])
    result = import_projects(session, write_csv(tmp_path / "p.csv", rows), actor="tests")
    assert (result.read, len(result.rejected), result.added) == (len(rows), 0, len(rows))
    return rows, communities


@pytest.mark.parametrize("as_of", [dt.date(2022, 6, 30), dt.date(2023, 12, 31),
                                   dt.date(2026, 6, 30)])
def test_every_figure_equals_an_independent_count(
        session: Session, generated: tuple[list[dict[str, str]], list[tuple[str, str]]],
        as_of: dt.date) -> None:
    rows, communities = generated
    progress = compute_progress(session, None, "3304", as_of)
    expected = independent(rows, communities, "3304", as_of)
    check_figures(progress.total, expected[""], "total")
    assert progress.total.coverage == round(
        expected[""].get("urban_covered", 0) / expected[""]["urban"], 4)
    assert len(progress.counties) == len({c[:6] for c, _ in communities})
    for county in progress.counties:
        check_figures(county.figures, expected[county.code], county.code)
        for street in county.streets:
            check_figures(street.figures, expected[street.code], street.code)
        firsts = [s.without_provincial for s in county.streets]
        assert firsts == sorted(firsts, reverse=True), "streets without a project come first"
        assert {s.code for s in county.streets_without_provincial} == {
            s.code for s in county.streets if not expected[s.code].get("provincial_declared")}
    year = 2023 if as_of.year <= 2023 else 2025
    assert progress.target_year == year
    targets = {t.key: t for t in progress.targets}
    for key, value in TARGETS[year].items():
        actual = (progress.total.coverage or 0) if key == "urban_coverage" else expected[""].get(
            key, 0)
        assert targets[key].actual == actual
        assert targets[key].distance == round(max(0, value - actual), 4)
    assert targets["streets_without_provincial"].actual == sum(
        len(c.streets_without_provincial) for c in progress.counties) > 0


def test_a_community_scope_counts_only_itself(
        session: Session, generated: tuple[list[dict[str, str]], list[tuple[str, str]]]) -> None:
    rows, communities = generated
    covered = next(r["覆盖社区"].split(";")[0] for r in rows if stage(r, dt.date(2030, 1, 1)))
    as_of = dt.date(2030, 1, 1)
    progress = compute_progress(session, parse_scope(covered), "3304", as_of)
    expected = independent(rows, communities, covered, as_of)
    check_figures(progress.total, expected[""], "total")
    assert [c.code for c in progress.counties] == [covered[:6]]
    assert [s.code for s in progress.counties[0].streets] == [covered[:9]]
    assert progress.total.communities == 1
    outside = compute_progress(session, parse_scope("330402"), "330411", as_of)
    assert outside.counties == []
    assert outside.total.communities == 0


def test_import_accounts_for_every_row_reports_and_reruns(session: Session,
                                                          tmp_path: Path) -> None:
    good = {h: "" for h in PROJECT_HEADER} | {
        "项目编号": "T-1", "项目名称": "建设未来社区", "级别": "省级", "类型": "旧改类",
        "牵头街道": "330402007", "覆盖社区": "330402007024;330402007029",
        "申报日期": "2022/3/1", "列入创建名单日期": "2022年6月1日", "健康场景": "已建成"}
    rows = [good,
            good | {"项目编号": "T-2", "级别": "国家级"},
            good | {"项目编号": "T-3", "申报日期": "2023-01-01"},  # listed before declared
            good | {"项目编号": "T-4", "覆盖社区": "330402007999"},
            good | {"项目名称": "同号"},  # duplicate key T-1
            good | {"项目编号": "T-6", "项目名称": "南湖市级", "级别": "市级",
                    "验收命名日期": "2023-11-01"}]
    path = write_csv(tmp_path / "projects.csv", rows)
    report = tmp_path / "rejects.csv"
    result = import_projects(session, path, actor="tests", report_path=report)
    assert result.read == 6
    assert result.accepted + len(result.rejected) == result.read
    assert (result.added, sorted(r.line for r in result.rejected)) == (2, [3, 4, 5, 6])
    with report.open(encoding="utf-8-sig") as handle:
        rejected = list(csv.DictReader(handle))
    assert [r["项目编号"] for r in rejected] == ["T-2", "T-3", "T-4", "T-1"]
    assert all(" / " in r[REASONS_COLUMN] for r in rejected)  # Chinese / English
    assert [r[LINE_COLUMN] for r in rejected] == ["3", "4", "5", "6"]
    again = import_projects(session, path, actor="tests")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert session.scalar(select(FutureProject.status).where(
        FutureProject.external_id == "T-6")) == "accepted"
    assert session.scalar(select(ImportRun.rows_rejected).where(
        ImportRun.id == again.import_run_id)) == 4
    # a changed row is an update with history; the corrected rejects report imports
    changed = write_csv(tmp_path / "changed.csv", [good | {"开工日期": "2022-09-01"}])
    assert import_projects(session, changed, actor="tests").updated == 1
    project = session.scalars(select(FutureProject).where(
        FutureProject.external_id == "T-1")).one()
    assert project.status == "under_construction"
    assert load_scenarios(session, [project.id])[project.id] == {"health": {"delivered": None}}
    history = session.scalars(select(ChangeLog).where(
        ChangeLog.object_kind == "future_project", ChangeLog.object_id == str(project.id))
        .order_by(ChangeLog.id)).all()
    assert [h.operation for h in history] == ["insert", "update"]
    assert history[1].previous is not None
    assert history[1].previous["status"] == "listed"
    assert history[1].current is not None
    assert history[1].current[
        "under_construction_on"] == "2022-09-01"


def test_xlsx_with_chinese_headers_and_advance(session: Session, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["项目编号", "项目名称", "级别", "类型", "牵头街道", "覆盖社区", "储备日期"])
    sheet.append(["X-1", "嘉兴未来社区", "市级", "普惠型", "330402007", "330402007024",
                  dt.datetime(2023, 2, 1)])
    path = tmp_path / "projects.xlsx"
    book.save(path)
    assert import_projects(session, path, actor="tests").added == 1
    project = session.scalars(select(FutureProject).where(
        FutureProject.external_id == "X-1")).one()
    assert (project.status, project.reserve_on) == ("reserve", dt.date(2023, 2, 1))
    advanced = advance_project(session, project.id, "declared", dt.date(2023, 4, 1),
                               actor="tests", scope=parse_scope("330402"))
    assert advanced.status == "declared"
    with pytest.raises(Exception, match="project not found"):
        advance_project(session, project.id, "listed", dt.date(2023, 5, 1), actor="tests",
                        scope=parse_scope("330411"))
    assert session.scalars(select(FutureProjectRegion.region_code).where(
        FutureProjectRegion.project_id == project.id)).all() == ["330402007024"]
