"""Benchmark: import a generated housing register end to end, next to raw COPY of the file.

Run: .venv/bin/python bench/bench_register_import.py [--rows 1000000] [--statements]
(or `make bench`); --statements also prints the slowest SQL statements of the first import.

One throwaway cluster, migrated, with the Zhejiang regions. The register (one row per
person-house relation, clean UTF-8) is generated in a child process, so its memory does not
count. The lower bound is COPY of the same file into an unindexed table of text columns;
the measured figure is `import_register` (read, validate, parse addresses, encrypt, stage,
set-based upsert, commit), then the idempotent re-import. Peak memory is the importing
process's maximum resident set size (the generator ran in another process) and that of the
largest validation worker (forked from it, so most of its pages are shared).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from harness import bench_cluster, copy_bound, time_statements

from cimhouse.db import session_scope
from cimhouse.importers.load_regions import load_regions
from cimhouse.importers.register.import_register import import_register
from cimhouse.pii import PiiVault

ROWS_PER_HOUSE = 5.6  # what the generator's household mix yields


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="register rows (about)")
    parser.add_argument("--statements", action="store_true",
                        help="print the slowest statements of the first import")
    args, _ = parser.parse_known_args()
    with bench_cluster() as bench:
        root = bench.root
        settings = bench.settings
        engine = bench.database("bench")
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
        out = root / "demo"
        houses = max(1, round(args.rows / ROWS_PER_HOUSE))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cimhouse.cli.main", "demo", "generate",
                        "--houses", str(houses), "--seed", "1", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        generated = time.perf_counter() - started
        path = out / "register.csv"
        size_mb = path.stat().st_size / 1e6

        bound = copy_bound(engine, path)

        vault = PiiVault.from_settings(settings)
        timings = time_statements(engine) if args.statements else []
        base_mb = peak_mb()
        started = time.perf_counter()
        with session_scope(engine) as session:
            first = import_register(session, path, vault=vault, actor="bench")
        load = time.perf_counter() - started
        load_mb = peak_mb()
        slowest = sorted(timings, reverse=True)[:12]
        started = time.perf_counter()
        with session_scope(engine) as session:
            again = import_register(session, path, vault=vault, actor="bench")
        reload = time.perf_counter() - started
        rows = first.read
        print(f"rows: {rows} ({size_mb:.0f} MB CSV, {first.counts['houses_added']} houses, "
              f"{first.counts['persons_added']} persons; generated in {generated:.1f} s)")
        print(f"raw COPY (lower bound):   {bound:7.2f} s  {rows / bound:9.0f} rows/s")
        print(f"import_register, empty:   {load:7.2f} s  {rows / load:9.0f} rows/s  "
              f"({load / bound:.1f}x bound; accepted {first.accepted}, rejected "
              f"{first.rejected})")
        print(f"  of which read+validate+stage {first.seconds['read_validate_stage']:.1f} s "
              f"({first.workers} worker processes), set-based apply "
              f"{first.seconds['apply']:.1f} s")
        print(f"import_register, again:   {reload:7.2f} s  {rows / reload:9.0f} rows/s  "
              f"({reload / bound:.1f}x bound; houses added {again.counts['houses_added']}, "
              f"updated {again.counts['houses_updated']})")
        print(f"peak memory (max RSS):    {load_mb:7.0f} MB after the import "
              f"({base_mb:.0f} MB before), largest worker {first.worker_peak_mb:.0f} MB "
              f"(target <= 1024 MB)")
        print(f"target end to end <= 120 s: {'met' if load <= 120 else 'NOT met'}")
        for seconds, statement in slowest:
            print(f"  {seconds:6.2f} s  {statement}")
        engine.dispose()


if __name__ == "__main__":
    main()
