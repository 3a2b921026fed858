"""Benchmark: sustained reading ingestion over HTTP and over MQTT, next to raw COPY.

Run: .venv/bin/python bench/bench_safety.py                                   (200,000 readings)
     .venv/bin/python bench/bench_safety.py --readings 60000 --batch 5000     (quick)
     .venv/bin/python bench/bench_safety.py --readings 60000 --shape objects --clients 1 \
         --workers 1 --processes 1                     (last round's setting, for comparison)

A throwaway cluster gets the real Zhejiang regions, one estate per Jiaxing county with
``--houses`` houses and a motion sensor, a gas detector and a water meter at each (set-based
SQL); the database is then copied (``CREATE DATABASE ... TEMPLATE``) once per path, so each
starts equal. Readings: every device sends one reading per minute, in time order, gas below
the alarm level (no alerts), generated and encoded before timing.

Timed, the same readings each time, each path in its own processes as deployed; bodies in
the ``--shape`` given (``columns``: the compact columnar batch, ``objects``: a JSON object
per reading; docs/safety.md):

- **HTTP**: ``cimhouse serve --workers W`` (uvicorn) and ``POST /safety/readings`` with
  ``--batch`` readings per request from ``--clients`` concurrent clients (gateways: a fleet
  of them posts at once, so several requests in flight is the real load, not one client
  waiting for each answer); from the first request to the last answer.
- **MQTT, gateway batches**: an embedded mosquitto, ``cimhouse safety ingest --processes P``
  (``--batch`` readings per transaction; P > 1 share the topics through an MQTT 5 shared
  subscription), a publisher sending ``--per-message`` readings per message on
  ``cimhouse/{county}/gateway/{id}/readings`` (QoS 1); from the first publish until the
  database holds every reading (polled every 0.1 s).
- **MQTT, one reading per message** on ``cimhouse/{county}/{device}/reading`` (a tenth of
  the readings): the per-message cost of the Python MQTT client, for comparison.
- **Lower bound**: raw ``COPY`` into ``device_reading`` of another copy on one psycopg
  connection (no validation, duplicate check, device lookup or rules).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
from harness import KEY, bench_cluster, machine_load, print_load

from cimhouse.auth.tokens import create_token
from cimhouse.db import session_scope
from cimhouse.importers.load_regions import load_regions
from cimhouse.safety.broker import EmbeddedBroker
from cimhouse.safety.ingest_readings import ensure_partitions
from cimhouse.safety.mqtt_ingest import device_topic, gateway_topic
from cimhouse.safety.mqtt_publish import Publisher

KINDS = (("MOT", "motion", "motion"), ("GAS", "gas", "gas_lel"), ("WAT", "water_meter",
                                                                  "water_l"))
CIM = str(Path(sys.executable).with_name("cimhouse"))

WORLD = """
INSERT INTO estate (county, code, name, region_code, kind, status)
SELECT left(r.code, 6), r.code || '001000000000' || cimhouse_mod11_2(r.code || '001000000000'), '安康苑', r.code, 'commodity', 'in_use'
FROM region r WHERE r.level = 5 AND r.valid_to IS NULL AND r.code LIKE '3304%'
  AND r.code = (SELECT min(x.code) FROM region x WHERE x.level = 5 AND x.valid_to IS NULL
                AND left(x.code, 6) = left(r.code, 6));
INSERT INTO building (county, estate_id, region_code, building_label, status)
SELECT county, id, region_code, '1幢', 'in_use' FROM estate;
INSERT INTO house (county, building_id, region_code, room_label, code, use, status)
SELECT b.county, b.id, b.region_code, g::text, b.region_code || lpad(g::text, 13, '0'),
       'residential', 'in_use'
FROM building b, generate_series(1, %(houses)s) g;
INSERT INTO device (county, uid, kind, house_id)
SELECT h.county, k.prefix || '-' || h.code, k.kind, h.id
FROM house h, (VALUES ('MOT', 'motion'), ('GAS', 'gas'), ('WAT', 'water_meter')) k(prefix, kind)
"""


def build(dsn: str, houses: int) -> list[tuple[str, str]]:
    """The world; returns (uid, county) of every device."""
    with psycopg.connect(dsn) as raw:
        for statement in WORLD.split(";\n"):
            raw.execute(statement.replace("%(houses)s", str(houses)))
        raw.commit()
        return [(r[0], r[1]) for r in raw.execute(
            "SELECT uid, county FROM device ORDER BY id").fetchall()]


def readings(devices: list[tuple[str, str]], count: int) -> list[dict[str, Any]]:
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=3)
    metric = {prefix: m for prefix, _, m in KINDS}
    out = []
    for n in range(count):
        uid, county = devices[n % len(devices)]
        ts = start + dt.timedelta(minutes=n // len(devices))
        out.append({"device": uid, "county": county, "metric": metric[uid[:3]],
                    "ts": ts.isoformat(), "value": float(n % 3)})
    return out


def wait_stored(dsn: str, expected: int, timeout: float = 600.0) -> float:
    """Poll until the database holds ``expected`` readings; the time it happened."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM device_reading").fetchone()
            if row is not None and row[0] >= expected:
                return time.perf_counter()
            time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {expected} readings")


def env_for(url: str, var: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CIMHOUSE_DATABASE_URL": url, "CIMHOUSE_SECRET_KEY": KEY,
            "CIMHOUSE_VAR_DIR": str(var), **extra}


def gateway_body(part: list[dict[str, Any]], shape: str) -> dict[str, Any]:
    """A gateway's batch in ``shape`` (the readings' ``county`` is the topic's, not sent)."""
    if shape == "columns":
        return {"columns": {name: [r[name] for r in part]
                            for name in ("device", "metric", "ts", "value")}}
    return {"readings": [{k: v for k, v in r.items() if k != "county"} for r in part]}


def bench_http(url: str, var: Path, batch: list[dict[str, Any]], args: argparse.Namespace,
               token: str) -> tuple[float, int, int]:
    """(seconds, readings stored in them, readings stored by the untimed first request of
    each client: it connects and fills that server worker's device cache, as a running
    server has it)."""
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([CIM, "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(args.workers)],
                              env=env_for(url, var), stdout=subprocess.DEVNULL,
                              stderr=(var / "serve.log").open("w"))  # errors, if any
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local = threading.local()

    def post(body: bytes) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                        headers=headers)
        reply = local.client.post("/safety/readings", content=body)
        reply.raise_for_status()
        return int(reply.json()["stored"])

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"}) as client:
            deadline = time.monotonic() + 300  # a loaded machine starts slowly
            while True:
                try:
                    client.get("/healthz").raise_for_status()
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("cimhouse serve did not start") from None
                    time.sleep(0.2)
            time.sleep(1.0 if args.workers > 1 else 0)  # every worker up, not just one
            size = args.batch
            bodies = [json.dumps(gateway_body(batch[i:i + size], args.shape)).encode()
                      for i in range(0, len(batch), size)]
            with ThreadPoolExecutor(args.clients) as pool:
                warm = sum(pool.map(post, bodies[:args.clients]))
                started = time.perf_counter()
                stored = sum(pool.map(post, bodies[args.clients:]))
            return time.perf_counter() - started, stored, warm
    finally:
        server.terminate()
        server.wait(30)


def bench_mqtt(url: str, dsn: str, var: Path, batch: list[dict[str, Any]], size: int,
               per_message: int, broker: EmbeddedBroker, shape: str = "columns",
               processes: int = 1) -> tuple[float, int]:
    """(seconds from the first timed publish until every reading is stored, readings timed).
    ``per_message`` 0: one reading per message on the device's own topic. Gateway batches:
    two messages per ingester process go first, untimed (each process connects its database
    session and fills its device cache, as a running ingester has them)."""
    ingester = subprocess.Popen(
        [CIM, "safety", "ingest", "--mqtt", broker.url(), "--batch", str(size),
         "--client-id", f"bench-{per_message}-{time.time_ns()}", "--processes",
         str(processes)],
        env=env_for(url, var), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert ingester.stderr is not None
        subscribed = 0
        for line in ingester.stderr:  # wait until each process has subscribed
            subscribed += "subscribed" in line
            if subscribed == processes:
                break
        time.sleep(0.5)
        if per_message:  # a gateway serves one county: its devices must be there
            counties: dict[str, list[dict[str, Any]]] = {}
            for r in batch:
                counties.setdefault(r["county"], []).append(r)
            messages = [(gateway_topic(county, f"GW-{county}"), json.dumps(
                gateway_body(part[i:i + per_message], shape)).encode(),
                len(part[i:i + per_message]))
                for county, part in counties.items() for i in range(0, len(part), per_message)]
            warm = messages[:2 * processes]
        else:
            messages = [(device_topic(r["county"], r["device"]), json.dumps(
                {k: r[k] for k in ("metric", "ts", "value")}).encode(), 1) for r in batch]
            warm = []
        with Publisher(broker.address(), timeout=120) as publisher:
            for topic, payload, _n in warm:
                publisher.publish(topic, payload)
            warmed = sum(n for _t, _p, n in warm)
            if warmed:
                wait_stored(dsn, warmed)
            started = time.perf_counter()
            for topic, payload, _n in messages[len(warm):]:
                publisher.publish(topic, payload)
        return wait_stored(dsn, len(batch)) - started, len(batch) - warmed
    finally:
        ingester.terminate()
        ingester.wait(60)


def bench_copy(dsn: str, batch: list[dict[str, Any]]) -> float:
    with psycopg.connect(dsn) as raw:
        ids: dict[str, int] = dict(raw.execute("SELECT uid, id FROM device").fetchall())
        rows = [(r["county"], ids[r["device"]], r["metric"], r["ts"], r["value"])
                for r in batch]
        started = time.perf_counter()
        with raw.cursor().copy("COPY device_reading (county, device_id, metric, ts, value) "
                               "FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000,
                        help="readings per HTTP request and per ingester transaction")
    parser.add_argument("--per-message", type=int, default=500,
                        help="readings per MQTT gateway message")
    parser.add_argument("--houses", type=int, default=100, help="per county (7 counties)")
    parser.add_argument("--no-single", action="store_true",
                        help="skip the one-reading-a-message MQTT run (slow, ~500/s)")
    parser.add_argument("--shape", choices=("columns", "objects"), default="columns",
                        help="gateway batch bodies: columnar, or an object per reading")
    parser.add_argument("--clients", type=int, default=4,
                        help="HTTP clients posting at once (gateways of a fleet)")
    parser.add_argument("--workers", type=int, default=2, help="cimhouse serve --workers")
    parser.add_argument("--processes", type=int, default=2,
                        help="cimhouse safety ingest --processes (MQTT shared subscription)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the cluster in this directory (the world is built once)")
    args = parser.parse_args()
    with bench_cluster("bench-safety-", keep=args.keep) as bench:
        run(bench, args)
        print_load()


def run(bench: Any, args: argparse.Namespace) -> None:
    cluster, root = bench.cluster, bench.root
    broker = EmbeddedBroker(root / "mqtt", port=19000 + os.getpid() % 1000)
    broker.start()
    try:
        dsn = {n: cluster.url(n).replace("postgresql+psycopg", "postgresql")
               for n in ("base", "http", "mqtt", "mqtt1", "bound")}
        fresh = cluster.ensure_database("base")
        engine = bench.database("base")  # migrated (again: a no-op when kept)
        with session_scope(engine) as session:
            if fresh:
                load_regions(session, actor="bench")
            token = create_token(session, name=f"bench-gateway-{time.time_ns()}",
                                 scope="3304", roles=["importer"], actor="bench").token
        if fresh:
            build(dsn["base"], args.houses)
        with psycopg.connect(dsn["base"]) as raw:
            devices = [(r[0], r[1]) for r in raw.execute(
                "SELECT uid, county FROM device ORDER BY id").fetchall()]
        batch = readings(devices, args.readings)
        with session_scope(engine) as session:  # the months, so no path pays for them
            ensure_partitions(session, {dt.date.fromisoformat(r["ts"][:7] + "-01")
                                        for r in (batch[0], batch[-1])})
        engine.dispose()
        for name in ("http", "mqtt", "mqtt1", "bound"):
            cluster.drop_database(name)
            cluster.ensure_database(name, template="base")
        print(f"data: {len(devices)} devices, {len(batch)} readings, batches of {args.batch}, "
              f"{args.per_message} per MQTT message, shape {args.shape}; {args.clients} HTTP "
              f"clients, {args.workers} server workers, {args.processes} ingester processes; "
              f"load {machine_load()}")
        http_s, stored, warm = bench_http(cluster.url("http"), root, batch, args, token)
        assert stored + warm == len(batch), (stored, warm)
        print(f"HTTP  POST /safety/readings: {stored / http_s:,.0f} readings/s "
              f"({stored} readings after {warm} untimed, {http_s:.2f} s); "
              f"load {machine_load()}")
        mqtt_s, timed = bench_mqtt(cluster.url("mqtt"), dsn["mqtt"], root, batch, args.batch,
                                   args.per_message, broker, args.shape, args.processes)
        print(f"MQTT  gateway batches:       {timed / mqtt_s:,.0f} readings/s "
              f"({timed} readings after {len(batch) - timed} untimed, {mqtt_s:.2f} s); "
              f"load {machine_load()}")
        if not args.no_single:
            single = batch[:max(1, len(batch) // 10)]
            one_s, _ = bench_mqtt(cluster.url("mqtt1"), dsn["mqtt1"], root, single,
                                  args.batch, 0, broker)
            print(f"MQTT  one reading a message: {len(single) / one_s:,.0f} readings/s "
                  f"({len(single)} readings, {one_s:.2f} s); load {machine_load()}")
        bound = bench_copy(dsn["bound"], batch)
        print(f"lower bound, raw COPY of the same readings: {len(batch) / bound:,.0f} "
              f"readings/s ({bound:.2f} s); load {machine_load()}")
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
