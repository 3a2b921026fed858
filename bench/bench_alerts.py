"""Benchmark: publish-to-subscription latency of a safety alert, next to bare NOTIFY->LISTEN.

Run: .venv/bin/python bench/bench_alerts.py                    (300 alerts)
     .venv/bin/python bench/bench_alerts.py --alerts 100       (quick)

A throwaway cluster gets the real Zhejiang regions and one house with a gas detector in each
of two Jiaxing communities (A and B). uvicorn serves the app in this process; two WebSocket
clients subscribe over graphql-transport-ws (``safetyAlertChanges``), one with a token of A's
community, one with B's.

Timed, per alert: a gateway POSTs one gas reading over the alarm level for A's detector to
``/safety/readings`` (HTTP ingestion: parse, store, rule, alert upsert, NOTIFY at commit),
until A's subscriber receives the alert (the hub hears the NOTIFY, the subscription re-reads
the alert through A's scope in SQL and sends it). The first reading opens the alert, the
others fold into it (each fold is a change the subscription sends). B's subscriber must
receive nothing. Also shown: the HTTP round trip of the POST alone.

Lower bound, same run: a bare ``NOTIFY`` on one psycopg connection (autocommit) until a
second connection, LISTENing, yields it (what any LISTEN/NOTIFY push pays at least).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import uvicorn
from harness import bench_cluster, print_load
from sqlalchemy import Engine, text
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from cimhouse.api.app import create_app
from cimhouse.auth.tokens import create_token
from cimhouse.db import session_scope
from cimhouse.graphql.safety_live import subscriber_count
from cimhouse.importers.load_regions import load_regions
from cimhouse.settings import Settings

WORLD = """
INSERT INTO estate (county, code, name, region_code, kind, status)
SELECT left(r.code, 6), r.code || '001000000000' || cimhouse_mod11_2(r.code || '001000000000'),
       '安康苑', r.code, 'commodity', 'in_use'
FROM region r WHERE r.code IN (:a, :b);
INSERT INTO building (county, estate_id, region_code, building_label, status)
SELECT county, id, region_code, '1幢', 'in_use' FROM estate;
INSERT INTO house (county, building_id, region_code, room_label, code, use, status)
SELECT county, id, region_code, '101', region_code || lpad('1', 13, '0'), 'residential', 'in_use'
FROM building;
INSERT INTO device (county, uid, kind, house_id)
SELECT county, 'GAS-' || region_code, 'gas', id FROM house
"""
CHANGES = "subscription { safetyAlertChanges { id state houseCode } }"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"{label:<46} p50 {percentile(ms, 0.5):7.2f} ms   p99 {percentile(ms, 0.99):7.2f} ms"
            f"   mean {statistics.fmean(ms):7.2f} ms   (n={len(ms)})")


@contextmanager
def serve(settings: Settings, engine: Engine) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine),
                                           host="127.0.0.1", port=0, log_level="warning",
                                           ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def subscribe(host: str, token: str) -> ClientConnection:
    ws = connect(f"ws://{host}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")],
                 open_timeout=30, legacy=True)
    ws.send(json.dumps({"type": "connection_init",
                        "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(ws.recv(timeout=30))["type"] == "connection_ack"
    ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": CHANGES}}))
    return ws


def notify_bound(dsn: str, rounds: int) -> list[float]:
    """Bare NOTIFY on one connection until LISTEN on another yields it."""
    took = []
    with psycopg.connect(dsn, autocommit=True) as listener, \
            psycopg.connect(dsn, autocommit=True) as sender:
        listener.execute("LISTEN bench_bound")
        for i in range(rounds):
            start = time.perf_counter()
            sender.execute("SELECT pg_notify('bench_bound', %s)", (str(i),))
            for _note in listener.notifies(timeout=10, stop_after=1):
                took.append(time.perf_counter() - start)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=300, help="alerts published (timed)")
    args = parser.parse_args()
    with bench_cluster("cimbench-alerts-") as bench:
        engine = bench.database("alerts")
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
            a, b = session.execute(text(
                "SELECT min(code), max(code) FROM region WHERE level = 5 AND valid_to IS NULL "
                "AND code LIKE '330402%'")).one()
            for statement in WORLD.split(";\n"):
                session.execute(text(statement), {"a": a, "b": b})
            tokens = {key: create_token(session, name=f"bench-{key}", scope=scope,
                                        roles=roles, actor="bench").token
                      for key, scope, roles in (("gateway", a, ["importer"]),
                                                ("a", a, ["reader"]), ("b", b, ["reader"]))}
        dsn = bench.cluster.url("alerts").replace("postgresql+psycopg", "postgresql")
        with serve(bench.settings, engine) as host:
            ws_a, ws_b = subscribe(host, tokens["a"]), subscribe(host, tokens["b"])
            while subscriber_count() < 2:
                time.sleep(0.01)
            client = httpx.Client(base_url=f"http://{host}",
                                  headers={"Authorization": f"Bearer {tokens['gateway']}"})
            start_ts = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
            latency, http_only = [], []
            for i in range(args.alerts + 10):  # the first 10 warm up (not counted)
                reading = {"device": f"GAS-{a}", "metric": "gas_lel", "value": 40 + i % 50,
                           "ts": (start_ts + dt.timedelta(seconds=i)).isoformat()}
                began = time.perf_counter()
                reply = client.post("/safety/readings", json={"readings": [reading]})
                answered = time.perf_counter()
                assert reply.status_code == 200, reply.text
                assert reply.json()["stored"] == 1, reply.text
                message = json.loads(ws_a.recv(timeout=30))
                arrived = time.perf_counter()
                assert message["type"] == "next", message
                if i >= 10:
                    latency.append(arrived - began)
                    http_only.append(answered - began)
            leaked = 0
            try:
                while True:
                    ws_b.recv(timeout=0.5)
                    leaked += 1
            except TimeoutError:
                pass
            client.close()
            ws_a.close()
            ws_b.close()
        bound = notify_bound(dsn, args.alerts + 10)[10:]
        engine.dispose()
    print(summary("alert: POST /safety/readings -> subscription", latency))
    print(summary("  of which the POST's HTTP round trip", http_only))
    print(summary("bound: bare NOTIFY -> LISTEN (psycopg)", bound))
    print(f"p50 ratio alert / bound: {percentile(latency, 0.5) / percentile(bound, 0.5):.1f}x"
          f"; messages that reached the other community's subscriber: {leaked}")
    print_load()


if __name__ == "__main__":
    main()
