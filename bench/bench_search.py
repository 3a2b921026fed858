"""Benchmark: address search (``search_addresses``) on many houses, next to its lower bound.

Run: .venv/bin/python bench/bench_search.py                      (200,000 houses)
     .venv/bin/python bench/bench_search.py --houses 1000000     (the issue's size)
     .venv/bin/python bench/bench_search.py --houses 20000 --queries 200   (quick)

A throwaway cluster gets the real Zhejiang regions and generated houses (set-based SQL): the
estates of the demo's name generator over every Jiaxing community, 10 buildings x 2 units x
10 floors x 2 rooms each, register-style labels and normalised addresses, every tenth estate
with a former name. Queries are typed the ways tests/test_address_search.py types them
(as registered, without regions, 1-1-201, Chinese numerals, full-width digits, a typo in the
estate name, the former name), for random houses, one at a time, scoped to the city (3304).

Timed per query: one search as the API runs it (a session and transaction, the text split,
the estate trigram probe, the house statement). Lower bound, same run, same houses: the
exact normalised address looked up in the (county, address_norm) index on a raw psycopg
connection (what a caller who already knows the stored form would pay).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from cimhouse.addressing.gazetteer import Gazetteer
from cimhouse.addressing.search_addresses import search_addresses
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.migrate import upgrade
from cimhouse.demo.places import estate_names
from cimhouse.importers.load_regions import load_regions
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings

KEY = "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoMTI="  # base64 of 32 bytes, synthetic data only
HOUSES_PER_ESTATE = 400
FORMER = ("红旗新村", "纺织厂宿舍", "东风新村", "人民新村", "粮站宿舍")
CONFUSED = dict(zip("怡景锦苑园府花家嘉华庭雅都金阳光东方梅香", "恰京绵宛圆俯华佳加化廷亚部全杨广冬芳海番",
                    strict=True))

GENERATE = """
CREATE TEMP TABLE bc AS
SELECT row_number() OVER (ORDER BY r5.code) - 1 AS n, r5.code,
       r1.name || r2.name || r3.name || r4.name || r5.name AS path
FROM region r5 JOIN region r4 ON r4.code = r5.parent_code
JOIN region r3 ON r3.code = r4.parent_code JOIN region r2 ON r2.code = r3.parent_code
JOIN region r1 ON r1.code = r2.parent_code
WHERE r5.level = 5 AND r5.valid_to IS NULL AND r5.code LIKE '3304%';
INSERT INTO estate (county, code, name, aliases, region_code, kind, status, address)
SELECT left(c.code, 6), c.code || lpad((n.n / cnt.c + 1)::text, 3, '0') || '000000000'
       || cimhouse_mod11_2(c.code || lpad((n.n / cnt.c + 1)::text, 3, '0') || '000000000'),
       n.name, n.aliases, c.code, 'commodity', 'in_use', c.path
FROM bench_names n, (SELECT count(*) AS c FROM bc) cnt, bc c WHERE c.n = n.n % cnt.c;
INSERT INTO building (county, code, estate_id, region_code, building_label, address_norm,
                      status)
SELECT e.county, left(e.code, 15) || lpad(b::text, 4, '0') || '00000'
       || cimhouse_mod11_2(left(e.code, 15) || lpad(b::text, 4, '0') || '00000'),
       e.id, e.region_code, b || '幢', e.address || ' ' || e.name || ' ' || b || '幢',
       'in_use'
FROM estate e, generate_series(1, 10) b;
INSERT INTO house (county, code, building_id, region_code, unit_label, floor_label,
                   floor_number, room_label, address_norm, use, status)
SELECT b.county, left(b.code, 19) || lpad(s.k::text, 5, '0')
       || cimhouse_mod11_2(left(b.code, 19) || lpad(s.k::text, 5, '0')),
       b.id, b.region_code, s.u::text, s.f::text, s.f, s.room,
       b.address_norm || ' ' || s.u || '单元 ' || s.room || '室', 'residential', 'in_use'
FROM building b, (SELECT row_number() OVER () AS k, u, f, f::text || lpad(r::text, 2, '0') AS room
                  FROM generate_series(1, 2) u, generate_series(1, 10) f,
                       generate_series(1, 2) r) s;
ANALYZE
"""
HOUSES_SQL = """
SELECT h.county, h.id, h.address_norm, e.name, e.aliases, rtrim(b.building_label, '幢'),
       h.unit_label, h.room_label, e.address
FROM house h TABLESAMPLE SYSTEM (1)
JOIN building b ON b.county = h.county AND b.id = h.building_id
JOIN estate e ON e.county = b.county AND e.id = b.estate_id
"""
LOOKUP_SQL = "SELECT id, code FROM house WHERE county = %s AND address_norm = %s"
CN = "〇一二三四五六七八九"


def typed(row: tuple[object, ...], rng: random.Random) -> str:
    """One way of typing a house's address, as tests/test_address_search.py does."""
    name, b, u, r, path = (str(row[i]) for i in (3, 5, 6, 7, 8))
    aliases = row[4] if isinstance(row[4], list) else []
    style = rng.choice(("register", "bare", "shorthand", "numerals", "full_width", "typo",
                        "alias"))
    tail = f"{b}幢{u}单元{r}室"
    if style == "register":
        return f"{path}{name}{tail}"
    if style == "shorthand":
        return f"{name}{b}-{u}-{r}"
    if style == "numerals":
        return f"{name}{CN[int(b)] if int(b) < 10 else '十'}幢{CN[int(u)]}单元" \
               f"{''.join(CN[int(d)] for d in r)}室"
    if style == "full_width":
        return name + "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in tail)
    if style == "typo":
        spots = [i for i, c in enumerate(name) if c in CONFUSED]
        if spots:
            i = rng.choice(spots)
            return f"{name[:i]}{CONFUSED[name[i]]}{name[i + 1:]}{tail}"
    if style == "alias" and isinstance(aliases, list) and aliases:
        return f"{aliases[0]}{b}-{u}-{r}"
    return f"{name}{tail}"


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return 1000 * statistics.median(ordered), 1000 * ordered[int(0.95 * (len(ordered) - 1))]


def timed(calls: list[Callable[[], object]]) -> list[float]:
    spent = []
    for call in calls:
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--houses", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-search-"))
    cluster = EmbeddedCluster(root / "pg")
    cluster.start()
    try:
        cluster.ensure_database("bench")
        url = cluster.url("bench")
        engine = make_engine(Settings(var_dir=root, secret_key_b64=KEY), url=url)
        upgrade(engine)
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
        rng = random.Random(args.seed)
        count = max(1, args.houses // HOUSES_PER_ESTATE)
        names = estate_names(rng, count)
        started = time.perf_counter()
        dsn = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn) as raw:
            raw.execute("CREATE TEMP TABLE bench_names (n int, name text, aliases text[])")
            with raw.cursor().copy("COPY bench_names FROM STDIN") as copy:
                for n, name in enumerate(names):
                    # a former name: 红旗 + the name (unique, and no digits to misread)
                    former = [FORMER[n % len(FORMER)][:2] + name] if n % 10 == 0 else []
                    copy.write_row((n, name, "{" + ",".join(former) + "}"))
            for statement in GENERATE.split(";\n"):
                raw.execute(statement)
            raw.commit()
            houses = raw.execute("SELECT count(*) FROM house").fetchone()[0]  # type: ignore[index]
            sample = raw.execute(HOUSES_SQL).fetchall()
        print(f"data: {houses} houses in {count} estates over the Jiaxing communities "
              f"({time.perf_counter() - started:.1f} s to generate)")
        picked = [rng.choice(sample) for _ in range(args.queries)]
        texts = [typed(row, rng) for row in picked]
        scope = parse_scope("3304")
        with session_scope(engine) as session:
            gazetteer = Gazetteer.cached(session)
        found: list[tuple[str, int] | None] = []

        def search(query: str) -> Callable[[], object]:
            def call() -> None:
                with session_scope(engine) as session:
                    best = search_addresses(session, query, scope=scope, first=10,
                                            gazetteer=gazetteer).candidates
                found.append((best[0].county, best[0].house_id) if best else None)
            return call

        with psycopg.connect(dsn) as raw:
            def lookup(row: tuple[object, ...]) -> Callable[[], object]:
                return lambda: raw.execute(LOOKUP_SQL, (row[0], row[2]),
                                           prepare=True).fetchall()

            timed([lookup(row) for row in picked[:50]])  # warm-up: caches, prepared plans
            bound = timed([lookup(row) for row in picked])
        timed([search(query) for query in texts[:50]])
        found.clear()
        spent = timed([search(query) for query in texts])
        hits = sum(1 for row, got in zip(picked, found, strict=True) if got == (row[0], row[1]))
        s50, s95 = percentiles(spent)
        b50, b95 = percentiles(bound)
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"{args.queries} typed addresses, one at a time, scope 3304; top-1 correct "
              f"{hits / len(picked):.1%}; load average {load} on {os.cpu_count()} cores")
        print(f"{'case':48} {'p50 ms':>8} {'p95 ms':>8}")
        print(f"{'search_addresses (session, split, 3 statements)':48} {s50:8.2f} {s95:8.2f}"
              f"  ({s50 / b50:.0f}x bound at p50)")
        print(f"{'exact normalised address, index lookup (bound)':48} {b50:8.2f} {b95:8.2f}")
        engine.dispose()
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
