"""The alert subscription over a real WebSocket (uvicorn, graphql-transport-ws), issue 19."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from cimhouse.db import EmbeddedCluster
from cimhouse.safety.policy import CHINA
from cimhouse.settings import Settings
from tests.helpers.live_alerts import live_server, next_alert, notify, subscribe, wait_subscribers
from tests.helpers.safety_world import SafetyWorld, safety_world


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("live")) as world:
        yield world


@pytest.fixture(scope="module")
def base(sw: SafetyWorld, test_settings: Settings) -> Iterator[str]:
    with live_server(test_settings, sw.engine) as url:
        yield url


def post_readings(base: str, token: str, readings: list[dict[str, object]]) -> dict[str, int]:
    reply = httpx.post(f"{base}/safety/readings", json={"readings": readings},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def alert_key(sw: SafetyWorld, kind: str, house: str) -> tuple[str, int]:
    with sw.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT a.county, a.id FROM safety_alert a JOIN house h ON h.county = a.county "
            "AND h.id = a.house_id WHERE a.kind = :k AND h.code = :c ORDER BY a.id DESC "
            "LIMIT 1"), {"k": kind, "c": sw.codes[house]}).one()
    return str(row.county), int(row.id)


def test_gas_alert_reaches_its_community_and_not_the_other(sw: SafetyWorld, base: str) -> None:
    at = dt.datetime(2026, 11, 26, 9, 0, tzinfo=CHINA)
    # one SOS alert in each community: B's is the marker that B's subscription is live
    post_readings(base, sw.tokens["gateway_a"], [
        {"device": "WEAR-A1", "metric": "sos", "ts": at.isoformat(), "value": 1}])
    with sw.engine.begin() as conn:  # B has no gateway token: its alert comes in directly
        conn.execute(text(
            "INSERT INTO safety_alert (county, kind, severity, house_id, opened_at, "
            "last_evidence_at) SELECT county, 'sos', 'high', id, now(), now() FROM house "
            "WHERE code = :c"), {"c": sw.codes["HB1"]})
    marker_b = alert_key(sw, "sos", "HB1")
    ws_a = subscribe(base, sw.tokens["staff_a"])
    ws_b = subscribe(base, sw.tokens["staff_b"], via_header=True)
    try:
        wait_subscribers(2)
        leak = [{"device": "GAS-A1", "metric": "gas_lel",
                 "ts": (at + dt.timedelta(seconds=i)).isoformat(), "value": 40} for i in range(3)]
        assert post_readings(base, sw.tokens["gateway_a"], leak)["alerts_opened"] == 1
        got = next_alert(ws_a)
        assert (got["kind"], got["state"], got["houseCode"]) == ("gas", "open", sw.codes["HA1"])
        assert got["personName"] == "王*"  # masked, as in safetyAlerts
        assert got["escalationLevel"] == 0  # no contacts in this world
        # B hears its own marker next: the gas alert before it in the queue was filtered out
        notify(sw.engine, [marker_b])
        seen_b = next_alert(ws_b)
        assert (seen_b["kind"], seen_b["houseCode"]) == ("sos", sw.codes["HB1"])
        # a change (acknowledged) reaches A again; B's marker alone reaches B
        reply = httpx.post(f"{base}/graphql", headers={
            "Authorization": f"Bearer {sw.tokens['staff_a']}"}, json={
            "query": "mutation($id: ID!) { acknowledgeSafetyAlert(id: $id) { __typename } }",
            "variables": {"id": got["id"]}}, timeout=30)
        assert reply.json()["data"]["acknowledgeSafetyAlert"]["__typename"] == "SafetyAlert"
        assert next_alert(ws_a)["state"] == "acknowledged"
        notify(sw.engine, [marker_b])
        assert next_alert(ws_b)["houseCode"] == sw.codes["HB1"]
    finally:
        ws_a.close()
        ws_b.close()


def refused(message: dict[str, object]) -> str:
    """The error text of a subscription that ended in an error."""
    assert message["type"] in ("next", "error"), message
    return json.dumps(message)


def test_a_bad_token_is_refused(base: str) -> None:
    for via_header in (False, True):
        ws = subscribe(base, "not-a-token", via_header=via_header)
        try:
            assert "invalid or revoked token" in refused(json.loads(ws.recv(timeout=10)))
        finally:
            ws.close()


def test_a_revoked_token_stops_hearing(sw: SafetyWorld, base: str) -> None:
    from cimhouse.db import session_scope
    from tests.helpers.graphql_world import issue_token

    with session_scope(sw.engine) as session:
        token = issue_token(session, "330402007024", "reader", name="live-revoked")
    ws = subscribe(base, token)
    try:
        wait_subscribers(1)
        with sw.engine.begin() as conn:
            conn.execute(text("UPDATE api_principal SET revoked_at = now() "
                              "WHERE name = 'live-revoked'"))
        with sw.engine.begin() as conn:  # its own alert: tests run on two workers
            conn.execute(text(
                "INSERT INTO safety_alert (county, kind, severity, house_id, opened_at, "
                "last_evidence_at) SELECT county, 'smoke', 'critical', id, now(), now() "
                "FROM house WHERE code = :c"), {"c": sw.codes["HA2"]})
        notify(sw.engine, [alert_key(sw, "smoke", "HA2")])
        assert "token" in refused(json.loads(ws.recv(timeout=10)))
    finally:
        ws.close()
