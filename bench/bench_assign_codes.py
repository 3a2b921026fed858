"""Benchmark: assign house codes to 1,000,000 uncoded houses in 10,000 buildings.

Run: .venv/bin/python bench/bench_assign_codes.py [--houses N --buildings M]
     (or `make bench`; small runs: --houses 20000 --buildings 200)

One throwaway cluster. A template database gets the Zhejiang regions, estates and buildings
spread over 20 communities of 南湖区 (already coded) and the uncoded houses (units, floors,
rooms, inserted in reverse order so that ids do not follow the ordering rule). Two identical
clones are made from it:

- lower bound: ONE set-based SQL statement that numbers the same houses in the same order
  (the ordering fragments of cimhouse.coding.ordering) and writes each code onto its house;
- measured: ``assign_codes`` on the whole province, which in addition locks, checks counters
  and capacity, writes code_registry, code_lineage and code_counter, and records the job.
"""

from __future__ import annotations

import argparse
import time

from harness import bench_cluster, print_load
from sqlalchemy import Engine, text

from cimhouse.coding import ordering
from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.namespace import check_char_sql, digits_sum_sql, number_sum_sql
from cimhouse.db import session_scope
from cimhouse.importers.load_regions import load_regions

COUNTY = "330402"
COMMUNITIES = 20


def populate(engine: Engine, houses: int, buildings: int) -> None:
    per_building = max(1, houses // buildings)
    estates_per_community = 5
    buildings_per_estate = max(1, buildings // (COMMUNITIES * estates_per_community))
    with session_scope(engine) as session:
        load_regions(session, actor="bench")
        session.execute(text("""
            INSERT INTO estate (county, name, region_code, kind, status)
            SELECT :county, '小区' || e, c.code, 'commodity', 'in_use'
            FROM (SELECT code FROM region WHERE level = 5 AND code LIKE :county || '%'
                  ORDER BY code LIMIT :communities) AS c, generate_series(1, :estates) AS e"""),
            {"county": COUNTY, "communities": COMMUNITIES, "estates": estates_per_community})
        session.execute(text("""
            INSERT INTO building (county, estate_id, region_code, building_label, status)
            SELECT e.county, e.id, e.region_code, n || '幢', 'in_use'
            FROM estate e, generate_series(:n, 1, -1) AS n ORDER BY e.id, n DESC"""),
            {"n": buildings_per_estate})
    with session_scope(engine) as session:
        assign_codes(session, COUNTY, actor="bench-setup")
    with session_scope(engine) as session:
        session.execute(text("""
            INSERT INTO house (county, building_id, region_code, unit_label, floor_number,
                               room_label, use, status)
            SELECT b.county, b.id, b.region_code, (s / 50 + 1) || '单元', (s % 50) / 2 + 1,
                   (((s % 50) / 2 + 1) * 100 + s % 2 + 1) || '室', 'residential', 'in_use'
            FROM building b, generate_series(:per - 1, 0, -1) AS s
            ORDER BY b.id DESC, s DESC"""), {"per": per_building})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


BOUND_SQL = f"""
UPDATE house t
SET code = n.prefix || lpad(n.number::text, 5, '0')
           || {check_char_sql("n.prefix_sum + " + number_sum_sql("n.number", 20, 5))}
FROM (SELECT h.county, h.id, b.prefix, b.prefix_sum,
             row_number() OVER (PARTITION BY h.county, h.building_id
                                ORDER BY {ordering.house_order('h')}) AS number
      FROM house h
      JOIN (SELECT county, id, left(code, 19) AS prefix,
                   {digits_sum_sql("left(code, 19)", 19)} AS prefix_sum FROM building) AS b
        ON b.county = h.county AND b.id = h.building_id
      WHERE h.code IS NULL) AS n
WHERE t.county = n.county AND t.id = n.id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=1_000_000)
    parser.add_argument("--buildings", type=int, default=10_000)
    args = parser.parse_args()
    with bench_cluster() as bench:
        template = bench.database("template_codes")
        started = time.perf_counter()
        populate(template, args.houses, args.buildings)
        with template.connect() as conn:
            houses = conn.execute(text("SELECT count(*) FROM house")).scalar_one()
            buildings = conn.execute(text("SELECT count(*) FROM building")).scalar_one()
        template.dispose()
        print(f"data: {houses} uncoded houses in {buildings} coded buildings "
              f"(built in {time.perf_counter() - started:.1f} s)", flush=True)
        bound_engine = bench.database("bound", template="template_codes")
        with bound_engine.begin() as conn:
            conn.execute(text("SET LOCAL jit = off"))  # as assign_codes does: the best bound
            started = time.perf_counter()
            numbered = conn.execute(text(BOUND_SQL)).rowcount
            bound = time.perf_counter() - started
        bound_engine.dispose()

        engine = bench.database("measured", template="template_codes")
        started = time.perf_counter()
        with session_scope(engine) as session:
            result = assign_codes(session, "33", actor="bench")
        measured = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(engine) as session:
            again = assign_codes(session, "33", actor="bench")
        rerun = time.perf_counter() - started
        engine.dispose()

        print(f"one UPDATE numbering the same rows (lower bound): {bound:7.2f} s "
              f"{numbered / bound:10.0f} codes/s")
        print(f"assign_codes (registry, lineage, counters, job):  {measured:7.2f} s "
              f"{result.houses / measured:10.0f} codes/s  ({measured / bound:.2f}x bound; "
              f"issued {result.issued})")
        print(f"assign_codes again (idempotent, issues {again.issued}):     {rerun:7.2f} s")
        print_load()


if __name__ == "__main__":
    main()
