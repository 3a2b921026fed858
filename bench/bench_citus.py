"""Benchmark: register import and two counties' code jobs on 3-node Citus next to one node.

Run: .venv/bin/python bench/bench_citus.py [--rows 1000000] [--shards 32] [--keep DIR]
     (Citus 13.0.5 installed: `make citus`; --rows 1000000 is ~178,600 houses)

Same run, same data: one generated register (Jiaxing, several counties; ~5.6 rows per house)
is imported into a single PostgreSQL node and into a local Citus cluster (coordinator + 2
workers, each its own server on a Unix socket under the run's temp dir, ``--shards`` shards per
distributed table, ``cimhouse db distribute``). Printed per backend:

- the raw COPY of the same file into an unlogged text table of that server (the lower bound of
  the import), the import (its read+validate+stage and set-based apply parts) and its slowest
  statements;
- the two counties with the most houses coded with ``codes assign`` (``run_inline_assignment``,
  what the command runs), on two copies of the imported database: **one after the other** on
  the first, **both at once** (each in its own thread, connection and transaction) on the
  second. Per county its houses, its shard's node (Citus) and its seconds alone and together;
  ``speed-up = wall one after the other / wall both at once`` (2.0: the jobs do not slow each
  other down; 1.0: no gain from running them together), and whether the two work transactions
  overlapped (from the job rows' start and end).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness import (
    bench_citus,
    bench_cluster,
    copy_bound,
    machine_load,
    print_load,
    time_statements,
)
from sqlalchemy import Engine, text

from cimhouse.coding.jobs import run_inline_assignment
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.citus_nodes import LocalCitusCluster
from cimhouse.db.distribute import distribute
from cimhouse.db.migrate import upgrade
from cimhouse.importers.load_regions import load_regions
from cimhouse.importers.register.import_register import import_register
from cimhouse.pii import PiiVault
from cimhouse.settings import Settings

ROWS_PER_HOUSE = 5.6  # what the generator's household mix yields
SLOWEST = 8  # statements of the import printed per backend


def run_jobs(engine: Engine, counties: list[str], *, together: bool) -> dict[str, Any]:
    """One ``codes assign`` job per county, all at once or one after the other."""
    seconds: dict[str, float] = {}
    houses: dict[str, int] = {}
    job_ids: dict[str, int | None] = {}
    errors: dict[str, BaseException] = {}

    def run(county: str) -> None:
        started = time.perf_counter()
        try:
            result = run_inline_assignment(engine, county, actor="bench")
        except BaseException as exc:  # reported below
            errors[county] = exc
            return
        seconds[county] = time.perf_counter() - started
        houses[county] = result.houses
        job_ids[county] = result.job_id

    started = time.perf_counter()
    if together:
        threads = [threading.Thread(target=run, args=(county,)) for county in counties]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for county in counties:
            run(county)
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"code jobs failed: {errors}")
    with engine.connect() as conn:
        # the work transactions overlapped when each started before the other ended
        overlapped = bool(conn.execute(text(
            "SELECT max(started_at) < min(finished_at) FROM job WHERE id = ANY(:ids)"),
            {"ids": list(job_ids.values())}).scalar())
    return {"seconds": seconds, "coded": houses, "wall": wall, "overlapped": overlapped}


def shard_nodes(engine: Engine, counties: list[str]) -> dict[str, str]:
    """county -> the node holding its ``house`` shard (its directory name), on Citus."""
    nodes: dict[str, str] = {}
    with engine.connect() as conn:
        for county in counties:
            node = conn.execute(text(
                "SELECT nodename FROM citus_shards WHERE shardid = "
                "get_shard_id_for_distribution_column('house', CAST(:c AS text))"),
                {"c": county}).scalar_one()
            shard = conn.execute(text(
                "SELECT get_shard_id_for_distribution_column('house', CAST(:c AS text))"),
                {"c": county}).scalar_one()
            nodes[county] = f"shard {shard} on {Path(str(node)).parent.name}"
    return nodes


def measure(name: str, cluster: EmbeddedCluster | LocalCitusCluster, settings: Settings,
            path: Path, shards: int | None) -> dict[str, Any]:
    cluster.ensure_database("bench")
    engine = make_engine(settings, url=cluster.url("bench"))
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
        if shards:
            with engine.connect() as conn:
                distribute(conn, shard_count=shards)
        bound = copy_bound(engine, path)
        print(f"{name}: raw COPY {bound:.2f} s (load {machine_load()})", flush=True)
        timings = time_statements(engine)
        started = time.perf_counter()
        with session_scope(engine) as session:
            result = import_register(session, path, vault=PiiVault.from_settings(settings),
                                     actor="bench")
        seconds = time.perf_counter() - started
        slowest = sorted(timings, reverse=True)[:SLOWEST]
        timings.clear()
        print(f"{name}: import {seconds:.1f} s, {result.seconds} (load {machine_load()})",
              flush=True)
        for took, statement in slowest:
            print(f"    {took:7.2f} s  {statement}", flush=True)
        with engine.connect() as conn:
            top = [str(c) for c in conn.execute(text(
                "SELECT county FROM house GROUP BY county ORDER BY count(*) DESC, county "
                "LIMIT 2")).scalars()]
        if len(top) < 2:
            raise SystemExit(f"the register has houses in {top} only: use more --rows")
        nodes = shard_nodes(engine, top) if shards else {}
    finally:
        engine.dispose()
    # the same imported data twice: jobs one after the other on one copy, at once on the other
    cluster.ensure_database("serial", template="bench")
    serial_engine = make_engine(settings, url=cluster.url("serial"))
    try:
        serial = run_jobs(serial_engine, top, together=False)
    finally:
        serial_engine.dispose()
    print(f"{name}: codes one after the other {serial['seconds']}, wall {serial['wall']:.1f} s "
          f"(load {machine_load()})", flush=True)
    engine = make_engine(settings, url=cluster.url("bench"))
    try:
        together = run_jobs(engine, top, together=True)
    finally:
        engine.dispose()
    print(f"{name}: codes at once {together['seconds']}, wall {together['wall']:.1f} s "
          f"(load {machine_load()})", flush=True)
    return {"name": name, "rows": result.read, "houses": result.counts["houses_added"],
            "bound": bound, "import": seconds, "parts": result.seconds, "counties": top,
            "nodes": nodes, "serial": serial, "together": together,
            "speedup": serial["wall"] / together["wall"]}


def print_table(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    print(f"\n| {first['rows']:,} register rows ({first['houses']:,} houses) "
          + "".join(f"| {row['name']} " for row in rows) + "|")
    print("| --- " + "| ---: " * len(rows) + "|")

    def line(label: str, cell: Any) -> None:
        print(f"| {label} " + "".join(f"| {cell(row)} " for row in rows) + "|")

    line("raw COPY of the file (lower bound)", lambda r: f"{r['bound']:.2f} s")
    line("`import_register`", lambda r: f"{r['import']:.1f} s ({r['import'] / r['bound']:.0f}x)")
    line("of which read+validate+stage / apply",
         lambda r: f"{r['parts']['read_validate_stage']:.1f} s / {r['parts']['apply']:.1f} s")
    for index in range(2):
        def county(r: dict[str, Any], i: int = index) -> str:
            code = r["counties"][i]
            where = f" ({r['nodes'][code]})" if code in r["nodes"] else ""
            return f"{code}: {r['together']['coded'][code]:,} houses{where}"

        line(f"county {index + 1}", county)
        line(f"`codes assign` county {index + 1}: alone / both at once",
             lambda r, i=index: f"{r['serial']['seconds'][r['counties'][i]]:.1f} s / "
                                f"{r['together']['seconds'][r['counties'][i]]:.1f} s")
    line("two jobs one after the other, wall", lambda r: f"{r['serial']['wall']:.1f} s")
    line("two jobs at once, wall", lambda r: f"{r['together']['wall']:.1f} s")
    line("speed-up (one after the other / at once)", lambda r: f"{r['speedup']:.2f}")
    line("work transactions overlapped",
         lambda r: "yes" if r["together"]["overlapped"] else "no")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000,
                        help="register rows (about; 1000000 for the issue's figure)")
    parser.add_argument("--shards", type=int, default=32, help="shards per distributed table")
    parser.add_argument("--keep", type=Path,
                        help="keep the generated register in DIR (reused when present)")
    parser.add_argument("--backends", choices=["both", "single", "citus"], default="both",
                        help="measure both (the figure to quote: same run) or only one")
    args = parser.parse_args()
    with bench_cluster(prefix="cimbench-citus-") as bench, \
            bench_citus(bench, workers=2, shard_count=args.shards) as nodes:
        out = args.keep or bench.root / "demo"
        path = out / "register.csv"
        houses = max(100, round(args.rows / ROWS_PER_HOUSE))
        if not path.exists():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cimhouse.cli.main", "demo", "generate",
                            "--houses", str(houses), "--seed", "1", "--out", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
            print(f"generated {houses:,} houses in {time.perf_counter() - started:.1f} s "
                  f"(load {machine_load()})", flush=True)
        print(f"machine load average at the start (1/5/15 min): {machine_load()}", flush=True)
        results = []
        if args.backends in ("both", "single"):
            results.append(measure("single node", bench.cluster, bench.settings, path, None))
        if args.backends in ("both", "citus"):
            results.append(measure(f"Citus 1+2, {args.shards} shards", nodes, bench.settings,
                                   path, args.shards))
        print_table(results)
        print()
        print_load()


if __name__ == "__main__":
    main()
