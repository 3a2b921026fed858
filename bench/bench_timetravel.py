"""Benchmark: time travel (asOf), next to the same reads of the current state.

Run: .venv/bin/python bench/bench_timetravel.py [--houses N --buildings M --changes F]
     (default 20,000 houses; --houses 1000000 --buildings 10000 on a quiet machine only)

One throwaway cluster, data as bench_assign_codes.py (南湖区, estates, buildings, houses),
created two years ago; then a history: a fraction ``--changes`` of the houses changed
status once on a random day of the last year (``change_log`` with the previous status),
and every tenth of those was demolished a few days later (code retired). Measured, median of
``--rounds`` runs each, for a day 30 days ago and a day 300 days ago:

- ``statistics`` of the county (compute_statistics: houses valid on D, status on D, persons)
  next to the same figures of today without rewinding (one GROUP BY over the house table
  plus the living relations: the lower bound);
- the first page (50) of the county's houses asOf D (as_of_select, rewound) next to the same
  page of the current rows (``SELECT ... ORDER BY county, id LIMIT 51``: the lower bound).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics as stats
import time
from collections.abc import Callable
from typing import Any

from bench_assign_codes import COUNTY, populate
from harness import bench_cluster, print_load
from sqlalchemy import Engine, select, text

from cimhouse.coding.assign_codes import assign_codes
from cimhouse.db import session_scope
from cimhouse.graphql.statistics import compute_statistics
from cimhouse.schema import House
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.timetravel.rewind_rows import as_of_select, rewind

HISTORY = """
WITH picked AS (
    SELECT county, id, code, now() - (random() * 365 || ' days')::interval AS at
    FROM house WHERE random() < :share),
logged AS (
    INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                            previous, current, changed_at)
    SELECT county, 'house', code, 'update', 'bench', 'change_status',
           jsonb_build_object('status', 'in_use'), jsonb_build_object('status', 'out_of_use'),
           at FROM picked RETURNING 1)
UPDATE house h SET status = 'out_of_use' FROM picked p
WHERE h.county = p.county AND h.id = p.id"""
DEMOLISH = """
WITH picked AS (
    SELECT h.county, h.id, h.code, c.changed_at + interval '3 days' AS at
    FROM house h JOIN change_log c ON c.county = h.county AND c.object_id = h.code
    WHERE h.status = 'out_of_use' AND h.id % 10 = 0),
logged AS (
    INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                            previous, current, changed_at)
    SELECT county, 'house', code, 'update', 'bench', 'retire_house',
           jsonb_build_object('status', 'out_of_use'),
           jsonb_build_object('status', 'demolished'), at FROM picked RETURNING 1),
retired AS (
    UPDATE code_registry r SET status = 'retired', retired_at = p.at, retire_reason = 'bench'
    FROM picked p WHERE r.county = p.county AND r.code = p.code RETURNING 1)
UPDATE house h SET status = 'demolished' FROM picked p
WHERE h.county = p.county AND h.id = p.id"""
RELATIONS = """
INSERT INTO person (name, id_hash, id_cipher, id_masked, birth_date)
SELECT '居民' || id, sha256(id::text::bytea), '\\x00', 'masked', date '1950-01-01' + (id % 20000)::int
FROM house WHERE id % 2 = 0;
INSERT INTO person_house (county, person_id, house_id, relation, valid_from)
SELECT h.county, p.id, h.id, 'resident', date '2020-01-01'
FROM house h JOIN person p ON p.name = '居民' || h.id"""
BOUND_STATS = """
SELECT status, count(*) FROM house WHERE county = :county GROUP BY status;
SELECT count(DISTINCT ph.person_id) FROM person_house ph JOIN house h
  ON h.county = ph.county AND h.id = ph.house_id WHERE h.county = :county"""


def prepare(engine: Engine, share: float) -> int:
    with session_scope(engine) as session:
        assign_codes(session, COUNTY, actor="bench-setup")  # the houses get their codes
    with session_scope(engine) as session:
        session.execute(text("UPDATE house SET created_at = now() - interval '2 years'"))
        session.execute(text("UPDATE code_registry SET issued_at = now() - interval '2 years'"))
        session.execute(text(HISTORY), {"share": share})
        session.execute(text(DEMOLISH))
        for sql in RELATIONS.split(";"):
            session.execute(text(sql))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        return int(conn.execute(text("SELECT count(*) FROM change_log")).scalar_one())


def median_ms(run: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return stats.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=20_000)
    parser.add_argument("--buildings", type=int, default=200)
    parser.add_argument("--changes", type=float, default=0.2,
                        help="share of houses with a status change in the last year")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with bench_cluster() as bench:
        engine = bench.database("timetravel")
        populate(engine, args.houses, args.buildings)
        changes = prepare(engine, args.changes)
        print(f"data: {args.houses} houses, {changes} change_log rows", flush=True)
        with session_scope(engine) as session:
            scope = with_county_keys(session, parse_scope(COUNTY))

            def bound_stats() -> None:
                for sql in BOUND_STATS.split(";"):
                    session.execute(text(sql), {"county": COUNTY}).all()

            def bound_page() -> None:
                session.execute(select(House).where(House.county == COUNTY)
                                .order_by(House.county, House.id).limit(51)).all()

            bound_s, bound_p = median_ms(bound_stats, args.rounds), \
                median_ms(bound_page, args.rounds)
            print(f"statistics of today, no rewinding (bound): {bound_s:9.1f} ms")
            print(f"first page of 50 houses, current (bound):  {bound_p:9.1f} ms")
            today = median_ms(lambda: compute_statistics(session, scope, COUNTY, None,
                                                         dt.date.today()), args.rounds)
            print(f"statistics asOf today (nothing to undo):   {today:9.1f} ms "
                  f"({today / bound_s:.1f}x bound)")
            for back in (30, 300):
                day = dt.date.today() - dt.timedelta(days=back)

                def timed_stats(day: dt.date = day) -> None:
                    compute_statistics(session, scope, COUNTY, None, day)

                def timed_page(day: dt.date = day) -> None:
                    rows = session.execute(as_of_select(House, day, scope).order_by(
                        House.county, House.id).limit(51)).all()
                    [rewind(row, undo) for row, undo in rows]

                took_s = median_ms(timed_stats, args.rounds)
                took_p = median_ms(timed_page, args.rounds)
                later = session.execute(text(
                    "SELECT count(*) FROM change_log WHERE changed_at >= :d"),
                    {"d": day + dt.timedelta(days=1)}).scalar_one()
                print(f"statistics asOf {day} ({later} changes after it): {took_s:9.1f} ms "
                      f"({took_s / bound_s:.1f}x bound)")
                print(f"houses(asOf: {day}, first: 50):              {took_p:9.1f} ms "
                      f"({took_p / bound_p:.1f}x bound)")
        engine.dispose()
        print_load()


if __name__ == "__main__":
    main()
