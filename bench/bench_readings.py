"""Benchmark: sustained reading ingestion (``ingest_readings``) next to raw COPY.

Run: .venv/bin/python bench/bench_readings.py                       (200,000 readings)
     .venv/bin/python bench/bench_readings.py --readings 50000 --batch 2000   (quick)

A throwaway cluster gets the real Zhejiang regions, one estate per Jiaxing county with
``--houses`` houses and a motion sensor, a gas detector and a water meter at each (set-based
SQL). Readings: every device sends one reading per minute, in time order, gas below the
alarm level (no alerts), generated before timing.

Timed: batches of ``--batch`` readings through ``ingest_readings`` as the HTTP endpoint runs
it (one session and transaction per batch: parse, device lookup in scope, partition check,
set-based INSERT ... ON CONFLICT, device update, rules). Lower bound, same run, same
readings: raw ``COPY`` into ``device_reading`` of a second database with the same schema on
one psycopg connection (no validation, no duplicate check, no device lookup).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.db.migrate import upgrade
from cimhouse.importers.load_regions import load_regions
from cimhouse.safety.ingest_readings import ensure_partitions, ingest_readings
from cimhouse.settings import Settings

KEY = "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoMTI="  # base64 of 32 bytes, synthetic only
KINDS = (("MOT", "motion", "motion"), ("GAS", "gas", "gas_lel"), ("WAT", "water_meter",
                                                                  "water_l"))

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


def build(dsn: str, houses: int) -> list[str]:
    with psycopg.connect(dsn) as raw:
        for statement in WORLD.split(";\n"):
            raw.execute(statement.replace("%(houses)s", str(houses)))
        raw.commit()
        return [r[0] for r in raw.execute("SELECT uid FROM device ORDER BY id").fetchall()]


def readings(uids: list[str], count: int) -> list[dict[str, Any]]:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    metric = {prefix: m for prefix, _, m in KINDS}
    out = []
    for n in range(count):
        uid = uids[n % len(uids)]
        ts = start + dt.timedelta(minutes=n // len(uids))
        out.append({"device": uid, "metric": metric[uid[:3]], "ts": ts.isoformat(),
                    "value": float(n % 3)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--houses", type=int, default=100, help="per county (7 counties)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-readings-"))
    cluster = EmbeddedCluster(root / "pg")
    cluster.start()
    try:
        engines = {}
        for name in ("bench", "bound"):
            cluster.ensure_database(name)
            engines[name] = make_engine(Settings(var_dir=root, secret_key_b64=KEY),
                                        url=cluster.url(name))
            upgrade(engines[name])
            with session_scope(engines[name]) as session:
                load_regions(session, actor="bench")
        dsn = {n: cluster.url(n).replace("postgresql+psycopg", "postgresql") for n in engines}
        uids = build(dsn["bench"], args.houses)
        build(dsn["bound"], args.houses)
        batch = readings(uids, args.readings)
        print(f"data: {len(uids)} devices, {len(batch)} readings, batches of {args.batch}, "
              f"load {os.getloadavg()[0]:.1f}")
        started, stored = time.perf_counter(), 0
        for i in range(0, len(batch), args.batch):
            with session_scope(engines["bench"]) as session:
                stored += ingest_readings(session, batch[i:i + args.batch], scope=None).stored
        ingest = time.perf_counter() - started
        with session_scope(engines["bound"]) as session:
            ensure_partitions(session, {dt.date(2026, 11, 1), dt.date(2026, 12, 1)})
        with psycopg.connect(dsn["bound"]) as raw:
            ids: dict[str, int] = dict(raw.execute("SELECT uid, id FROM device").fetchall())
            county: dict[str, str] = dict(raw.execute("SELECT uid, county FROM device").fetchall())
            rows = [(county[r["device"]], ids[r["device"]], r["metric"], r["ts"], r["value"])
                    for r in batch]
            started = time.perf_counter()
            with raw.cursor().copy("COPY device_reading (county, device_id, metric, ts, value) "
                                   "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
            bound = time.perf_counter() - started
        print(f"ingest_readings: {stored} stored in {ingest:.2f} s = "
              f"{stored / ingest:,.0f} readings/s")
        print(f"lower bound, raw COPY of the same readings: {len(rows) / bound:,.0f} "
              f"readings/s ({bound:.2f} s)")
        for eng in engines.values():
            eng.dispose()
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
