"""Benchmark: the future-community target report for the whole province (Zhejiang, 33).

Run: .venv/bin/python bench/bench_future.py   (or `make bench`)

One throwaway cluster: the 27,036 Zhejiang regions and a generated programme over every
street of the province (the demo's generator, about two projects per street, some streets
without). Measured: ``compute_progress`` for region 33 (every county and street with every
figure, scenarios delivered on the date from their dated states), median of 11 runs. Lower bound in the
same run: one plain pass over the same join (communities -> covered -> projects) counting
rows, without the per-area aggregation.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

from harness import bench_cluster, print_load
from sqlalchemy import insert, text

from cimhouse.db import session_scope
from cimhouse.demo.programme import programme_rows
from cimhouse.importers.load_regions import load_regions
from cimhouse.programme.project_rows import parse_row
from cimhouse.programme.upsert_project import status_of
from cimhouse.schema import FutureProject, FutureProjectRegion, FutureProjectScenario
from cimhouse.schema.programme import STATUS_DATE_COLUMNS

RUNS = 11
BOUND_SQL = """
    SELECT count(*) FROM region r
    LEFT JOIN future_project_region pr ON pr.region_code = r.code
    LEFT JOIN future_project p ON p.id = pr.project_id
    WHERE r.level = 5 AND r.valid_to IS NULL AND r.code >= '330000000000'
      AND r.code < '340000000000'
"""


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    with bench_cluster() as bench:
        engine = bench.database("bench")
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
            communities = list(session.scalars(text(
                "SELECT code FROM region WHERE level = 5 AND valid_to IS NULL")))
            rows = programme_rows(random.Random(16), communities)
            projects, covered, scenarios = [], [], []
            for number, row in enumerate(rows, start=1):
                data, reasons = parse_row(row)
                assert data is not None, reasons
                projects.append({"id": number, "external_id": data.external_id,
                                 "name": data.name, "level": data.level, "kind": data.kind,
                                 "status": status_of(data.dates), "year": data.year,
                                 "lead_street": data.lead_street,
                                 **{c: data.dates.get(s) for s, c in STATUS_DATE_COLUMNS.items()}})
                covered += [{"project_id": number, "region_code": c}
                            for c in sorted(set(data.communities))]
                scenarios += [{"project_id": number, "scenario": scenario, "state": state,
                               "since": since} for scenario, history in data.scenarios.items()
                              for state, since in history.items()]
            session.execute(insert(FutureProject), projects)
            session.execute(insert(FutureProjectRegion), covered)
            session.execute(insert(FutureProjectScenario), scenarios)
            session.execute(text("ANALYZE"))
        from cimhouse.programme.progress import compute_progress

        as_of = dt.date(2025, 12, 31)
        with session_scope(engine) as session:
            compute_progress(session, None, "33", as_of)  # warm caches
            session.execute(text(BOUND_SQL)).scalar()
            report, bound = [], []
            for _ in range(RUNS):  # interleaved: on a shared machine both see the same load
                report.append(timed(lambda: compute_progress(session, None, "33", as_of)))
                bound.append(timed(lambda: session.execute(text(BOUND_SQL)).scalar()))
            progress = compute_progress(session, None, "33", as_of)
        streets = sum(len(c.streets) for c in progress.counties)
        print(f"regions: 27036, communities: {len(communities)}, projects: {len(projects)}, "
              f"covered communities rows: {len(covered)}, scenario states: {len(scenarios)}")
        print(f"report: {len(progress.counties)} counties, {streets} streets, "
              f"{progress.streets_without_provincial} without a provincial project")
        low, high = statistics.median(bound), statistics.median(report)
        print(f"lower bound (one pass over the join):  {low * 1000:8.1f} ms (median of {RUNS})")
        print(f"compute_progress(region 33):           {high * 1000:8.1f} ms "
              f"(median of {RUNS}; {high / low:.1f}x bound)")
        print_load()
        engine.dispose()


if __name__ == "__main__":
    main()
