"""Benchmark: the change feed, numbering and a consumer catching up, next to bare SQL.

Run: .venv/bin/python bench/bench_feed.py [--houses N --buildings M]   (default 100,000)
     (the issue's 1,000,000-change catch-up: --houses 500000 --buildings 5000 gives about
     1,000,000 changes, on a quiet machine only)

One throwaway cluster, data as bench_assign_codes.py (南湖区, estates, buildings, houses),
then codes assigned (one ``code_lineage`` row per object) and one ``change_log`` update per
house: about 2 changes per house. Two clones:

- numbering: ``stamp_changes`` (batches of 5,000 per county, scope looked up per batch)
  next to ONE ``UPDATE ... row_number()`` numbering the same rows (lower bound, no scope);
- catching up: ``read_changes`` pages of 1,000 from cursor 0 to the end, all kinds, no
  scope and scoped to one community, next to ``COPY (SELECT ... ORDER BY seq) TO STDOUT`` of
  the same rows (lower bound: no paging, no masking, no Python objects).
"""

from __future__ import annotations

import argparse
import time

import psycopg
from bench_assign_codes import COUNTY, populate
from harness import bench_cluster, print_load
from sqlalchemy import Engine, text

from cimhouse.coding.assign_codes import assign_codes
from cimhouse.db import session_scope
from cimhouse.feed.read_changes import MAX_PAGE, read_changes
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.scope import parse_scope, with_county_keys

BOUND_STAMP = """
UPDATE {table} t SET seq = n.seq + :base
FROM (SELECT county, id, row_number() OVER (ORDER BY county, {time}, id) AS seq
      FROM {table} WHERE seq IS NULL) n
WHERE t.county = n.county AND t.id = n.id"""
COPY_SQL = """COPY (
    SELECT seq, object_kind, object_id, operation, changed_at, actor, source, previous, current
    FROM change_log WHERE seq IS NOT NULL
    UNION ALL
    SELECT seq, 'code', child_code, event, recorded_at, actor, NULL, NULL, NULL
    FROM code_lineage WHERE seq IS NOT NULL ORDER BY 1) TO STDOUT"""


def add_changes(engine: Engine) -> int:
    with session_scope(engine) as session:
        assign_codes(session, COUNTY, actor="bench-setup")
        session.execute(text("""
            INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                    previous, current)
            SELECT county, 'house', id::text, 'update', 'bench', 'bench',
                   jsonb_build_object('area_m2', NULL), jsonb_build_object('area_m2', 90.5)
            FROM house ORDER BY id"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        return int(conn.execute(text(
            "SELECT (SELECT count(*) FROM change_log) + (SELECT count(*) FROM code_lineage)"
        )).scalar_one())


def catch_up(engine: Engine, scope: str | None) -> tuple[int, float]:
    started = time.perf_counter()
    read, after = 0, 0
    with session_scope(engine) as session:
        parsed = with_county_keys(session, parse_scope(scope)) if scope else None
        while True:
            page = read_changes(session, scope=parsed, after=after, first=MAX_PAGE,
                                with_persons=True)
            read += len(page.changes)
            after = int(page.end_cursor)
            if not page.has_more:
                return read, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=100_000)
    parser.add_argument("--buildings", type=int, default=1_000)
    args = parser.parse_args()
    with bench_cluster() as bench:
        cluster = bench.cluster
        template = bench.database("template_feed")
        populate(template, args.houses, args.buildings)
        total = add_changes(template)
        template.dispose()
        print(f"data: {total} unnumbered changes ({args.houses} houses)", flush=True)
        bound_engine = bench.database("bound", template="template_feed")
        started = time.perf_counter()
        with bound_engine.begin() as conn:
            base = 0
            for table, col in (("change_log", "changed_at"), ("code_lineage", "recorded_at")):
                base += conn.execute(text(BOUND_STAMP.format(table=table, time=col)),
                                     {"base": base}).rowcount
        bound = time.perf_counter() - started
        bound_engine.dispose()

        engine = bench.database("measured", template="template_feed")
        started = time.perf_counter()
        result = stamp_changes(engine)
        stamped = time.perf_counter() - started
        print(f"numbering, one UPDATE (lower bound):      {bound:7.2f} s "
              f"{base / bound:10.0f} changes/s")
        print(f"numbering, stamp_changes (with scope):    {stamped:7.2f} s "
              f"{result.numbered / stamped:10.0f} changes/s ({stamped / bound:.2f}x bound)")

        with psycopg.connect(cluster.conninfo("measured")) as raw, raw.cursor() as cur:
            started = time.perf_counter()
            copied = 0
            with cur.copy(COPY_SQL) as copy:
                for _ in copy.rows():
                    copied += 1
            copy_s = time.perf_counter() - started
        print(f"catch-up, COPY ... ORDER BY seq (bound):  {copy_s:7.2f} s "
              f"{copied / copy_s:10.0f} changes/s")
        with engine.connect() as conn:
            community = conn.execute(text(
                "SELECT region_code FROM house ORDER BY id LIMIT 1")).scalar_one()
        for scope in (None, community):
            read, took = catch_up(engine, scope)
            label = f"scope {scope}" if scope else "no scope"
            print(f"catch-up, read_changes pages of {MAX_PAGE} ({label}): {took:7.2f} s "
                  f"{read / took:10.0f} changes/s ({read} changes"
                  + (f", {took / copy_s:.2f}x bound)" if not scope else ")"))
        engine.dispose()
        print_load()


if __name__ == "__main__":
    main()
