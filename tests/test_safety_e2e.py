"""End to end on the real broker (issue 19): a simulated gas leak published over MQTT
(mosquitto) -> ``cimhouse safety ingest`` -> exactly one alert -> the alert subscription
(graphql-transport-ws, uvicorn) of the community's token, and not another community's."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed

from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.demo.simulate_devices import SimHouse, pick_houses, publish_day, register_devices
from cimhouse.safety.broker import BrokerAddress, EmbeddedBroker
from cimhouse.safety.mqtt_ingest import MqttIngester
from cimhouse.safety.mqtt_publish import Publisher
from cimhouse.settings import Settings
from tests.helpers.live_alerts import live_server, next_alert, notify, subscribe, wait_subscribers
from tests.helpers.mqtt_ingest import Running
from tests.helpers.ports import free_port
from tests.helpers.safety_world import SafetyWorld, safety_world

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("e2e")) as world:
        yield world


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerAddress]:
    embedded = EmbeddedBroker(tmp_path_factory.mktemp("mqtt-e2e"), port=free_port())
    embedded.start()
    try:
        yield embedded.address()
    finally:
        embedded.stop()


def test_simulated_gas_leak_reaches_the_community_subscription_only(
        sw: SafetyWorld, broker: BrokerAddress, test_settings: Settings) -> None:
    with session_scope(sw.engine) as session:
        ready, _added = register_devices(session, pick_houses(session, 10, scope=None))
    house: SimHouse = next(h for h in ready if h.code == sw.codes["HA1"])
    with sw.engine.begin() as conn:  # B's marker: proves B's subscription is live
        marker = conn.execute(text(
            "INSERT INTO safety_alert (county, kind, severity, house_id, opened_at, "
            "last_evidence_at) SELECT county, 'sos', 'high', id, now(), now() FROM house "
            "WHERE code = :c RETURNING county, id"), {"c": sw.codes["HB1"]}).one()
    ingest = Running(MqttIngester(sw.engine, broker, batch=500, max_wait=0.05,
                                  client_id="tests-e2e"))
    try:
        with live_server(test_settings, sw.engine) as base:
            ws_a = subscribe(base, sw.tokens["staff_a"])
            ws_b = subscribe(base, sw.tokens["staff_b"])
            try:
                wait_subscribers(2)
                with Publisher(broker) as publisher:
                    sent = publish_day(publisher, [house], "gas", now=NOW)["gas"]
                ingest.wait_for(sent)
                got = next_alert(ws_a, timeout=30)
                assert (got["kind"], got["state"], got["houseCode"]) == (
                    "gas", "open", sw.codes["HA1"])
                assert got["personName"] == "王*"
                # the leak's further readings fold into the same alert (changes of it)
                while True:
                    try:
                        again = json.loads(ws_a.recv(timeout=1.0))
                    except TimeoutError:
                        break
                    assert again["payload"]["data"]["safetyAlertChanges"]["id"] == got["id"]
                notify(sw.engine, [(str(marker.county), int(marker.id))])
                seen_b = next_alert(ws_b)  # the marker: the gas alert never reached B
                assert (seen_b["kind"], seen_b["houseCode"]) == ("sos", sw.codes["HB1"])
            finally:
                for ws in (ws_a, ws_b):
                    with contextlib.suppress(ConnectionClosed):
                        ws.close()
    finally:
        ingest.close()
    with sw.engine.connect() as conn:
        kinds = conn.execute(text(
            "SELECT a.kind, a.occurrences FROM safety_alert a JOIN house h ON h.county = "
            "a.county AND h.id = a.house_id WHERE h.code = :c"), {"c": sw.codes["HA1"]}).all()
    assert [(k.kind, k.occurrences) for k in kinds] == [("gas", 3)]  # exactly one alert
