"""Readings over MQTT on a real broker (Debian's mosquitto, started in a temporary directory):
the simulator's scenarios, bad payloads, redelivery, the broker CLI, retention (issue 19)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.coding.jobs import make_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.demo.simulate_devices import (
    SimHouse,
    alerts_of,
    day_readings,
    pick_houses,
    publish_day,
    register_devices,
)
from cimhouse.safety.broker import BrokerAddress, EmbeddedBroker
from cimhouse.safety.check_inactivity import check_inactivity
from cimhouse.safety.ingest_log import ingest_status
from cimhouse.safety.ingest_readings import ensure_partitions
from cimhouse.safety.maintain_readings import TASK_NAME, maintain_readings, partitions
from cimhouse.safety.mqtt_ingest import MqttIngester, device_topic, gateway_topic
from cimhouse.safety.mqtt_publish import Publisher
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings
from tests.helpers.keys import TEST_KEY
from tests.helpers.mqtt_ingest import Running
from tests.helpers.ports import free_port
from tests.helpers.safety_world import COMMUNITY_A, COMMUNITY_B, SafetyWorld, safety_world

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SINCE = NOW - dt.timedelta(days=2)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerAddress]:
    embedded = EmbeddedBroker(tmp_path_factory.mktemp("mqtt"), port=free_port())
    embedded.start()
    try:
        yield embedded.address()
    finally:
        embedded.stop()


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("safety-mqtt")) as world:
        yield world


@pytest.fixture(scope="module")
def ingest(sw: SafetyWorld, broker: BrokerAddress) -> Iterator[Running]:
    running = Running(MqttIngester(sw.engine, broker, batch=500, max_wait=0.05,
                                   client_id="tests-ingest"))
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def houses(sw: SafetyWorld) -> dict[str, SimHouse]:
    with session_scope(sw.engine) as session:
        ready, _added = register_devices(session, pick_houses(session, 10, scope=None))
    return {next(k for k, v in sw.codes.items() if v == h.code): h for h in ready}


def simulate(running: Running, broker: BrokerAddress, house: SimHouse, scenario: str) -> int:
    """Publish the house's day over MQTT and wait until the ingester has had all of it."""
    before = running.received()
    with Publisher(broker) as publisher:
        sent = publish_day(publisher, [house], scenario, now=NOW)[scenario]
    running.wait_for(before + sent)
    return sent


def alert_kinds(sw: SafetyWorld, house: SimHouse) -> list[str]:
    with session_scope(sw.engine) as session:
        return sorted(str(a["kind"]) for a in alerts_of(session, [house], SINCE))


def test_simulated_houses_are_the_elderly_alone_with_seven_devices(
        houses: dict[str, SimHouse]) -> None:
    assert sorted(houses) == ["HA1", "HA2", "HB1"]
    kinds = dict(houses["HA1"].devices)
    assert len(kinds) == 7
    assert kinds["gas"] == "GAS-A1"  # a house's own device is reported for, not a new one
    assert kinds["smoke"].startswith("SIM-SMK-")


def test_gas_leak_over_mqtt_raises_exactly_one_alert(sw: SafetyWorld, broker: BrokerAddress,
                                                     ingest: Running,
                                                     houses: dict[str, SimHouse]) -> None:
    sent = simulate(ingest, broker, houses["HA1"], "gas")
    assert sent > 1000
    assert alert_kinds(sw, houses["HA1"]) == ["gas"]
    with session_scope(sw.engine) as session:
        occurrences = session.execute(text(
            "SELECT occurrences FROM safety_alert WHERE kind = 'gas' AND house_id = :h"),
            {"h": houses["HA1"].house_id}).scalar_one()
    assert occurrences == 3  # three readings over the threshold, folded into one alert


def test_a_normal_day_raises_none(sw: SafetyWorld, broker: BrokerAddress, ingest: Running,
                                  houses: dict[str, SimHouse]) -> None:
    simulate(ingest, broker, houses["HA2"], "normal")
    assert alert_kinds(sw, houses["HA2"]) == []
    with Session(sw.engine) as session, session.begin():
        # Only HA2 is asked about: with xdist, this module's tests may be shared between
        # workers, each with its own world, so HA1's day may never have been sent here.
        check_inactivity(session, now=NOW, scope=parse_scope(COMMUNITY_A), hours=8)
        inactive = session.execute(text(
            "SELECT count(*) FROM safety_alert WHERE kind = 'inactivity' AND house_id = :h"),
            {"h": houses["HA2"].house_id}).scalar_one()
        assert inactive == 0  # HA2 was up and about
        session.rollback()


@pytest.mark.parametrize(("scenario", "kind"), [("smoke", "smoke"), ("fall", "fall"),
                                                ("sos", "sos")])
def test_each_immediate_scenario_raises_its_alert(sw: SafetyWorld, broker: BrokerAddress,
                                                  ingest: Running, houses: dict[str, SimHouse],
                                                  scenario: str, kind: str) -> None:
    simulate(ingest, broker, houses["HA1"], scenario)
    assert kind in alert_kinds(sw, houses["HA1"])
    with session_scope(sw.engine) as session:
        count = session.execute(text(
            "SELECT count(*) FROM safety_alert WHERE kind = :k AND house_id = :h"),
            {"k": kind, "h": houses["HA1"].house_id}).scalar_one()
    assert count == 1


def test_a_silent_day_raises_inactivity_at_the_check(sw: SafetyWorld, broker: BrokerAddress,
                                                     ingest: Running,
                                                     houses: dict[str, SimHouse]) -> None:
    simulate(ingest, broker, houses["HB1"], "inactivity")
    assert alert_kinds(sw, houses["HB1"]) == []  # nothing on arrival
    with session_scope(sw.engine) as session:
        assert check_inactivity(session, now=NOW, scope=parse_scope(COMMUNITY_B), hours=8) == 1
    assert alert_kinds(sw, houses["HB1"]) == ["inactivity"]


def counts(sw: SafetyWorld) -> dict[str, int]:
    with session_scope(sw.engine) as session:
        status = ingest_status(session, since=SINCE.date())
    total: dict[str, int] = {}
    for row in status["counts"]:
        for name, value in row.items():
            if isinstance(value, int):
                total[name] = total.get(name, 0) + value
    return total


def stored(sw: SafetyWorld, uid: str) -> int:
    with session_scope(sw.engine) as session:
        return int(session.execute(text(
            "SELECT count(*) FROM device_reading r JOIN device d ON d.county = r.county "
            "AND d.id = r.device_id WHERE d.uid = :u"), {"u": uid}).scalar_one())


def test_bad_payloads_are_counted_and_good_ones_kept(sw: SafetyWorld, broker: BrokerAddress,
                                                     ingest: Running) -> None:
    # after the simulated days (they end at NOW), so nothing here is out of order
    at = (NOW + dt.timedelta(minutes=1)).isoformat()
    before, kept = counts(sw), stored(sw, "MOT-B1")
    good = {"metric": "motion", "ts": at, "value": 2}
    with Publisher(broker) as publisher:
        publisher.publish(device_topic("330402", "MOT-B1"), b"{not json")
        publisher.publish("cimhouse/33/MOT-B1/reading", good)  # not a county
        publisher.publish(device_topic("330402", "NOPE-1"), good)  # unknown device
        publisher.publish(device_topic("330411", "MOT-B1"), good)  # registered elsewhere
        publisher.publish(device_topic("330402", "MOT-B1"), [
            good, {"metric": "motion", "ts": at, "value": "x"},
            {"metric": "motion", "ts": "2026-12-01T08:00:00", "value": 1}, "text"])
        publisher.publish(gateway_topic("330402", "GW-7"), {"readings": [
            {"device": "MOT-B1", "metric": "motion",
             "ts": (NOW + dt.timedelta(minutes=2)).isoformat(), "value": 1},
            {"device": "MOT-B1", "metric": "gas_lel", "ts": at, "value": 50}]})
        publisher.publish(device_topic("330402", "MOT-B1"), good)  # sent again
    deadline = time.monotonic() + 30
    while counts(sw).get("received", 0) - before.get("received", 0) < 11 \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    after = counts(sw)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert delta == {"received": 11, "stored": 2, "malformed": 6, "unknown_device": 2,
                     "duplicate": 1, "out_of_order": 0}
    assert stored(sw, "MOT-B1") == kept + 2
    with session_scope(sw.engine) as session:
        reasons: dict[str, str] = dict(session.execute(text(
            "SELECT reason, reason_text FROM reading_reject")).all())
    assert set(reasons) == {"not_json", "bad_topic", "unknown_device", "bad_value", "bad_ts",
                            "not_object", "metric_not_for_kind"}
    assert reasons["not_json"] == "不是 JSON / payload is not JSON"
    assert ingest.thread.is_alive()  # none of it stopped the ingester


def test_ingesters_of_a_shared_subscription_split_columnar_batches(
        sw: SafetyWorld, broker: BrokerAddress) -> None:
    """``cimhouse safety ingest --processes N``: the ingesters of one MQTT 5 shared
    subscription group each take some of the messages; every reading is stored once, and a
    ragged columnar batch is one counted, recorded refusal."""
    runs = [Running(MqttIngester(sw.engine, broker, client_id=f"tests-share-{n}",
                                 share="tests")) for n in (1, 2)]
    at = NOW - dt.timedelta(hours=5, seconds=-17)  # seconds no simulated reading has
    before = stored(sw, "MOT-A2")
    try:
        with Publisher(broker) as publisher:
            for m in range(20):
                publisher.publish(gateway_topic("330402", "GW-S"), {"columns": {
                    "device": ["MOT-A2"], "metric": ["motion"], "value": [1],
                    "ts": [(at + dt.timedelta(minutes=m)).isoformat()]}})
            publisher.publish(gateway_topic("330402", "GW-S"), {"columns": {
                "device": ["MOT-A2"], "metric": ["motion"], "ts": [], "value": [1]}})
        deadline = time.monotonic() + 30
        while sum(r.received() for r in runs) < 21 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for run in runs:
            run.close()
    assert sum(r.received() for r in runs) == 21
    assert all(r.ingester.stats.messages > 0 for r in runs)  # each took a share
    assert stored(sw, "MOT-A2") == before + 20
    assert sum(r.ingester.stats.counts["malformed"] for r in runs) == 1
    with session_scope(sw.engine) as session:  # (the module's own ingester may record it too)
        assert session.execute(text(
            "SELECT count(*) FROM reading_reject WHERE reason = 'bad_columns'")).scalar()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[BrokerAddress]:
    """A broker of the test's own. With the module's broker, the children of
    ``--processes`` got no message at all while the module's plain ingester was connected
    (seen in CI; not yet explained, see docs/safety.md), so the count below was wrong."""
    embedded = EmbeddedBroker(tmp_path / "mqtt", port=free_port())
    embedded.start()
    try:
        yield embedded.address()
    finally:
        embedded.stop()


def test_cli_ingest_processes_share_the_topics_and_stop_together(
        sw: SafetyWorld, own_broker: BrokerAddress, tmp_path: Path) -> None:
    """``cimhouse safety ingest --processes 2``: two child ingesters in one shared
    subscription store the readings; SIGTERM to the command stops both, each printing its
    counts."""
    broker = own_broker
    env = {**os.environ, "CIMHOUSE_SECRET_KEY": TEST_KEY, "CIMHOUSE_VAR_DIR": str(tmp_path),
           "CIMHOUSE_DATABASE_URL": sw.engine.url.render_as_string(hide_password=False)}
    command = subprocess.Popen(
        [sys.executable, "-m", "cimhouse.cli.main", "safety", "ingest", "--mqtt",
         broker.url(hide_password=False), "--processes", "2", "--client-id", "tests-cli"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    subscribed = threading.Semaphore(0)

    def watch() -> None:
        assert command.stderr is not None
        for line in command.stderr:
            if "subscribed" in line:
                subscribed.release()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert subscribed.acquire(timeout=60)
        assert subscribed.acquire(timeout=60)
        at = NOW - dt.timedelta(hours=7, seconds=-23)
        before = stored(sw, "MOT-A2")
        with Publisher(broker) as publisher:
            for m in range(4):
                publisher.publish(gateway_topic("330402", "GW-C"), {"columns": {
                    "device": ["MOT-A2"], "metric": ["motion"], "value": [1],
                    "ts": [(at + dt.timedelta(minutes=m)).isoformat()]}})
        deadline = time.monotonic() + 60
        while stored(sw, "MOT-A2") < before + 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stored(sw, "MOT-A2") == before + 4
    finally:
        command.send_signal(signal.SIGTERM)
        out, _ = command.communicate(timeout=60)
    assert command.returncode == 0
    decoder, printed, at_char = json.JSONDecoder(), [], 0
    while out[at_char:].strip():
        at_char += len(out[at_char:]) - len(out[at_char:].lstrip())
        counts, at_char = decoder.raw_decode(out, at_char)
        printed.append(counts)
    assert sorted(c["client_id"] for c in printed) == ["tests-cli-1", "tests-cli-2"]
    assert sum(c.get("received", 0) for c in printed) == 4


def test_readings_sent_while_the_ingester_is_away_arrive(sw: SafetyWorld,
                                                         broker: BrokerAddress) -> None:
    first = Running(MqttIngester(sw.engine, broker, client_id="tests-away"))
    first.close()  # the broker now keeps a session for tests-away
    reading = {"metric": "motion", "ts": (NOW - dt.timedelta(minutes=1)).isoformat(),
               "value": 3}
    before = stored(sw, "MOT-A2")
    with Publisher(broker) as publisher:
        publisher.publish(device_topic("330402", "MOT-A2"), reading)
    again = Running(MqttIngester(sw.engine, broker, client_id="tests-away"))
    try:
        again.wait_for(1, timeout=30)
    finally:
        again.close()
    assert stored(sw, "MOT-A2") == before + 1


def test_day_readings_are_ordered_and_within_the_day() -> None:
    house = SimHouse("330402", 1, "3304020070240000000000001", 1,
                     (("gas", "G"), ("door", "D"), ("motion", "M")))
    day = day_readings(house, "door-night", NOW)
    times = [dt.datetime.fromisoformat(r["ts"]) for r in day["D"]]
    assert times == sorted(times)
    assert all(NOW - dt.timedelta(hours=24) < t <= NOW for t in times)
    assert [r["value"] for r in day["D"] if r["metric"] == "door"].count(1.0) == 1
    assert not any(r["value"] >= 10 for r in day["G"] if r["metric"] == "gas_lel")
    silent = day_readings(house, "silent", NOW)
    assert max(dt.datetime.fromisoformat(r["ts"]) for r in silent["M"]) < NOW - dt.timedelta(
        hours=6)


def test_maintain_makes_partitions_ahead_and_drops_past_retention(sw: SafetyWorld) -> None:
    with Session(sw.engine) as session, session.begin():
        ensure_partitions(session, {dt.date(2024, 1, 1), dt.date(2025, 11, 1)})
        result = maintain_readings(session, today=dt.date(2026, 12, 2), retention_months=13,
                                   months_ahead=2)
        names = partitions(session)
        assert "device_reading_202401" in result.dropped
        assert "device_reading_202401" not in names
        assert "device_reading_202511" in names  # 13 months back from December 2026
        assert {"device_reading_202612", "device_reading_202701",
                "device_reading_202702"} <= set(names)
        again = maintain_readings(session, today=dt.date(2026, 12, 2), retention_months=13)
        assert (again.created, again.dropped) == ([], [])
        session.rollback()


def test_the_worker_runs_maintenance_every_night(test_settings: Settings) -> None:
    procrastinate_app = make_app(test_settings, url="postgresql+psycopg://nobody@/none")
    task = procrastinate_app.tasks[TASK_NAME]
    assert task.queue == "safety"
    periodic = [p for p in procrastinate_app.periodic_registry.periodic_tasks.values()
                if p.task is task]
    assert [p.cron for p in periodic] == ["17 3 * * *"]


@pytest.mark.usefixtures("cli_env")
def test_cli_broker_and_maintain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMHOUSE_MQTT_PORT", str(free_port()))
    runner = CliRunner()
    invoke: Callable[..., object] = runner.invoke
    try:
        start = runner.invoke(app, ["broker", "start"])
        assert start.exit_code == 0, start.output
        status = runner.invoke(app, ["broker", "status", "--json"])
        assert status.exit_code == 0, status.output
        info = json.loads(status.output)
        assert info["running"] is True
        assert "***" in info["url"]  # the password is never printed by status
        assert (tmp_path / "var" / "mqtt" / "credentials").stat().st_mode & 0o077 == 0
        maintain = runner.invoke(app, ["safety", "maintain", "--today", "2026-12-02",
                                       "--json"])
        assert maintain.exit_code == 0, maintain.output
        assert "device_reading_202702" in json.loads(maintain.output)["created"]
        report = runner.invoke(app, ["safety", "ingest-status", "--json"])
        assert report.exit_code == 0, report.output
    finally:
        invoke(app, ["broker", "stop"])
    stopped = runner.invoke(app, ["broker", "status"])
    assert stopped.exit_code == 3


def test_cli_demo_devices_publishes_and_shows_the_alert(
        sw: SafetyWorld, broker: BrokerAddress, ingest: Running,
        monkeypatch: pytest.MonkeyPatch, test_settings: Settings) -> None:
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL", sw.engine.url.render_as_string(
        hide_password=False))
    monkeypatch.setenv("CIMHOUSE_SECRET_KEY", str(test_settings.secret_key_b64))
    monkeypatch.setenv("CIMHOUSE_MQTT_URL", broker.url(hide_password=False))
    before = ingest.received()
    result = CliRunner().invoke(app, ["demo", "devices", "--houses", "2", "--scenario", "mixed",
                                      "--now", NOW.isoformat(), "--wait", "8", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(summary["houses"].values()) == ["gas", "normal"]  # mixed: in turn
    assert summary["messages"] > 100
    assert ingest.received() > before
    gas_house = next(code for code, name in summary["houses"].items() if name == "gas")
    assert ("gas", gas_house) in {(a["kind"], a["house_code"]) for a in summary["alerts"]}
