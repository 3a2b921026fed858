"""Benchmark: how cimhouse's statements run once psycopg prepares them (plan cache modes).

Run: .venv/bin/python bench/bench_plan_cache.py                  (generates 40,000 houses)
     .venv/bin/python bench/bench_plan_cache.py --keep /tmp/gql1m
     (reuses or makes a cluster as ``bench_graphql.py --houses 1000000 --keep /tmp/gql1m``)

psycopg prepares a statement on the server after its fifth execution; PostgreSQL then plans
the next executions custom (with the values) and, from the sixth on, may keep one generic
plan if it does not look worse. cimhouse's statements carry the scope range as parameters.
This captures the statements that cimhouse sends for the benchmark's nested query and for
a community page (in-process, the resolver path), then runs each of them 30 times with
varying arguments (other estates, other communities) in three ways:

- ``auto``: psycopg's default prepare threshold, ``plan_cache_mode = auto`` (before);
- ``custom``: prepared, ``plan_cache_mode = force_custom_plan`` (cimhouse.db.make_engine);
- ``unprepared``: ``prepare_threshold = None`` (parse and plan every time, no prepare);

and prints, per statement, the median time of executions 11-30 (after the switch).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from bench_graphql import generate
from fastapi.testclient import TestClient
from graphql_cases import CIMHOUSE, variables
from sqlalchemy import event

from cimhouse.api.app import create_app
from cimhouse.auth.tokens import create_token
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.settings import Settings

KEY = "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoMTI="


def capture(app_client: TestClient, engine: Any, token: str, case: str,
            arg: str) -> list[tuple[str, Any]]:
    """The statements (with parameters) cimhouse sends to answer ``case`` for ``arg``."""
    sent: list[tuple[str, Any]] = []

    def listen(_c: Any, _cur: Any, statement: str, parameters: Any, _x: Any, _m: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_principal" not in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        reply = app_client.post("/graphql", json={
            "query": CIMHOUSE[case], "variables": variables("cimhouse", case, arg)},
            headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert "errors" not in reply, reply
    return sent


def timed(dsn: str, mode: str, runs: list[tuple[str, Any]]) -> tuple[float, int]:
    """Median ms of executions 11.. of one statement (``runs``: the same SQL, other values),
    and how many of its executions ran a generic plan (``pg_prepared_statements``)."""
    options = "-c plan_cache_mode=force_custom_plan" if mode == "custom" else ""
    threshold = None if mode == "unprepared" else 5
    with psycopg.connect(dsn, autocommit=True, options=options,
                         prepare_threshold=threshold) as conn:
        took = []
        for statement, parameters in runs:
            started = time.perf_counter()
            conn.execute(statement, parameters).fetchall()
            took.append(time.perf_counter() - started)
        generic = conn.execute("SELECT coalesce(sum(generic_plans), 0) "
                               "FROM pg_prepared_statements").fetchone()
    return 1000 * statistics.median(took[10:]), int(generic[0]) if generic else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path,
                        help="cluster directory kept (and reused) as by bench_graphql.py")
    parser.add_argument("--houses", type=int, default=40_000,
                        help="houses when the cluster is new (default 40,000)")
    args, _ = parser.parse_known_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="cimbench-plans-", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    cluster = EmbeddedCluster(root / "pg")
    cluster.start()
    try:
        run(cluster, root, args.houses)
    finally:
        if args.keep is None:
            cluster.destroy()
        else:
            cluster.stop()


def run(cluster: EmbeddedCluster, root: Path, houses_wanted: int = 40_000) -> None:
    generate(cluster, root, houses_wanted)
    url = cluster.url("bench")
    dsn = url.replace("postgresql+psycopg", "postgresql")
    settings = Settings(var_dir=root, secret_key_b64=KEY)
    engine = make_engine(settings, url=url)
    with psycopg.connect(dsn) as raw:
        estates = [r[0] for r in raw.execute(
            "SELECT code FROM estate WHERE region_code LIKE '330402%'")]
        communities = [r[0] for r in raw.execute(
            "SELECT DISTINCT region_code FROM house WHERE region_code LIKE '330402%'")]
        houses = raw.execute("SELECT count(*) FROM house").fetchone()[0]  # type: ignore[index]
    with session_scope(engine) as session:
        token = create_token(session, name=f"plans-{time.time_ns()}", scope="330402",
                             roles=["reader", "person_reader"], actor="bench").token
    client = TestClient(create_app(settings, engine=engine))
    rng = random.Random(1)
    print(f"{houses} houses; median ms of executions 11-30 of each statement, "
          "30 different arguments")
    print("cells: median ms (executions that ran a generic plan, of 30)")
    print(f"{'case':10} {'statement':50} {'auto':>12} {'custom':>12} {'unprepared':>12}")
    for case, pool in (("nested", estates), ("community", communities)):
        captured = [capture(client, engine, token, case, rng.choice(pool)) for _ in range(30)]
        for index in range(min(len(c) for c in captured)):
            runs = [c[index] for c in captured]
            if len({statement for statement, _ in runs}) != 1:
                continue  # a statement whose text varies is never prepared
            cells = [f"{ms:.2f} ({generic})" for ms, generic in
                     (timed(dsn, mode, runs) for mode in ("auto", "custom", "unprepared"))]
            label = " ".join(runs[0][0].split())[:50]
            print(f"{case:10} {label:50} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12}")
    engine.dispose()


if __name__ == "__main__":
    main()
