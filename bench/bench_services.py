"""Benchmark: gap analysis for all of Jiaxing (3304) over generated data.

Run: .venv/bin/python bench/bench_services.py                 (1,000,000 houses, 5,500
     facilities; about 2-4 minutes of data generation on 2 cores, then the timed part)
     .venv/bin/python bench/bench_services.py --houses 50000   (a quick small run)

Data is generated in SQL (generate_series straight into the real, migrated and indexed
tables) on a throwaway cluster: the real Jiaxing communities (loaded by load_regions), one
estate (with a ~150 m square boundary) per ``houses/200``, 5 buildings per estate, 40 houses
per building, ``2.2 * houses`` persons with ages spread over 0-95, one current resident
relation each and a registered relation elsewhere for every tenth, and facilities of the
11 categories spread over the city.

Timed: ``find_gaps`` for scope 3304 (coverage of every estate x 11 categories with the KNN +
exact-metres step, people per estate and age group, ranking), then the service index from the
same rows, the elderly living alone of the whole city, and the gaps of one community.
Lower bounds from the same run: the bare KNN query for one category (no exact step, no
population) and the bare join + count of current residents by estate (no ages, no
registered-only rule); together they are what any answer must at least touch.
"""

from __future__ import annotations

import argparse
import time

from harness import bench_cluster
from sqlalchemy import text

from cimhouse.db import session_scope
from cimhouse.importers.load_regions import load_regions
from cimhouse.scope import parse_scope
from cimhouse.services.elderly import list_elderly_living_alone
from cimhouse.services.gaps import find_gaps, load_category_coverage
from cimhouse.services.service_index import compute_service_index

GENERATE = [
    ("communities", """
        CREATE TABLE bench_community AS
        SELECT row_number() OVER (ORDER BY code) AS n, code,
               120.30 + random() * 1.0 AS lon, 30.40 + random() * 0.6 AS lat
        FROM region WHERE level = 5 AND code LIKE '3304%'"""),
    ("estates", """
        INSERT INTO estate (county, id, code, name, region_code, kind, status, boundary)
        SELECT left(c.code, 6), g, NULL, '小区' || g, c.code, 'commodity', 'in_use',
               ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint(
                   c.lon + (random() - 0.5) * 0.02, c.lat + (random() - 0.5) * 0.02), 4490),
                   0.0008))
        FROM generate_series(1, :estates) g
        JOIN bench_community c ON c.n = 1 + (g % (SELECT count(*) FROM bench_community))"""),
    ("buildings", """
        INSERT INTO building (county, id, estate_id, region_code, status, footprint)
        SELECT e.county, (e.id - 1) * 5 + k, e.id, e.region_code, 'in_use',
               ST_Multi(ST_Expand(ST_Translate(ST_Centroid(e.boundary),
                   (k - 3) * 0.0002, 0), 0.00005))
        FROM estate e CROSS JOIN generate_series(1, 5) k"""),
    ("houses", """
        INSERT INTO house (county, id, building_id, region_code, room_label, use, status)
        SELECT b.county, (b.id - 1) * 40 + k, b.id, b.region_code, k::text, 'residential',
               'in_use'
        FROM building b CROSS JOIN generate_series(1, 40) k"""),
    ("persons", """
        INSERT INTO person (id, name, id_hash, id_cipher, id_masked, birth_date)
        SELECT g, '测试', sha256(int8send(g)), '\\x00', '330402********0000',
               date '2026-06-30' - (random() * 95 * 365.25)::int
        FROM generate_series(1, :persons) g"""),
    ("relations", """
        INSERT INTO person_house (county, id, person_id, house_id, relation)
        SELECT h.county, p.g, p.g, h.id, 'resident'
        FROM (SELECT g, 1 + floor(random() * :houses)::bigint AS house_id
              FROM generate_series(1, :persons) g) p
        JOIN house h ON h.id = p.house_id"""),
    ("registered relations (every 10th person, another house)", """
        INSERT INTO person_house (county, id, person_id, house_id, relation)
        SELECT h.county, :persons + p.g, p.g, h.id, 'registered'
        FROM (SELECT g, 1 + floor(random() * :houses)::bigint AS house_id
              FROM generate_series(10, :persons, 10) g) p
        JOIN house h ON h.id = p.house_id"""),
    ("facilities", """
        INSERT INTO facility (county, category, name, geom, region_code, status)
        SELECT left(c.code, 6),
               (ARRAY['education','medical','elderly_care','childcare','sports','culture',
                      'transport','commerce','property_service','security',
                      'governance'])[1 + g % 11],
               '设施' || g,
               ST_SetSRID(ST_MakePoint(c.lon + (random() - 0.5) * 0.03,
                                       c.lat + (random() - 0.5) * 0.03), 4490),
               c.code, 'in_use'
        FROM generate_series(1, :facilities) g
        JOIN bench_community c ON c.n = 1 + (g % (SELECT count(*) FROM bench_community))"""),
]

KNN_BOUND = """
    SELECT count(knn.d) FROM estate e CROSS JOIN LATERAL (
        SELECT f.geom <-> e.boundary AS d FROM facility f
        WHERE f.category = 'childcare' AND f.status = 'in_use'
        ORDER BY f.geom <-> ST_PointOnSurface(e.boundary) LIMIT 1) knn
    WHERE e.region_code LIKE '3304%'"""
POPULATION_BOUND = """
    SELECT count(*) FROM (
        SELECT b.estate_id, count(*) FROM person_house ph
        JOIN house h ON h.county = ph.county AND h.id = ph.house_id
        JOIN building b ON b.county = h.county AND b.id = h.building_id
        WHERE ph.valid_to IS NULL GROUP BY b.estate_id) t"""


def timed(label: str, func):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = func()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:8.2f} s", flush=True)
    return value, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=1_000_000)
    parser.add_argument("--facilities", type=int, default=5_500)
    parser.add_argument("--persons-per-house", type=float, default=2.2)
    args, _ = parser.parse_known_args()
    houses = args.houses - args.houses % 200
    sizes = {"houses": houses, "estates": houses // 200,
             "persons": int(houses * args.persons_per_house), "facilities": args.facilities}
    with bench_cluster() as bench:
        engine = bench.database("bench")
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
        print(f"sizes: {sizes}", flush=True)
        for label, sql in GENERATE:
            with session_scope(engine) as session:
                session.execute(text("SELECT setseed(0.42)"))
                timed(f"generate {label}",
                      lambda sql=sql, session=session: session.execute(text(sql), sizes))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            timed("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
        scope = parse_scope("3304")
        with session_scope(engine) as session:
            _, knn = timed("lower bound: bare KNN, one category (childcare)",
                           lambda: session.execute(text(KNN_BOUND)).scalar_one())
            _, pop = timed("lower bound: residents per estate (join + count)",
                           lambda: session.execute(text(POPULATION_BOUND)).scalar_one())
            result, gaps = timed("find_gaps(3304): 11 categories, ranked",
                                 lambda: find_gaps(session, scope))
            rows, _ = timed("load_category_coverage(3304) again (for the index)",
                              lambda: load_category_coverage(session, scope))
            scores, _ = timed("compute_service_index from those rows",
                                lambda: compute_service_index(session, scope, rows=rows))
            alone, _ = timed("list_elderly_living_alone(3304), 60+, all rows",
                             lambda: list_elderly_living_alone(session, scope))
            community = parse_scope(session.execute(text(
                "SELECT min(region_code) FROM estate")).scalar_one())
            timed(f"find_gaps({community.code}): one community",
                  lambda: find_gaps(session, community))
        print(f"estate gaps {len(result.estates)}, community gaps {len(result.communities)}, "
              f"communities scored {len(scores)}, elderly living alone {len(alone)}")
        print(f"find_gaps: {gaps:.2f} s = {gaps / (knn + pop):.1f}x the summed bounds "
              f"({knn:.2f} s KNN for 1 of 11 categories + {pop:.2f} s residents); "
              f"11 x KNN bound + residents bound = {11 * knn + pop:.2f} s; budget 30 s")
        engine.dispose()


if __name__ == "__main__":
    main()
