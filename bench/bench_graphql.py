"""Benchmark: cimhouse's GraphQL API next to PostGraphile 5 and 4 and the HTTP+SQL floor.

Run: .venv/bin/python bench/bench_graphql.py                     (40,000 houses)
     .venv/bin/python bench/bench_graphql.py --houses 1000000    (the large run)
     .venv/bin/python bench/bench_graphql.py --houses 4000 --rounds 2 --requests 10  (quick)
     .venv/bin/python bench/bench_graphql.py --keep /tmp/gql40k    (keep the generated cluster
                                                                    and reuse it next time)

A throwaway cluster gets the real Zhejiang regions and generated data (set-based SQL): estates
of 10 buildings x 40 houses in the communities of 南湖区 (330402) and 秀洲区 (330411), every
house coded and registered, two current residents per house with encrypted ID numbers.
A token scoped to county 330402 (roles reader + person_reader) calls cimhouse.

Servers, all on 127.0.0.1, all reading the same database over its Unix socket:

- cimhouse: uvicorn ``--workers 2`` (``--workers``);
- floor: ``GET /floor/<case>`` on that same uvicorn (bench/graphql_floor.py): one
  hand-written statement builds the answer's JSON, no GraphQL, no authentication;
- PostGraphile 5.1.5 (Amber + connection filter) and 4.14.1 (+ connection filter), one Node
  process each, installed by bench/graphql_peers.py into ``var/bench-node`` (``--no-peers``
  skips them);
- sql: the floor's statement over psycopg without HTTP (one connection per client);
- resolvers (``--resolvers``): a second cimhouse with ``CIMHOUSE_GRAPHQL_COMPILED=0``, so that
  the compiled read path and the resolver path are timed in the same run.

Cases: nested (estate -> 5 buildings -> 50 houses -> current residents, masked ID numbers),
code lookup (typed with hyphens for cimhouse), a community's houses (page of 50 + count).
Before timing, the answers of every server are compared (same rows, same order). Then each
round runs every case with 1 and 4 clients (threads, one keep-alive connection each,
``--requests`` calls per client after a warm-up call) against each server, the servers in
an order that rotates from round to round; the table shows medians over the rounds.
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
from graphql_cases import CIMHOUSE, POSTGRAPHILE, canonical, rows_in, variables
from graphql_floor import floor_sql
from graphql_peers import install_peers, start_peer
from sqlalchemy import text

from cimhouse.api.nodelay import HTTP_PROTOCOL
from cimhouse.auth.tokens import create_token
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.migrate import upgrade
from cimhouse.importers.load_regions import load_regions
from cimhouse.settings import Settings

KEY = "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoMTI="  # base64 of 32 bytes, synthetic data only
BENCH_DIR = Path(__file__).resolve().parent
CASES = ("nested", "lookup", "community")
CIMHOUSES = ("cimhouse", "resolvers")  # servers that need the bench token

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
"""

Call = Callable[[], None]


def run_clients(clients: int, per_client: int, make_call: Callable[[int], Call]
                ) -> dict[str, float]:
    """``clients`` threads each doing ``per_client`` calls; median latency and rate."""
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
    return {"p50": 1000 * statistics.median(latencies), "rps": len(latencies) / elapsed}


def http_caller(server: str, url: str, case: str, args: list[str], seed: int,
                token: str | None = None) -> Callable[[int], Call]:
    """Calls of ``case`` against ``server`` with arguments drawn from ``args``."""
    shape = "postgraphile" if server.startswith("postgraphile") else "cimhouse"
    query = (POSTGRAPHILE if shape == "postgraphile" else CIMHOUSE)[case]

    def make(index: int) -> Call:
        rng = random.Random(seed * 100 + index)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(headers=headers, timeout=60)

        def call() -> None:
            arg = rng.choice(args)
            if server == "floor":
                reply = client.get(f"{url}/floor/{case}", params={"arg": arg})
            else:
                reply = client.post(url, json={"query": query,
                                               "variables": variables(shape, case, arg)})
            body = reply.json()
            if reply.status_code != 200 or "errors" in body:
                raise SystemExit(f"{server} {case}: {reply.status_code} {body}")
        return call
    return make


def sql_caller(dsn: str, case: str, args: list[str], seed: int) -> Callable[[int], Call]:
    def make(index: int) -> Call:
        rng = random.Random(seed * 100 + index)
        conn = psycopg.connect(dsn, autocommit=True,
                               options="-c plan_cache_mode=force_custom_plan")

        def call() -> None:
            sql, params = floor_sql(case, rng.choice(args))
            conn.execute(sql, params, prepare=True).fetchone()
        return call
    return make


def answer(server: str, base: str, case: str, arg: str, token: str) -> Any:
    """The canonical answer of one server (for the comparison before timing)."""
    if server == "floor":
        body = httpx.get(f"{base}/floor/{case}", params={"arg": arg}, timeout=60).json()
        return canonical("cimhouse", case, body["data"])
    shape = "postgraphile" if server.startswith("postgraphile") else "cimhouse"
    query = (POSTGRAPHILE if shape == "postgraphile" else CIMHOUSE)[case]
    headers = {"Authorization": f"Bearer {token}"} if shape == "cimhouse" else {}
    body = httpx.post(base, json={"query": query, "variables": variables(shape, case, arg)},
                      headers=headers, timeout=60).json()
    if "errors" in body:
        raise SystemExit(f"{server} {case}: {body['errors']}")
    return canonical(shape, case, body["data"])


def start_cimhouse(url: str, port: int, workers: int, root: Path,
                   compiled: str = "1") -> subprocess.Popen[bytes]:
    """cimhouse with the floor in front (graphql_floor.app_from_env) on one uvicorn.

    ``compiled="0"`` sets ``CIMHOUSE_GRAPHQL_COMPILED=0``: the compiled read path's switch
    (issue 13) to serve every query through the resolvers; builds without that path
    ignore it.
    """
    env = {**os.environ, "CIMHOUSE_DATABASE_URL": url, "CIMHOUSE_SECRET_KEY": KEY,
           "CIMHOUSE_VAR_DIR": str(root), "CIMHOUSE_GRAPHQL_COMPILED": compiled}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "graphql_floor:app_from_env",
                             "--factory", "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning", "--http", HTTP_PROTOCOL,
                             "--no-server-header"], env=env)  # as `cimhouse serve` runs it
    deadline = time.monotonic() + 300  # a loaded 2-core machine imports slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()  # not kill: uvicorn's supervisor stops its workers on SIGTERM
    proc.wait(timeout=60)
    raise SystemExit("uvicorn did not start")


def generate(cluster: EmbeddedCluster, root: Path, houses_wanted: int) -> None:
    """Create the bench database with about ``houses_wanted`` houses (once per cluster)."""
    if not cluster.ensure_database("bench"):
        return
    url = cluster.url("bench")
    engine = make_engine(Settings(var_dir=root, secret_key_b64=KEY), url=url)
    upgrade(engine)
    with session_scope(engine) as session:
        load_regions(session, actor="bench")
        communities = session.execute(text(
            "SELECT count(*) FROM region WHERE level = 5 AND valid_to IS NULL AND "
            "(code LIKE '330402%' OR code LIKE '330411%')")).scalar_one()
    engine.dispose()
    estates_needed = max(1, houses_wanted // 400)
    per_community = max(1, min(999, estates_needed // communities + 1))
    used = min(communities, max(1, estates_needed // per_community))
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as raw:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                raw.execute(statement.replace(":per_community", str(per_community))
                            .replace(":communities", str(used)))
        raw.commit()
        # The steady state of a live database: autovacuum would have set the visibility
        # map, which lets counts run as index-only scans.
        raw.autocommit = True
        raw.execute("VACUUM ANALYZE")
    print(f"generated in {time.perf_counter() - started:.1f} s")


def compiled_stats_line(base: str) -> str:
    """The compiled path's counters (``GET /graphql/stats``, per worker), when present.

    Each worker keeps its own counters; fresh connections land on either worker, so the
    distinct answers of 8 connections are printed.
    """
    seen: list[str] = []
    for _ in range(8):
        with httpx.Client(timeout=10) as client:
            reply = client.get(f"{base}/stats")
        if reply.status_code == 404:
            return "compiled path: not in this build (the resolver path was measured)"
        text_ = reply.text
        if text_ not in seen:
            seen.append(text_)
    return "compiled path counters, per worker: " + "; ".join(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=40_000)
    parser.add_argument("--requests", type=int, default=30,
                        help="per client, case, server and round (default 30)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", default="1,4", help="comma-separated (default 1,4)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--keep", type=Path, help="cluster directory kept and reused")
    parser.add_argument("--no-peers", action="store_true", help="skip PostGraphile")
    parser.add_argument("--resolvers", action="store_true",
                        help="also time a second cimhouse with CIMHOUSE_GRAPHQL_COMPILED=0 "
                             "(column 'resolvers')")
    parser.add_argument("--node-dir", type=Path, default=Path("var/bench-node"),
                        help="where Node and PostGraphile are installed (default var/bench-node)")
    args, _ = parser.parse_known_args()
    clients_list = [int(c) for c in args.clients.split(",")]
    root = args.keep or Path(tempfile.mkdtemp(prefix="cimbench-gql-", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    node = None if args.no_peers else install_peers(args.node_dir.resolve())
    cluster = EmbeddedCluster(root / "pg")
    cluster.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        generate(cluster, root, args.houses)
        url = cluster.url("bench")
        dsn = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn, autocommit=True) as raw:
            houses = raw.execute("SELECT count(*) FROM house").fetchone()[0]  # type: ignore[index]
            estates = [r[0] for r in raw.execute(
                "SELECT code FROM estate WHERE region_code LIKE '330402%' ORDER BY id")]
            codes = [r[0] for r in raw.execute(
                "SELECT code FROM house WHERE region_code LIKE '330402%' ORDER BY id")]
            communities = [r[0] for r in raw.execute(
                "SELECT DISTINCT region_code FROM house WHERE region_code LIKE '330402%' "
                "ORDER BY 1")]
            load = os.getloadavg()[0]
        engine = make_engine(Settings(var_dir=root, secret_key_b64=KEY), url=url)
        with session_scope(engine) as session:
            token = create_token(session, name=f"bench-{os.getpid()}", scope="330402",
                                 roles=["reader", "person_reader"], actor="bench").token
        engine.dispose()
        print(f"data: {houses} houses, {2 * houses} persons, {len(estates)} estates and "
              f"{len(communities)} communities in 330402; load average {load:.1f}")
        port = 18000 + os.getpid() % 1000
        procs.append(start_cimhouse(url, port, args.workers, root))
        base = {"cimhouse": f"http://127.0.0.1:{port}/graphql",
                "floor": f"http://127.0.0.1:{port}"}
        if node is not None:
            pg_url = f"postgres:///bench?host={cluster.socket_dir}&user=postgres"
            for version, offset in ((5, 1), (4, 2)):
                procs.append(start_peer(node, version, pg_url, port + offset,
                                        args.node_dir.resolve()))
                base[f"postgraphile{version}"] = f"http://127.0.0.1:{port + offset}/graphql"
        if args.resolvers:
            procs.append(start_cimhouse(url, port + 3, args.workers, root, compiled="0"))
            base["resolvers"] = f"http://127.0.0.1:{port + 3}/graphql"
        inputs = {"nested": estates, "lookup": codes, "community": communities}
        servers = [*base, "sql"]
        check_answers(base, inputs, token)
        results: dict[tuple[str, int, str], list[dict[str, float]]] = {}
        for round_no in range(args.rounds):
            for clients in clients_list:
                for case in CASES:
                    turn = servers[round_no % len(servers):] + servers[:round_no % len(servers)]
                    for server in turn:
                        make = (sql_caller(dsn, case, inputs[case], round_no)
                                if server == "sql" else
                                http_caller(server, base[server], case, inputs[case], round_no,
                                            token if server in CIMHOUSES else None))
                        results.setdefault((case, clients, server), []).append(
                            run_clients(clients, args.requests, make))
            print(f"round {round_no + 1}/{args.rounds} done", flush=True)
        report(results, servers, clients_list, args)
        print(compiled_stats_line(base["cimhouse"]))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        if args.keep is None:
            cluster.destroy()
        else:
            cluster.stop()


def check_answers(base: dict[str, str], inputs: dict[str, list[str]], token: str) -> None:
    """Every server returns the same rows for the same arguments (3 per case)."""
    for case in CASES:
        picks = random.Random(7).sample(inputs[case], min(3, len(inputs[case])))
        for arg in picks:
            expected = answer("floor", base["floor"], case, arg, token)
            for server in base:
                got = answer(server, base[server], case, arg, token)
                if got != expected:
                    raise SystemExit(f"{server} differs from the floor on {case} {arg}:\n"
                                     f"{got}\n!=\n{expected}")
            if rows_in(case, expected) == 0:
                raise SystemExit(f"{case} {arg}: empty answer")
    print(f"answers compared: {', '.join(base)} return the same rows (3 arguments per case)")


def report(results: dict[tuple[str, int, str], list[dict[str, float]]], servers: list[str],
           clients_list: list[int], args: argparse.Namespace) -> None:
    """The medians over rounds as a Markdown table: p50 ms / requests per second.

    The last two columns are the issue's targets: cimhouse's requests/s over the faster
    PostGraphile's (target >= 1.5) and cimhouse's p50 over the floor's (target <= 2).
    """
    print(f"\nmedians of {args.rounds} rounds x {args.requests} requests per client; "
          f"cell = p50 ms / req/s; uvicorn --workers {args.workers}\n")
    peers = [s for s in servers if s.startswith("postgraphile")]
    print("| case | clients | " + " | ".join(servers) + " | rps vs best PostGraphile | "
          "p50 vs floor |")
    print("|---|---|" + "---|" * (len(servers) + 2))
    for clients in clients_list:
        for case in CASES:
            cells, p50s, rpss = [], {}, {}
            for server in servers:
                runs = results[(case, clients, server)]
                p50s[server] = statistics.median(r["p50"] for r in runs)
                rpss[server] = statistics.median(r["rps"] for r in runs)
                digits = 2 if p50s[server] < 10 else 1
                cells.append(f"{p50s[server]:.{digits}f} ms / {rpss[server]:.0f}")
            best = max((rpss[p] for p in peers), default=0.0)
            cells.append(f"{rpss['cimhouse'] / best:.2f}x" if best else "-")
            cells.append(f"{p50s['cimhouse'] / p50s['floor']:.1f}x")
            print(f"| {case} | {clients} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
