"""Benchmark: register import and code assignment on a 3-node Citus cluster next to one node.

Run: .venv/bin/python bench/bench_citus.py [--houses 20000 --shards 8]
     (Citus 13.0.5 installed: `make citus`)

Same run, same data: one generated register (Jiaxing, several counties) is imported into a
single PostgreSQL node and into a local Citus cluster (coordinator + 2 workers, Unix sockets,
``--shards`` shards per distributed table, ``cimhouse db distribute``). On each, after the
import, ``assign_codes`` runs for the two counties with the most houses, first one after the
other, then both at once (two sessions: the county locks are independent, and on Citus each
county's rows live on one shard). The lower bound printed next to the import is a raw COPY of
the same file into an unlogged table of the same server.
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

from sqlalchemy import Engine, text

from cimhouse.coding.assign_codes import assign_codes
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.citus_nodes import LocalCitusCluster
from cimhouse.db.distribute import distribute
from cimhouse.db.migrate import upgrade
from cimhouse.importers.load_regions import load_regions
from cimhouse.importers.register.import_register import import_register
from cimhouse.pii import PiiVault
from cimhouse.settings import Settings


def copy_bound(engine: Engine, path: Path) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with path.open("rb") as handle:
            header = handle.readline().decode("utf-8-sig")
        columns = ", ".join(f"c{i} text" for i in range(len(header.split(","))))
        cur.execute(f"CREATE UNLOGGED TABLE copy_bound ({columns})")
        started = time.perf_counter()
        with path.open("rb") as handle, cur.copy(
                "COPY copy_bound FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        raw.commit()
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE copy_bound")
        raw.commit()
        return seconds
    finally:
        raw.close()


def assign_counties(engine: Engine, counties: list[str], *, parallel: bool) -> float:
    def run(county: str) -> None:
        with session_scope(engine) as session:
            assign_codes(session, county, actor="bench")

    started = time.perf_counter()
    if parallel:
        threads = [threading.Thread(target=run, args=(c,)) for c in counties]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for county in counties:
            run(county)
    return time.perf_counter() - started


def measure(name: str, engine: Engine, settings: Settings, path: Path,
            citus_shards: int | None) -> dict[str, object]:
    upgrade(engine)
    with session_scope(engine) as session:
        load_regions(session, actor="bench")
    if citus_shards:
        with engine.connect() as conn:
            distribute(conn, shard_count=citus_shards)
    bound = copy_bound(engine, path)
    vault = PiiVault.from_settings(settings)
    started = time.perf_counter()
    with session_scope(engine) as session:
        result = import_register(session, path, vault=vault, actor="bench")
    load = time.perf_counter() - started
    with engine.connect() as conn:
        top = conn.execute(text(
            "SELECT county, count(*) FROM house GROUP BY county ORDER BY 2 DESC, 1 LIMIT 2")
        ).all()
    counties = [c for c, _ in top]
    sequential = assign_counties(engine, counties, parallel=False)
    coded = {c: n for c, n in top}
    return {"name": name, "rows": result.read, "houses": result.counts["houses_added"],
            "bound": bound, "import": load, "counties": coded, "sequential": sequential}


def parallel_codes(engine: Engine, counties: list[str]) -> float:
    return assign_counties(engine, counties, parallel=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=20_000, help="generated houses (about)")
    parser.add_argument("--shards", type=int, default=8, help="shards per distributed table")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cimbench-citus-", dir="/tmp"))
    settings = Settings(var_dir=root, secret_key_b64="a" * 43 + "=")
    single = EmbeddedCluster(root / "single")
    nodes = LocalCitusCluster(root / "citus", workers=2, shard_count=args.shards)
    try:
        out = root / "demo"
        subprocess.run([sys.executable, "-m", "cimhouse.cli.main", "demo", "generate",
                        "--houses", str(args.houses), "--seed", "1", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        path = out / "register.csv"
        single.start()
        nodes.start()
        results = []
        for name, cluster, shards in (("single node", single, None),
                                      ("citus 1+2", nodes, args.shards)):
            cluster.ensure_database("bench")
            cluster.ensure_database("bench_par")
            engine = make_engine(settings, url=cluster.url("bench"))
            row = measure(name, engine, settings, path, shards)
            engine.dispose()
            # the same import into a second database, then both counties at once
            engine = make_engine(settings, url=cluster.url("bench_par"))
            upgrade(engine)
            with session_scope(engine) as session:
                load_regions(session, actor="bench")
            if shards:
                with engine.connect() as conn:
                    distribute(conn, shard_count=shards)
            with session_scope(engine) as session:
                import_register(session, path, vault=PiiVault.from_settings(settings),
                                actor="bench")
            row["parallel"] = parallel_codes(engine, [str(c) for c in row["counties"]])  # type: ignore[attr-defined]
            engine.dispose()
            results.append(row)
        for row in results:
            print(f"{row['name']:12s} register {row['rows']} rows ({row['houses']} houses): "
                  f"import {row['import']:6.2f} s (raw COPY bound {row['bound']:5.2f} s); "
                  f"codes for {row['counties']}: one after the other "
                  f"{row['sequential']:5.2f} s, both at once {row['parallel']:5.2f} s")
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"machine load average at the end (1/5/15 min): {load} on {os.cpu_count()} cores")
    finally:
        nodes.destroy()
        single.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
