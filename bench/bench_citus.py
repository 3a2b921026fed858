"""Benchmark: register import and two counties' code jobs on 3-node Citus next to one node.

Run: .venv/bin/python bench/bench_citus.py [--rows 1000000] [--shards 32]
     (Citus 13.0.5 installed: `make citus`; --rows 1000000 is ~180,000 houses)

Same run, same data: one generated register (Jiaxing, several counties; ~5.6 rows per house)
is imported into a single PostgreSQL node and into a local Citus cluster (coordinator + 2
workers, each its own server on a Unix socket, ``--shards`` shards per distributed table,
``cimhouse db distribute``). On each, after the import, the two counties with the most houses
are coded at the same time, one ``codes assign`` job per county (``run_inline_assignment``,
what the command runs, each in its own thread and transaction). Printed per backend: the raw
COPY of the same file into an unlogged text table of that server (the lower bound of the
import), the import, and per county job its houses and seconds next to the wall time of both:
``parallelism = sum of the two jobs' seconds / wall`` (2.0 = fully overlapped, 1.0 = one after
the other), and whether the jobs' transactions overlapped (from the job rows' start and end).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness import copy_bound
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


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())



def codes_in_parallel(engine: Engine, counties: list[str]) -> dict[str, Any]:
    """One ``codes assign`` job per county, all at once; their seconds and the wall time."""
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
    threads = [threading.Thread(target=run, args=(county,)) for county in counties]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"code jobs failed: {errors}")
    with engine.connect() as conn:
        # the two work transactions overlapped when each started before the other ended
        overlapped = bool(conn.execute(text(
            "SELECT max(started_at) < min(finished_at) FROM job WHERE id = ANY(:ids)"),
            {"ids": list(job_ids.values())}).scalar())
    return {"seconds": seconds, "coded": houses, "wall": wall, "overlapped": overlapped,
            "parallelism": sum(seconds.values()) / wall}


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
        print(f"{name}: raw COPY {bound:.2f} s (load {load()})", flush=True)
        started = time.perf_counter()
        with session_scope(engine) as session:
            result = import_register(session, path, vault=PiiVault.from_settings(settings),
                                     actor="bench")
        seconds = time.perf_counter() - started
        print(f"{name}: import {seconds:.1f} s (load {load()})", flush=True)
        with engine.connect() as conn:
            top = [str(c) for c in conn.execute(text(
                "SELECT county FROM house GROUP BY county ORDER BY count(*) DESC, county "
                "LIMIT 2")).scalars()]
        if len(top) < 2:
            raise SystemExit(f"the register has houses in {top} only: use more --rows")
        codes = codes_in_parallel(engine, top)
        print(f"{name}: codes {codes['seconds']}, wall {codes['wall']:.1f} s "
              f"(load {load()})", flush=True)
        return {"name": name, "rows": result.read, "houses": result.counts["houses_added"],
                "bound": bound, "import": seconds, "counties": top, **codes}
    finally:
        engine.dispose()


def print_table(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    print(f"\n| {first['rows']:,} register rows ({first['houses']:,} houses) "
          + "".join(f"| {row['name']} " for row in rows) + "|")
    print("| --- " + "| ---: " * len(rows) + "|")

    def line(label: str, cell: Any) -> None:
        print(f"| {label} " + "".join(f"| {cell(row)} " for row in rows) + "|")

    line("raw COPY of the file (lower bound)", lambda r: f"{r['bound']:.2f} s")
    line("`import_register`", lambda r: f"{r['import']:.1f} s ({r['import'] / r['bound']:.0f}x)")
    for index in range(2):
        line(f"`codes assign` county {index + 1} (houses, s)",
             lambda r, i=index: f"{r['counties'][i]}: {r['coded'][r['counties'][i]]:,} "
                                f"in {r['seconds'][r['counties'][i]]:.1f} s")
    line("both jobs at once, wall", lambda r: f"{r['wall']:.1f} s")
    line("parallelism (sum of jobs / wall)", lambda r: f"{r['parallelism']:.2f}")
    line("work transactions overlapped", lambda r: "yes" if r["overlapped"] else "no")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000,
                        help="register rows (about; 1000000 for the issue's figure)")
    parser.add_argument("--shards", type=int, default=32, help="shards per distributed table")
    parser.add_argument("--keep", type=Path, help="keep the generated register in DIR")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cimbench-citus-", dir="/tmp"))
    settings = Settings(var_dir=root, secret_key_b64="a" * 43 + "=")
    single = EmbeddedCluster(root / "single")
    nodes = LocalCitusCluster(root / "citus", workers=2, shard_count=args.shards)
    try:
        out = args.keep or root / "demo"
        path = out / "register.csv"
        houses = max(100, round(args.rows / ROWS_PER_HOUSE))
        if not path.exists():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cimhouse.cli.main", "demo", "generate",
                            "--houses", str(houses), "--seed", "1", "--out", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
            print(f"generated {houses:,} houses in {time.perf_counter() - started:.1f} s "
                  f"(load {load()})", flush=True)
        single.start()
        nodes.start()
        print(f"load average at the start (1/5/15 min): {load()} on {os.cpu_count()} cores")
        results = [measure("single node", single, settings, path, None),
                   measure(f"Citus 1+2, {args.shards} shards", nodes, settings, path,
                           args.shards)]
        print_table(results)
        print(f"\nload average at the end (1/5/15 min): {load()} on {os.cpu_count()} cores")
    finally:
        nodes.destroy()
        single.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
