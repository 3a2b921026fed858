"""Benchmark: the register import with the household columns next to the same file without.

Run: .venv/bin/python bench/bench_households.py [--rows 200000] (or `make bench`).

One throwaway cluster with the Zhejiang regions. The demo register (``demo generate``,
one row per person-house relation, households with 户号/户主姓名/与户主关系/户别) is
generated in a child process; a copy without the four household columns is written next to
it. Each file is imported into its own fresh database (so neither finds the other's rows).
The lower bound is COPY of the household file into an unindexed table of text columns; the
household cost is the difference between the two imports (validation of the columns, the
household conflict checks, households and memberships with their ``change_log`` rows).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

from harness import bench_cluster, copy_bound

from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.migrate import upgrade
from cimhouse.demo.generate_demo import REGISTER_HEADER
from cimhouse.importers.load_regions import load_regions
from cimhouse.importers.register.import_register import RegisterImportResult, import_register
from cimhouse.pii import PiiVault
from cimhouse.settings import Settings

ROWS_PER_HOUSE = 5.6  # what the generator's household mix yields
HOUSEHOLD_COLUMNS = ("户号", "户主姓名", "与户主关系", "户别")


def without_households(source: Path, target: Path) -> None:
    keep = [i for i, name in enumerate(REGISTER_HEADER) if name not in HOUSEHOLD_COLUMNS]
    with source.open(encoding="utf-8", newline="") as inp, \
            target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for row in csv.reader(inp):
            writer.writerow([row[i] for i in keep])



def timed_import(cluster: EmbeddedCluster, settings: Settings, name: str,
                 path: Path) -> tuple[float, RegisterImportResult]:
    cluster.ensure_database(name)
    engine = make_engine(settings, url=cluster.url(name))
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
        started = time.perf_counter()
        with session_scope(engine) as session:
            result = import_register(session, path, vault=PiiVault.from_settings(settings),
                                     actor="bench")
        return time.perf_counter() - started, result
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="register rows (about)")
    args, _ = parser.parse_known_args()
    with bench_cluster() as bench:
        root, cluster = bench.root, bench.cluster
        settings = bench.settings
        out = root / "demo"
        houses = max(1, round(args.rows / ROWS_PER_HOUSE))
        subprocess.run([sys.executable, "-m", "cimhouse.cli.main", "demo", "generate",
                        "--houses", str(houses), "--seed", "1", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        with_hh = out / "register.csv"
        plain = out / "register-plain.csv"
        without_households(with_hh, plain)
        cluster.ensure_database("bound")
        engine = make_engine(settings, url=cluster.url("bound"))
        bound = copy_bound(engine, with_hh)
        engine.dispose()
        plain_s, plain_r = timed_import(cluster, settings, "plain", plain)
        hh_s, hh_r = timed_import(cluster, settings, "households", with_hh)
        rows = hh_r.read
        print(f"rows: {rows} ({hh_r.counts['houses_added']} houses, "
              f"{hh_r.counts.get('households_added', 0)} households, "
              f"{hh_r.counts.get('members_added', 0)} members)")
        print(f"raw COPY (lower bound):        {bound:7.2f} s  {rows / bound:9.0f} rows/s")
        print(f"import without household cols: {plain_s:7.2f} s  {rows / plain_s:9.0f} rows/s  "
              f"({plain_s / bound:.1f}x bound; rejected {plain_r.rejected}; apply "
              f"{plain_r.seconds['apply']:.1f} s)")
        print(f"import with household columns:  {hh_s:7.2f} s  {rows / hh_s:9.0f} rows/s  "
              f"({hh_s / bound:.1f}x bound; rejected {hh_r.rejected}; apply "
              f"{hh_r.seconds['apply']:.1f} s)")
        print(f"household cost: {hh_s - plain_s:+.2f} s ({(hh_s / plain_s - 1) * 100:+.0f} %)")


if __name__ == "__main__":
    main()
