"""A plausible future-community programme over real streets and communities (demo and tests).

Projects are drawn per street: about one street in five gets none (so the report has streets
without a provincial project to show), the others one to three projects covering one to three
of their communities, of both levels, every kind and every lifecycle status (the dates of the
steps reached increase from the reserve date on). Scenario states are drawn per project with
the date of each state, from the project's first date on (one in ten a lone undated state, as
older files give them). The rows use the Chinese headers of ``cimhouse import projects``.

Example::

    rows = programme_rows(random.Random(7), [c.code for c in jiaxing_communities()[:200]])
    rows[0]["项目名称"], rows[0]["级别"]      # ('建设街道未来社区1号', '省级')
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from cimhouse.programme.project_rows import DATE_HEADERS, SCENARIO_HEADERS
from cimhouse.schema.vocab import LABELS_ZH, ProjectKind, ProjectLevel, ScenarioState

PROJECT_HEADER = ["项目编号", "项目名称", "级别", "类型", "主题", "年度", "牵头街道", "覆盖社区",
                  "投资(万元)", "面积(平方米)", "覆盖户数", *DATE_HEADERS.values(),
                  *SCENARIO_HEADERS.values()]
THEMES = ("健康养老", "儿童友好", "数字治理", "低碳生活", "邻里共享", "青年创业")
STEPS = tuple(DATE_HEADERS)


def programme_rows(rng: random.Random, communities: list[str],
                   street_names: dict[str, str] | None = None,
                   empty_share: float = 0.2) -> list[dict[str, str]]:
    """Project rows over ``communities`` (12-digit codes), grouped by their street."""
    by_street: dict[str, list[str]] = defaultdict(list)
    for code in sorted(communities):
        by_street[code[:9]].append(code)
    rows: list[dict[str, str]] = []
    for street, codes in sorted(by_street.items()):
        if rng.random() < empty_share:
            continue
        for number in range(1, rng.randint(1, 3) + 1):
            rows.append(_project(rng, street, codes, number, len(rows) + 1, street_names))
    return rows


def _project(rng: random.Random, street: str, codes: list[str], number: int, serial: int,
             street_names: dict[str, str] | None) -> dict[str, str]:
    level = ProjectLevel.PROVINCIAL if rng.random() < 0.65 else ProjectLevel.MUNICIPAL
    kind = rng.choice(list(ProjectKind))
    reached = rng.randrange(len(STEPS))
    day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(5 * 365))
    row = {h: "" for h in PROJECT_HEADER}
    for index, step in enumerate(STEPS[: reached + 1]):
        if index and level is ProjectLevel.MUNICIPAL and step == "listed" and rng.random() < .5:
            continue  # a municipal project may skip the provincial creation list
        day += dt.timedelta(days=rng.randint(20, 200))
        row[DATE_HEADERS[step]] = day.isoformat()
    start = dt.date.fromisoformat(next(row[DATE_HEADERS[s]] for s in STEPS
                                       if row[DATE_HEADERS[s]]))
    for header in SCENARIO_HEADERS.values():
        if rng.random() < 0.7:
            row[header] = _scenario_cell(rng, start)
    name = (street_names or {}).get(street, street)
    row.update({
        "项目编号": f"WLSQ-{serial:05d}", "项目名称": f"{name}未来社区{number}号",
        "级别": LABELS_ZH[ProjectLevel][level], "类型": LABELS_ZH[ProjectKind][kind],
        "主题": "、".join(rng.sample(THEMES, rng.randint(0, 2))),
        "年度": str(rng.randint(2021, 2025)), "牵头街道": street,
        "覆盖社区": ";".join(rng.sample(codes, min(len(codes), rng.randint(1, 3)))),
        "投资(万元)": f"{rng.uniform(500, 80000):.1f}",
        "面积(平方米)": f"{rng.uniform(2e4, 8e5):.0f}", "覆盖户数": str(rng.randint(300, 9000)),
    })
    return row


def _scenario_cell(rng: random.Random, start: dt.date) -> str:
    """``规划 2021-03-01；建设中 2021-09-01；已建成 2022-05-01`` (states reached, dated)."""
    states = list(ScenarioState)
    reached = states[: rng.randrange(len(states)) + 1]
    if rng.random() < 0.1:
        return LABELS_ZH[ScenarioState][reached[-1]]
    if len(reached) > 1 and rng.random() < 0.3:
        reached = reached[:-2] + reached[-1:]  # a state skipped (planned -> delivered)
    day = start + dt.timedelta(days=rng.randint(0, 300))
    parts = []
    for state in reached:
        parts.append(f"{LABELS_ZH[ScenarioState][state]} {day.isoformat()}")
        day += dt.timedelta(days=rng.randint(30, 400))
    return "；".join(parts)
