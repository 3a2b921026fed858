"""Benchmark: the GraphQL API under concurrent clients, next to raw SQL of the same answers.

Run: .venv/bin/python bench/bench_graphql.py                (40,000 houses, 200 requests per
     client, 4 clients, uvicorn with 2 workers)
     .venv/bin/python bench/bench_graphql.py --houses 4000 --requests 30   (quick)

A throwaway cluster gets the real Zhejiang regions and generated data (set-based SQL): estates
of 10 buildings x 40 houses in the communities of 南湖区 (330402) and 秀洲区 (330411), every
house coded and registered, two current residents per house with encrypted ID numbers.
A token scoped to county 330402 (roles reader + person_reader) calls uvicorn on 127.0.0.1.

Timed, each with N concurrent clients (threads, one keep-alive HTTP connection each):

1. nested: one estate's buildings -> houses -> current residents, a page of 50 houses
   (5 buildings x 10 houses), masked ID numbers;
2. lookup: a house code (typed with hyphens) with its decoding and house.

Lower bound, same run, same concurrency: raw SQL returning the same rows (one statement,
psycopg, one connection per client, scope predicate included), no HTTP, no GraphQL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from cimhouse.auth.tokens import create_token
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.migrate import upgrade
from cimhouse.importers.load_regions import load_regions
from cimhouse.settings import Settings

KEY = "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoMTI="  # base64 of 32 bytes, synthetic data only

GENERATE = """
CREATE TEMP TABLE bc AS
SELECT row_number() OVER (ORDER BY code) AS n, code FROM region
WHERE level = 5 AND valid_to IS NULL AND (code LIKE '330402%' OR code LIKE '330411%');
INSERT INTO estate (county, code, name, region_code, kind, status)
SELECT left(c.code, 6), c.code || lpad(e::text, 3, '0') || '000000000'
       || cimhouse_mod11_2(c.code || lpad(e::text, 3, '0') || '000000000'),
       'bench estate ' || c.n || '-' || e, c.code, 'commodity', 'in_use'
FROM bc c, generate_series(1, :per_community) e WHERE c.n <= :communities;
INSERT INTO building (county, code, estate_id, region_code, building_label, status)
SELECT e.county, left(e.code, 15) || lpad(b::text, 4, '0') || '00000'
       || cimhouse_mod11_2(left(e.code, 15) || lpad(b::text, 4, '0') || '00000'),
       e.id, e.region_code, b || '幢', 'in_use'
FROM estate e, generate_series(1, 10) b;
INSERT INTO house (county, code, building_id, region_code, room_label, floor_number, use, status)
SELECT b.county, left(b.code, 19) || lpad(h::text, 5, '0')
       || cimhouse_mod11_2(left(b.code, 19) || lpad(h::text, 5, '0')),
       b.id, b.region_code, h || '室', 1 + h / 4, 'residential', 'in_use'
FROM building b, generate_series(1, 40) h;
INSERT INTO code_registry (county, code, object_kind, object_id, status)
SELECT county, code, 'estate', id, 'active' FROM estate UNION ALL
SELECT county, code, 'building', id, 'active' FROM building UNION ALL
SELECT county, code, 'house', id, 'active' FROM house;
INSERT INTO person (name, id_hash, id_cipher, id_masked, gender, birth_date)
SELECT '居民' || i, sha256(('bench' || i)::bytea), sha256(('cipher' || i)::bytea),
       '330402********' || lpad((i % 10000)::text, 4, '0'), CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END,
       date '1940-01-01' + (i * 37 % 30000)::int
FROM generate_series(1, (SELECT 2 * count(*) FROM house)) i;
INSERT INTO person_house (county, person_id, house_id, relation, valid_from)
SELECT h.county, 2 * h.rn - k, h.id, 'resident', date '2020-01-01'
FROM (SELECT county, id, row_number() OVER (ORDER BY county, id) rn FROM house) h,
     generate_series(0, 1) k;
ANALYZE;
"""

NESTED = """query($e: String!) { estates(filter: {estateCode: $e}, first: 1) { edges { node {
  code buildings(first: 5) { code houses(first: 10) { code roomLabel
    residents { relation person { name idNumber } } } } } } } }"""
NESTED_SQL = """
SELECT b.code, h.code, h.room_label, ph.relation, p.name, p.id_masked
FROM estate e
JOIN LATERAL (SELECT county, id, code FROM building b WHERE b.county = e.county
              AND b.estate_id = e.id AND b.region_code >= '330402000000'
              AND b.region_code < '330403000000' ORDER BY b.county, b.id LIMIT 5) b ON true
JOIN LATERAL (SELECT county, id, code, room_label FROM house h WHERE h.county = b.county
              AND h.building_id = b.id AND h.region_code >= '330402000000'
              AND h.region_code < '330403000000' ORDER BY h.county, h.id LIMIT 10) h ON true
LEFT JOIN person_house ph ON ph.county = h.county AND ph.house_id = h.id
     AND ph.relation IN ('resident', 'registered') AND (ph.valid_from IS NULL
     OR ph.valid_from <= current_date) AND (ph.valid_to IS NULL OR ph.valid_to > current_date)
LEFT JOIN person p ON p.id = ph.person_id
WHERE e.code = %s AND e.region_code >= '330402000000' AND e.region_code < '330403000000'
"""
LOOKUP = """query($c: String!) { lookup(code: $c) { code status decoding { objectKind county
  community estateNumber buildingNumber houseNumber } house { code roomLabel status } } }"""
LOOKUP_SQL = """
SELECT r.code, r.status, h.code, h.room_label, h.status FROM code_registry r
JOIN house h ON h.county = r.county AND h.id = r.object_id
WHERE r.code = %s AND r.object_kind = 'house'
  AND h.region_code >= '330402000000' AND h.region_code < '330403000000'
"""


def run_clients(clients: int, per_client: int,
                make_call: Callable[[int], Callable[[], None]]) -> dict[str, float]:
    """``clients`` threads each doing ``per_client`` calls; latency percentiles and rate."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        call = make_call(index)
        call()  # warm-up: connection, caches
        mine: list[float] = []
        barrier.wait()
        for _ in range(per_client):
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "rps": len(latencies) / elapsed}


def graphql_call(url: str, token: str, query: str,
                 variables: Callable[[random.Random], dict[str, Any]],
                 check: Callable[[dict[str, Any]], None]) -> Callable[[int], Callable[[], None]]:
    def make(index: int) -> Callable[[], None]:
        rng = random.Random(index)
        client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)

        def call() -> None:
            reply = client.post(url, json={"query": query, "variables": variables(rng)})
            body = reply.json()
            assert reply.status_code == 200 and "errors" not in body, body
            check(body["data"])
        return call
    return make


def sql_call(dsn: str, sql: str, argument: Callable[[random.Random], str],
             minimum_rows: int) -> Callable[[int], Callable[[], None]]:
    def make(index: int) -> Callable[[], None]:
        rng = random.Random(index)
        conn = psycopg.connect(dsn, autocommit=True)

        def call() -> None:
            rows = conn.execute(sql, (argument(rng),), prepare=True).fetchall()
            assert len(rows) >= minimum_rows
        return call
    return make


def start_server(url: str, port: int, workers: int, root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CIMHOUSE_DATABASE_URL": url, "CIMHOUSE_SECRET_KEY": KEY,
           "CIMHOUSE_VAR_DIR": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "cimhouse.api.app:app_from_env",
                             "--factory", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("uvicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=40_000)
    parser.add_argument("--requests", type=int, default=200, help="per client and case")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args, _ = parser.parse_known_args()
    root = Path(tempfile.mkdtemp(prefix="cimbench-gql-", dir="/tmp"))
    cluster = EmbeddedCluster(root / "pg")
    cluster.start()
    server = None
    try:
        cluster.ensure_database("bench")
        url = cluster.url("bench")
        settings = Settings(var_dir=root, secret_key_b64=KEY)
        engine = make_engine(settings, url=url)
        upgrade(engine)
        estates_needed = max(1, args.houses // 400)
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
            communities = session.execute(text(
                "SELECT count(*) FROM region WHERE level = 5 AND valid_to IS NULL AND "
                "(code LIKE '330402%' OR code LIKE '330411%')")).scalar_one()
        per_community = max(1, min(999, estates_needed // communities + 1))
        used = min(communities, max(1, estates_needed // per_community))
        started = time.perf_counter()
        raw = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                raw.execute(statement.replace(":per_community", str(per_community))
                            .replace(":communities", str(used)))
        raw.commit()
        houses = raw.execute("SELECT count(*) FROM house").fetchone()[0]  # type: ignore[index]
        estates = [r[0] for r in raw.execute(
            "SELECT code FROM estate WHERE region_code LIKE '330402%' ORDER BY id")]
        house_codes = [r[0] for r in raw.execute(
            "SELECT code FROM house WHERE region_code LIKE '330402%' ORDER BY id")]
        raw.close()
        print(f"data: {houses} houses, {2 * houses} persons, {len(estates)} estates in 330402 "
              f"({time.perf_counter() - started:.1f} s to generate)")
        with session_scope(engine) as session:
            token = create_token(session, name="bench", scope="330402",
                                 roles=["reader", "person_reader"], actor="bench").token
        engine.dispose()
        port = 18000 + os.getpid() % 1000
        server = start_server(url, port, args.workers, root)
        endpoint = f"http://127.0.0.1:{port}/graphql"
        dsn = url.replace("postgresql+psycopg", "postgresql")

        def nested_check(data: dict[str, Any]) -> None:
            node = data["estates"]["edges"][0]["node"]
            assert sum(len(b["houses"]) for b in node["buildings"]) == 50

        def lookup_check(data: dict[str, Any]) -> None:
            assert data["lookup"]["house"] is not None

        def hyphenated(code: str) -> str:
            return f"{code[:12]}-{code[12:15]}-{code[15:19]}-{code[19:24]}-{code[24]}"

        cases = [
            ("nested estate -> 50 houses -> residents",
             graphql_call(endpoint, token, NESTED, lambda r: {"e": r.choice(estates)},
                          nested_check),
             sql_call(dsn, NESTED_SQL, lambda r: r.choice(estates), 50)),
            ("code lookup",
             graphql_call(endpoint, token, LOOKUP,
                          lambda r: {"c": hyphenated(r.choice(house_codes))}, lookup_check),
             sql_call(dsn, LOOKUP_SQL, lambda r: r.choice(house_codes), 1)),
        ]
        print(f"{args.clients} concurrent clients x {args.requests} requests, uvicorn "
              f"--workers {args.workers}, 127.0.0.1")
        print(f"{'case':42} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
        for name, api, bound in cases:
            sql = run_clients(args.clients, args.requests, bound)
            gql = run_clients(args.clients, args.requests, api)
            print(f"{'GraphQL ' + name:42} {gql['p50_ms']:8.1f} {gql['p95_ms']:8.1f} "
                  f"{gql['rps']:8.0f}  ({sql['rps'] / gql['rps']:.1f}x bound)")
            print(f"{'raw SQL ' + name + ' (bound)':42} {sql['p50_ms']:8.2f} "
                  f"{sql['p95_ms']:8.2f} {sql['rps']:8.0f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cluster.destroy()


if __name__ == "__main__":
    main()
