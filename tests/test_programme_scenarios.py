"""Dated scenario states of future-community projects (issue 16): the history of each of the
nine scenarios, read back on any date; progress "as of" counts the scenarios delivered on
that date; the import's scenario cells; advancing one scenario; the change log."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, InvalidInput, NotFound
from cimhouse.programme.advance_scenario import advance_scenario
from cimhouse.programme.import_projects import import_projects
from cimhouse.programme.progress import compute_progress
from cimhouse.programme.project_scenarios import load_scenarios, state_on
from cimhouse.programme.upsert_project import ProjectData, upsert_project
from cimhouse.schema import ChangeLog
from cimhouse.scope import parse_scope

STREET, COMMUNITY = "330402007", "330402007024"
D = dt.date


def project(session: Session, scenarios: dict[str, dict[str, dt.date | None]],
            external_id: str = "S-1") -> int:
    data = ProjectData(name=f"场景{external_id}", level="provincial", kind="renovation",
                       lead_street=STREET, communities=[COMMUNITY],
                       dates={"declared": D(2021, 3, 1), "listed": D(2021, 9, 1)},
                       scenarios=scenarios, external_id=external_id)
    return upsert_project(session, data, actor="tests").project.id


def delivered(session: Session, on: dt.date, scenario: str = "health") -> int:
    figures = compute_progress(session, None, STREET, on).total
    return figures.scenarios_delivered[scenario]


def test_progress_counts_a_scenario_from_the_date_it_was_delivered(session: Session) -> None:
    project(session, {"health": {"planned": D(2021, 1, 5), "in_progress": D(2022, 2, 1),
                                 "delivered": D(2023, 6, 1)},
                      "service": {"delivered": None}})  # a lone undated state: since ever
    assert delivered(session, D(2023, 5, 31)) == 0
    assert delivered(session, D(2023, 6, 1)) == 1
    assert delivered(session, D(2026, 1, 1)) == 1
    # the project itself counts from its listing (2021-09-01) on, the undated state with it
    assert delivered(session, D(2021, 8, 31), "service") == 0
    assert delivered(session, D(2021, 9, 1), "service") == 1
    history = load_scenarios(session, [project(session, {}, "S-2")])
    assert history == {}


def test_the_state_on_a_date_is_the_last_one_reached() -> None:
    history: dict[str, dt.date | None] = {"planned": D(2021, 1, 5), "delivered": D(2023, 6, 1)}
    assert [state_on(history, day) for day in (D(2021, 1, 4), D(2021, 1, 5), D(2023, 6, 1))] \
        == [None, "planned", "delivered"]


@pytest.mark.parametrize("history", [
    {"planned": D(2022, 1, 1), "delivered": D(2021, 1, 1)},  # backwards
    {"planned": None, "delivered": D(2021, 1, 1)},  # undated among several
    {"finished": D(2021, 1, 1)},  # unknown state
    {},
])
def test_a_history_that_cannot_be_is_refused(session: Session,
                                             history: dict[str, dt.date | None]) -> None:
    with pytest.raises(InvalidInput):
        project(session, {"health": history})


def test_advance_a_scenario_with_its_date_and_history(session: Session) -> None:
    pid = project(session, {"health": {"planned": D(2021, 1, 5)}})
    advance_scenario(session, pid, "health", "in_progress", D(2022, 2, 1), actor="tests",
                     scope=parse_scope("330402"))
    advance_scenario(session, pid, "transport", "delivered", D(2024, 4, 1), actor="tests")
    assert load_scenarios(session, [pid])[pid] == {
        "health": {"planned": D(2021, 1, 5), "in_progress": D(2022, 2, 1)},
        "transport": {"delivered": D(2024, 4, 1)}}
    with pytest.raises(Conflict):  # a step back is a correction, not an advance
        advance_scenario(session, pid, "health", "planned", D(2022, 3, 1), actor="tests")
    with pytest.raises(InvalidInput):  # before the state reached last
        advance_scenario(session, pid, "health", "delivered", D(2022, 1, 1), actor="tests")
    with pytest.raises(NotFound):  # another county
        advance_scenario(session, pid, "health", "delivered", D(2023, 1, 1), actor="tests",
                         scope=parse_scope("330411"))
    log = session.scalars(select(ChangeLog).where(
        ChangeLog.object_kind == "future_project", ChangeLog.object_id == str(pid))
        .order_by(ChangeLog.id)).all()
    assert [entry.source for entry in log] == ["api", "advance_scenario", "advance_scenario"]
    assert log[1].previous is not None
    assert log[1].current is not None
    assert log[1].previous["scenarios"] == {"health": {"planned": "2021-01-05"}}
    assert log[1].current["scenarios"]["health"] == {"planned": "2021-01-05",
                                                     "in_progress": "2022-02-01"}
    assert delivered(session, D(2024, 4, 1), "transport") == 1


def test_import_reads_dated_cells_rejects_bad_ones_and_reruns(session: Session,
                                                              tmp_path: Path) -> None:
    header = ["项目编号", "项目名称", "级别", "类型", "牵头街道", "覆盖社区", "申报日期",
              "列入创建名单日期", "健康场景", "交通场景"]
    good = ["I-1", "场景导入", "省级", "旧改类", STREET, COMMUNITY, "2021-03-01", "2021-09-01",
            "规划 2021-01-05；建设中（2022/2/1）；已建成 2023年6月1日", "已建成"]
    rows = [good,
            ["I-2", "倒序", *good[2:8], "已建成 2022-01-01；规划 2023-01-01", ""],
            ["I-3", "未知", *good[2:8], "完成 2022-01-01", ""],
            ["I-4", "坏日期", *good[2:8], "规划 2022-13-01", ""],
            ["I-5", "无日期多状态", *good[2:8], "规划；已建成 2023-01-01", ""]]
    path = tmp_path / "p.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    report = tmp_path / "rejects.csv"
    result = import_projects(session, path, actor="tests", report_path=report)
    assert (result.read, result.added, [r.line for r in result.rejected]) == (5, 1, [3, 4, 5, 6])
    assert all(" / " in "; ".join(r.reasons) for r in result.rejected)
    pid = session.scalar(select(ChangeLog.object_id).where(
        ChangeLog.object_kind == "future_project"))
    assert pid is not None
    assert load_scenarios(session, [int(pid)])[int(pid)] == {
        "health": {"planned": D(2021, 1, 5), "in_progress": D(2022, 2, 1),
                   "delivered": D(2023, 6, 1)},
        "transport": {"delivered": None}}
    again = import_projects(session, path, actor="tests")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
