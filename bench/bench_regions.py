"""Benchmark: load the 27,036 Zhejiang regions, next to raw COPY of the same file.

Run: .venv/bin/python bench/bench_regions.py   (or `make bench`)

Both run in one throwaway cluster: the lower bound is COPY of the same CSV into an unindexed
table; the measured figure is `load_regions` (validation, staging, set-based upsert, change
detection) into the migrated schema, first on an empty table, then as an idempotent reload.
"""

from __future__ import annotations

import time

from harness import bench_cluster

from cimhouse.db import session_scope
from cimhouse.importers.load_regions import load_regions, packaged_regions_path


def main() -> None:
    with bench_cluster() as bench:
        engine = bench.database("bench")
        path = packaged_regions_path()
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("CREATE UNLOGGED TABLE copy_bound (code text, code12 text, name text, "
                        "level text, parent text)")
            started = time.perf_counter()
            with path.open("rb") as handle, cur.copy(
                    "COPY copy_bound FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(handle.read())
            raw.commit()
            bound = time.perf_counter() - started
        finally:
            raw.close()
        started = time.perf_counter()
        with session_scope(engine) as session:
            first = load_regions(session, actor="bench")
        load = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(engine) as session:
            again = load_regions(session, actor="bench")
        reload = time.perf_counter() - started
        rows = first.read
        print(f"rows: {rows}")
        print(f"raw COPY (lower bound):  {bound:6.3f} s  {rows / bound:10.0f} rows/s")
        print(f"load_regions, empty DB:  {load:6.3f} s  {rows / load:10.0f} rows/s  "
              f"({load / bound:.1f}x bound; added {first.added})")
        print(f"load_regions, reload:    {reload:6.3f} s  {rows / reload:10.0f} rows/s  "
              f"({reload / bound:.1f}x bound; added {again.added}, renamed {again.renamed})")
        engine.dispose()


if __name__ == "__main__":
    main()
