"""The columnar gateway batch (issue 19): the same checks, counts and reasons as the list of
reading objects, over the writer and HTTP; and values JSON can hold that once broke a whole
batch instead of being one bad reading."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster
from cimhouse.safety.check_readings import Columns, gateway_body
from cimhouse.safety.ingest_readings import IngestResult, ingest_readings
from cimhouse.settings import Settings
from tests.helpers.safety_world import SafetyWorld, safety_world

CHINA = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=CHINA)


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("columns")) as world:
        yield world


@pytest.fixture(scope="module")
def api(sw: SafetyWorld, test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, sw.engine))


def one(device: Any, metric: Any, ts: Any, value: Any) -> dict[str, Any]:
    return {"device": device, "metric": metric, "ts": ts, "value": value}


#: every outcome a reading can have, each once (the positions are the rejects' indexes)
MIXED: list[dict[str, Any]] = [
    one("MOT-A1", "motion", AT.isoformat(), 1.0),  # stored
    one("MOT-A1", "motion", AT.isoformat(), 1.0),  # duplicate in the batch
    one(" MOT-A1 ", "motion", (AT - dt.timedelta(hours=1)).isoformat(), 2),  # out of order
    one("MOT-A1", "gas_lel", AT.isoformat(), 50.0),  # metric_not_for_kind
    one("MOT-A1", "motion", "2026-11-24T09:00:00", 1),  # bad_ts (no offset)
    one("MOT-A1", "motion", AT.isoformat(), "many"),  # bad_value
    one("MOT-A1", "motion", AT.isoformat(), True),  # bad_value (a bool is no number)
    one("MOT-A1", "humidity", AT.isoformat(), 1.0),  # unknown_metric
    one("MOT-A1", ["motion"], AT.isoformat(), 1.0),  # unknown_metric (once: TypeError)
    one(None, "motion", AT.isoformat(), 1.0),  # device_missing
    one("  ", "motion", AT.isoformat(), 1.0),  # device_missing
    one("NOPE-9", "motion", AT.isoformat(), 1.0),  # unknown_device
    one("MOT-A1", "motion", "2030-01-01T00:00:00+08:00", 1.0),  # ts_out_of_range
    one("MOT-A1", "motion", True, 1.0),  # bad_ts
    one("MOT-A2", "motion", AT.timestamp() + 60, 0),  # stored (epoch seconds)
]
EXPECTED = {"received": 15, "stored": 3, "malformed": 10, "unknown_device": 1,
            "duplicate": 1, "out_of_order": 1, "alerts_opened": 0}


def columns_of(items: list[dict[str, Any]]) -> Columns:
    return Columns(*([item[name] for item in items] for name in ("device", "metric", "ts",
                                                                   "value")))


def outcome(result: IngestResult) -> tuple[dict[str, int], list[tuple[int, str | None, str]]]:
    return result.counts(), [(r.index, r.device, r.reason) for r in result.rejects]


def test_columns_give_the_outcome_of_the_same_readings_as_objects(sw: SafetyWorld) -> None:
    with Session(sw.engine) as session:
        objects = ingest_readings(session, MIXED, scope=None)
        session.rollback()
    with Session(sw.engine) as session:
        columns = ingest_readings(session, [], scope=None, columns=columns_of(MIXED))
        session.rollback()
    assert objects.counts() == EXPECTED
    assert outcome(columns) == outcome(objects)
    assert sorted((r.index, r.reason) for r in columns.rejects) == [
        (3, "metric_not_for_kind"), (4, "bad_ts"), (5, "bad_value"), (6, "bad_value"),
        (7, "unknown_metric"), (8, "unknown_metric"), (9, "device_missing"),
        (10, "device_missing"), (11, "unknown_device"), (12, "ts_out_of_range"),
        (13, "bad_ts")]


def test_objects_and_columns_in_one_batch_number_the_readings_in_order(
        sw: SafetyWorld) -> None:
    """MQTT batches hold both shapes: the columns' positions follow the objects'."""
    with Session(sw.engine) as session:
        result = ingest_readings(session, MIXED[:2], scope=None, columns=columns_of(MIXED[7:9]))
        session.rollback()
    assert (result.received, result.stored, result.duplicate) == (4, 1, 1)
    assert [(r.index, r.reason) for r in result.rejects] == [(2, "unknown_metric"),
                                                             (3, "unknown_metric")]


def post(api: TestClient, token: str, content: bytes) -> Any:
    return api.post("/safety/readings", content=content,
                    headers={"Authorization": f"Bearer {token}"})


def stored(sw: SafetyWorld, uid: str, at: dt.datetime) -> int:
    with sw.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM device_reading r JOIN device d ON d.county = r.county "
            "AND d.id = r.device_id WHERE d.uid = :u AND r.ts >= :at"),
            {"u": uid, "at": at}).scalar_one())


def test_http_takes_the_columnar_body_and_refuses_a_ragged_one(sw: SafetyWorld,
                                                               api: TestClient) -> None:
    at = AT + dt.timedelta(days=1)
    times = [(at + dt.timedelta(minutes=m)).isoformat() for m in range(3)]
    body = {"columns": {"device": ["MOT-A1"] * 3, "metric": ["motion"] * 3, "ts": times,
                        "value": [1, 0, 2]}}
    token = sw.tokens["gateway_a"]
    reply = post(api, token, json.dumps(body).encode())
    assert reply.status_code == 200
    assert (reply.json()["received"], reply.json()["stored"]) == (3, 3)
    assert post(api, token, json.dumps(body).encode()).json()["duplicate"] == 3
    later = [(at + dt.timedelta(hours=1, minutes=m)).isoformat() for m in range(3)]
    for refused in ({"columns": {**body["columns"], "ts": later[:2]}},  # ragged
                    {"columns": {**body["columns"], "ts": later, "extra": [1, 2, 3]}},
                    {"columns": {**body["columns"], "ts": later}, "readings": []},
                    {"columns": [1, 2, 3]}):
        assert post(api, token, json.dumps(refused).encode()).status_code == 422, refused
    assert stored(sw, "MOT-A1", at) == 3  # nothing of a refused body


def test_a_value_json_holds_but_python_cannot_is_one_bad_reading(sw: SafetyWorld,
                                                                 api: TestClient) -> None:
    """Regression: an integer beyond a float (``math.isfinite`` overflowed) or a list as the
    metric (unhashable in the metric set) raised in the writer and refused the whole body
    (500) with its good readings; NaN and 1e400 (orjson refuses them; ``json`` reads them)
    stay bad values of one reading each."""
    at = AT + dt.timedelta(days=2)
    good = one("MOT-A1", "motion", at.isoformat(), 1)
    payload = ('{"readings": [' + json.dumps(good) + ","
               '{"device": "MOT-A1", "metric": "motion", "ts": "' + at.isoformat()
               + '", "value": 1' + "0" * 400 + '},'
               '{"device": "MOT-A1", "metric": ["motion"], "ts": "' + at.isoformat()
               + '", "value": 1},'
               '{"device": "MOT-A1", "metric": "motion", "ts": "' + at.isoformat()
               + '", "value": NaN},'
               '{"device": "MOT-A1", "metric": "motion", "ts": "' + at.isoformat()
               + '", "value": 1e400}]}')
    reply = post(api, sw.tokens["gateway_a"], payload.encode())
    assert reply.status_code == 200, reply.text
    assert {k: reply.json()[k] for k in ("received", "stored", "malformed")} == {
        "received": 5, "stored": 1, "malformed": 4}
    assert stored(sw, "MOT-A1", at) == 1


def test_gateway_body_shapes() -> None:
    assert gateway_body(b'{"readings": [1]}') == ([1], None)
    assert gateway_body(b'{"columns": {"device": [], "metric": [], "ts": [], "value": []}}'
                        ) == ([], Columns([], [], [], []))
    assert gateway_body(b"{oops") == "not_json"
    assert gateway_body(b"[1]") == "not_object"
    assert gateway_body(b'{"readings": 1}') == "not_object"
    assert gateway_body(b'{"columns": {"device": [1], "metric": [], "ts": [], "value": []}}'
                        ) == "bad_columns"


def test_the_token_is_checked_in_a_transaction_of_its_own(sw: SafetyWorld,
                                                          api: TestClient) -> None:
    """Regression: ``authenticate`` writes ``last_used_at`` (once a minute) and that row lock
    was held through the whole ingestion, so one gateway's concurrent requests waited for
    each other and, under load, failed at the statement timeout (500). Now the token's
    transaction commits before the readings' begins."""
    with sw.engine.begin() as conn:  # force the once-a-minute write
        conn.execute(text("UPDATE api_principal SET last_used_at = NULL"))
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append("principal" if sql.startswith("UPDATE api_principal") else
                    "reading" if "device_reading" in sql or "reading_ingest_count" in sql
                    else "other")

    def commit(_conn: Any) -> None:
        seen.append("commit")

    event.listen(sw.engine, "before_cursor_execute", statement)
    event.listen(sw.engine, "commit", commit)
    try:
        at = AT + dt.timedelta(days=3)
        reply = post(api, sw.tokens["gateway_a"], json.dumps(
            {"readings": [one("MOT-A1", "motion", at.isoformat(), 1)]}).encode())
    finally:
        event.remove(sw.engine, "before_cursor_execute", statement)
        event.remove(sw.engine, "commit", commit)
    assert (reply.status_code, reply.json()["stored"]) == (200, 1)
    assert "principal" in seen
    after = seen[seen.index("principal"):]
    assert after.index("commit") < after.index("reading"), seen
