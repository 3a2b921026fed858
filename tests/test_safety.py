"""Home safety (issue 19): device import, reading ingestion over HTTP, rules, alerts, scope."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.api.app import create_app
from cimhouse.cli.main import app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.importers.devices.import_devices import import_devices
from cimhouse.importers.rejects import REASONS_COLUMN
from cimhouse.pii import PiiVault
from cimhouse.safety.check_inactivity import check_inactivity, daytime_window_start
from cimhouse.safety.ingest_readings import ingest_readings
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings
from tests.helpers.graphql_world import post
from tests.helpers.safety_world import (
    COMMUNITY_A,
    SafetyWorld,
    device_rows,
    safety_world,
    write_devices,
)

CHINA = ZoneInfo("Asia/Shanghai")
ALERTS = "query($kind: AlertKind) { safetyAlerts(kind: $kind) { id kind state severity " \
         "houseCode personName occurrences evidence } }"


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("safety")) as world:
        yield world


@pytest.fixture(scope="module")
def api(sw: SafetyWorld, test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, sw.engine))


def send(api: TestClient, token: str | None, readings: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.post("/safety/readings", json={"readings": readings}, headers=headers)


def reading(device: str, metric: str, ts: dt.datetime, value: float) -> dict[str, Any]:
    return {"device": device, "metric": metric, "ts": ts.isoformat(), "value": value}


def stored_count(sw: SafetyWorld, uid: str) -> int:
    with sw.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM device_reading r JOIN device d ON d.county = r.county "
            "AND d.id = r.device_id WHERE d.uid = :u"), {"u": uid}).scalar_one())


def test_import_devices_accounts_for_every_row_and_reruns(sw: SafetyWorld, tmp_path: Path,
                                                          test_settings: Settings) -> None:
    vault = PiiVault.from_settings(test_settings)
    rows = device_rows(sw.codes, sw.id_numbers)
    bad = [["", "gas", sw.codes["HA1"], "", ""],
           ["X-1", "toaster", sw.codes["HA1"], "", ""],
           ["X-2", "gas", "3304020070240000000000099", "", ""],
           ["X-3", "wearable", sw.codes["HA1"], "330402194003010015", "101"],
           ["GAS-A1", "gas", sw.codes["HA1"], "", ""]]  # again in the same file
    path = write_devices(tmp_path / "d.csv", [*rows, *bad])
    with Session(sw.engine) as session, session.begin():
        result = import_devices(session, path, vault=vault, actor="tests",
                                report_path=tmp_path / "rejects.csv")
        assert result.read == len(rows) + len(bad)
        assert result.accepted + result.rejected == result.read
        assert (result.unchanged, result.added, result.updated, result.rejected) == (
            len(rows), 0, 0, len(bad))
        session.rollback()
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig") as handle:
        report = list(csv.DictReader(handle))
    assert len(report) == len(bad)
    assert all(" / " in r[REASONS_COLUMN] for r in report)  # Chinese / English
    assert "330402194003010015" not in (tmp_path / "rejects.csv").read_text("utf-8-sig")
    assert any("佩戴人不存在" in r[REASONS_COLUMN] for r in report)


def test_gas_leak_raises_one_alert_seen_by_its_community_only(sw: SafetyWorld,
                                                              api: TestClient) -> None:
    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=CHINA)
    leak = [reading("GAS-A1", "gas_lel", start + dt.timedelta(seconds=10 * i), 15.0 + i)
            for i in range(6)]
    reply = send(api, sw.tokens["gateway_a"], [reading("GAS-A1", "gas_lel", start
                                                       - dt.timedelta(minutes=1), 1.0), *leak])
    assert reply.status_code == 200, reply.text
    assert reply.json()["stored"] == 7
    assert reply.json()["alerts_opened"] == 1
    more = send(api, sw.tokens["gateway_a"],
                [reading("GAS-A1", "gas_lel", start + dt.timedelta(minutes=5), 30.0)])
    assert more.json()["alerts_opened"] == 0  # folds into the open alert
    mine = post(api, sw.tokens["staff_a"], ALERTS, {"kind": "GAS"})["data"]["safetyAlerts"]
    assert len(mine) == 1
    assert mine[0]["occurrences"] == 7
    assert mine[0]["state"] == "open"
    assert mine[0]["personName"] == "王*"
    assert mine[0]["houseCode"] == sw.codes["HA1"]
    assert mine[0]["severity"] == "critical"
    other = post(api, sw.tokens["staff_b"], ALERTS, {"kind": "GAS"})["data"]["safetyAlerts"]
    assert other == []
    reader = post(api, sw.tokens["reader_a"], ALERTS, {"kind": "GAS"})["data"]["safetyAlerts"]
    assert reader[0]["personName"] is None  # persons need person_reader


def test_alert_is_acknowledged_then_resolved_in_scope_only(sw: SafetyWorld,
                                                           api: TestClient) -> None:
    at = dt.datetime(2026, 11, 21, 10, 0, tzinfo=CHINA)
    send(api, sw.tokens["gateway_a"], [reading("WEAR-A1", "sos", at, 1.0)])
    alert = post(api, sw.tokens["staff_a"], ALERTS, {"kind": "SOS"})["data"]["safetyAlerts"][0]
    change = ("mutation($id: ID!) { %s(id: $id) { __typename ... on SafetyAlert { state } "
              "... on UserError { message } } }")
    foreign = post(api, sw.tokens["staff_b"], change % "acknowledgeSafetyAlert",
                   {"id": alert["id"]})["data"]["acknowledgeSafetyAlert"]
    assert foreign["__typename"] == "NotFoundError"
    ack = post(api, sw.tokens["staff_a"], change % "acknowledgeSafetyAlert",
               {"id": alert["id"]})["data"]["acknowledgeSafetyAlert"]
    assert ack == {"__typename": "SafetyAlert", "state": "acknowledged"}
    done = post(api, sw.tokens["staff_a"], change % "resolveSafetyAlert",
                {"id": alert["id"]})["data"]["resolveSafetyAlert"]
    assert done == {"__typename": "SafetyAlert", "state": "resolved"}
    again = post(api, sw.tokens["staff_a"], change % "resolveSafetyAlert",
                 {"id": alert["id"]})["data"]["resolveSafetyAlert"]
    assert again["__typename"] == "ConflictError"
    # after resolution a new SOS is a new alert
    assert send(api, sw.tokens["gateway_a"], [reading("WEAR-A1", "sos", at + dt.timedelta(
        hours=1), 1.0)]).json()["alerts_opened"] == 1


def test_bad_input_is_counted_and_good_readings_kept(sw: SafetyWorld, api: TestClient) -> None:
    at = dt.datetime(2026, 11, 22, 8, 0, tzinfo=CHINA)
    before = stored_count(sw, "MOT-A1")
    batch: list[Any] = [
        reading("MOT-A1", "motion", at, 1.0),
        reading("MOT-A1", "motion", at, 1.0),  # duplicate in the batch
        reading("MOT-A1", "motion", at - dt.timedelta(hours=1), 2.0),  # out of order, kept
        reading("MOT-A1", "gas_lel", at, 50.0),  # a motion sensor sends no gas
        {"device": "MOT-A1", "metric": "motion", "ts": "2026-11-22T08:00:00", "value": 1},
        {"device": "MOT-A1", "metric": "motion", "ts": at.isoformat(), "value": "many"},
        reading("MOT-A1", "humidity", at, 1.0),
        "not an object",
        reading("NOPE-9", "motion", at, 1.0),  # unknown
        reading("GAS-B1", "gas_lel", at, 99.0),  # community B: unknown to A's gateway
        reading("MOT-A1", "motion", dt.datetime(2030, 1, 1, tzinfo=CHINA), 1.0),  # future
    ]
    reply = send(api, sw.tokens["gateway_a"], batch)
    assert reply.status_code == 200
    body = reply.json()
    assert {k: body[k] for k in ("received", "stored", "malformed", "unknown_device",
                                 "duplicate", "out_of_order", "alerts_opened")} == {
        "received": 11, "stored": 2, "malformed": 6, "unknown_device": 2, "duplicate": 1,
        "out_of_order": 1, "alerts_opened": 0}
    assert stored_count(sw, "MOT-A1") == before + 2
    assert stored_count(sw, "GAS-B1") == 0
    resent = send(api, sw.tokens["gateway_a"], batch[:3]).json()
    assert (resent["stored"], resent["duplicate"]) == (0, 3)
    assert api.post("/safety/readings", content=b"{oops",
                    headers={"Authorization": f"Bearer {sw.tokens['gateway_a']}"}
                    ).status_code == 422  # invalid input, the app's error table
    assert send(api, None, batch).status_code == 401
    assert send(api, sw.tokens["staff_a"], batch).status_code == 403  # not a gateway


def test_each_reading_keeps_its_own_time_outcome_in_a_batch(sw: SafetyWorld) -> None:
    """The writer checks each distinct ``ts`` text once per batch: every reading still gets
    its own outcome (``True`` is no epoch 1, one instant in two offsets is a duplicate)."""
    at = dt.datetime(2026, 11, 23, 3, 17, tzinfo=CHINA)
    batch: list[Any] = [
        reading("MOT-A1", "motion", at, 1.0),
        reading("MOT-A1", "motion", at.astimezone(dt.UTC), 1.0),  # the same instant
        {"device": "MOT-A1", "metric": "motion", "ts": True, "value": 1},
        {"device": "MOT-A1", "metric": "motion", "ts": 1, "value": 1},  # 1970
        {"device": "MOT-A1", "metric": "motion", "ts": "yesterday", "value": 1},
        {"device": "MOT-A1", "metric": "motion", "ts": "yesterday", "value": 1},
        reading("MOT-A1", "motion", at + dt.timedelta(minutes=1), 0.0),
    ]
    with Session(sw.engine) as session:
        result = ingest_readings(session, batch, scope=None)
        session.rollback()
    assert (result.received, result.stored, result.duplicate, result.malformed) == (7, 2, 1, 4)
    assert [(r.index, r.reason) for r in result.rejects] == [
        (2, "bad_ts"), (3, "ts_out_of_range"), (4, "bad_ts"), (5, "bad_ts")]


def _day(session: Session, uid: str, day: dt.date, *, active: bool) -> None:
    readings = [reading(uid, "motion", dt.datetime.combine(day, dt.time(h), CHINA),
                        1.0 if active else 0.0) for h in range(7, 20)]
    result = ingest_readings(session, readings, scope=None)
    assert result.stored == len(readings)


def test_silent_day_raises_inactivity_and_normal_day_none(sw: SafetyWorld) -> None:
    day = dt.date(2026, 11, 10)
    evening = dt.datetime.combine(day, dt.time(20), CHINA)
    with Session(sw.engine) as session, session.begin():
        _day(session, "MOT-A1", day, active=False)  # reports, but nobody moves
        _day(session, "MOT-A2", day, active=True)  # a normal day
        scope = parse_scope(COMMUNITY_A)
        assert check_inactivity(session, now=evening, scope=scope, hours=8) == 1
        # the same silence again: the open alert is left alone, no second occurrence
        assert check_inactivity(session, now=evening, scope=scope, hours=8) == 0
        rows = session.execute(text(
            "SELECT h.code, a.occurrences FROM safety_alert a JOIN house h ON h.county = "
            "a.county AND h.id = a.house_id WHERE a.kind = 'inactivity'")).all()
        assert [(r.code, r.occurrences) for r in rows] == [(sw.codes["HA1"], 1)]
        # the morning after a normal day: the night does not count, so no alert
        morning = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), CHINA)
        assert check_inactivity(session, now=morning, scope=scope, hours=8) == 0
        session.rollback()


def test_daytime_window_skips_the_night() -> None:
    nine = dt.datetime(2026, 12, 2, 9, 0, tzinfo=CHINA)
    assert daytime_window_start(nine, 4) == dt.datetime(2026, 12, 1, 19, 0, tzinfo=CHINA)
    assert daytime_window_start(nine, 1) == dt.datetime(2026, 12, 2, 8, 0, tzinfo=CHINA)


def test_readings_table_is_partitioned_by_month_with_brin(sw: SafetyWorld) -> None:
    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("MOT-A2", "motion", dt.datetime(
            2026, 9, 3, 10, tzinfo=CHINA), 1.0)], scope=None)
        parts = session.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'device_reading'::regclass")).scalars().all()
        method = session.execute(text(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'ix_device_reading_ts'")).scalar_one()
    assert "device_reading_202609" in parts
    assert method == "brin"


@pytest.mark.usefixtures("cli_env")
def test_cli_import_devices_reports_every_row_and_check_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    path = write_devices(tmp_path / "devices.csv", [
        ["GAS-9", "燃气报警器", "3304020070240000000000099", "", ""],
        ["GAS-10", "kettle", "3304020070240000000000099", "", ""]])
    report = tmp_path / "rejects.csv"
    result = runner.invoke(app, ["import", "devices", str(path), "--report", str(report),
                                 "--json"])
    assert result.exit_code == 1, result.output  # done, some rows rejected
    summary = json.loads(result.output)
    assert (summary["read"], summary["accepted"], summary["rejected"]) == (2, 0, 2)
    assert "房屋编码不存在 / no house with this code" in report.read_text("utf-8-sig")
    check = runner.invoke(app, ["safety", "check-inactivity", "--scope", COMMUNITY_A,
                                "--now", "2026-11-10T20:00+08:00", "--json"])
    assert check.exit_code == 0, check.output
    assert json.loads(check.output)["opened"] == 0
