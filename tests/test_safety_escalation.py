"""Clock-driven rules (door at night, offline), escalation on a controllable clock, contacts,
deliveries through the job queue into the in-app channel, aggregated readings (issue 19)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import procrastinate
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from cimhouse.api.app import create_app
from cimhouse.coding.jobs import libpq_conninfo
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.delivery.sign import SecretBox, new_secret, verify_signature
from cimhouse.pii import PiiVault
from cimhouse.safety.change_alert import change_alert
from cimhouse.safety.check_devices import check_door_night, check_offline
from cimhouse.safety.clock import ManualClock
from cimhouse.safety.escalate import DELIVERY_QUEUE
from cimhouse.safety.ingest_readings import ingest_readings
from cimhouse.safety.manage_contacts import ContactData, add_contact
from cimhouse.safety.policy import CHINA, SafetyPolicy
from cimhouse.safety.tasks import register_safety_tasks
from cimhouse.safety.tick import run_tick
from cimhouse.schema import Device, House
from cimhouse.schema.safety import SafetyAlert
from cimhouse.settings import Settings
from tests.helpers.delivery_worker import run_until_settled
from tests.helpers.graphql_world import post
from tests.helpers.receiver import Receiver
from tests.helpers.safety_world import COMMUNITY_A, COMMUNITY_B, SafetyWorld, safety_world

PHONES = ("13812345678", "13900001111", "13700002222", "13600003333")


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("escalation")) as world:
        vault = PiiVault.from_settings(test_settings)
        with session_scope(world.engine) as session:
            for uid, house in (("DOOR-A1", "HA1"), ("DOOR-A2", "HA2")):
                session.add(Device(county="330402", uid=uid, kind="door", heartbeat_s=600,
                                   house_id=_house_id(session, world.codes[house])))
            for data in (
                    ContactData(COMMUNITY_A, "grid_worker", 1, "网格员甲", PHONES[0]),
                    ContactData(COMMUNITY_A, "community_staff", 2, "社区乙", PHONES[1]),
                    ContactData(COMMUNITY_A, "family", 3, "女儿丙", PHONES[2],
                                house_code=world.codes["HA1"]),
                    ContactData(COMMUNITY_B, "grid_worker", 1, "网格员丁", PHONES[3])):
                add_contact(session, data, vault=vault, scope=None, actor="tests")
        yield world


@pytest.fixture(scope="module")
def api(sw: SafetyWorld, test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, sw.engine))


def _house_id(session: Session, code: str) -> int:
    return int(session.scalars(select(House.id).where(House.code == code)).one())


def reading(device: str, metric: str, ts: dt.datetime, value: float) -> dict[str, Any]:
    return {"device": device, "metric": metric, "ts": ts.isoformat(), "value": value}


def alerts_of(session: Session, kind: str, code: str) -> list[SafetyAlert]:
    return list(session.scalars(
        select(SafetyAlert).join(House, (House.county == SafetyAlert.county)
                                 & (House.id == SafetyAlert.house_id))
        .where(SafetyAlert.kind == kind, House.code == code).order_by(SafetyAlert.id)))


def events(engine: Engine, alert: SafetyAlert) -> list[tuple[str, int, str | None]]:
    with engine.connect() as conn:
        return [(r.kind, r.level, r.name) for r in conn.execute(text(
            "SELECT e.kind, e.level, c.name FROM safety_alert_event e LEFT JOIN safety_contact c"
            " ON c.county = e.county AND c.id = e.contact_id WHERE e.county = :c AND "
            "e.alert_id = :a ORDER BY e.id"), {"c": alert.county, "a": alert.id})]


def run_deliveries(engine: Engine, clock: ManualClock, settings: Settings) -> None:
    """What ``cimhouse worker`` does for the safety queue, until the queue is empty."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=libpq_conninfo(engine.url.render_as_string(hide_password=False))))
    register_safety_tasks(app, lambda: engine, settings, clock=clock, periodic=False)
    app.run_worker(queues=[DELIVERY_QUEUE], wait=False, install_signal_handlers=False,
                   listen_notify=False)


def test_unacknowledged_alert_escalates_on_time(sw: SafetyWorld, test_settings: Settings
                                                ) -> None:
    clock = ManualClock(dt.datetime(2026, 11, 25, 9, 0, tzinfo=CHINA))
    policy = SafetyPolicy()  # critical: 5 minutes per step
    with session_scope(sw.engine) as session:
        result = ingest_readings(session, [reading("GAS-A1", "gas_lel", clock.now(), 30.0)],
                                 scope=None, now=clock.now())
        assert result.alerts_opened == 1
    with Session(sw.engine) as session:
        (alert,) = alerts_of(session, "gas", sw.codes["HA1"])
        assert (alert.state, alert.escalation_level) == ("open", 1)
        assert alert.ack_due_at == clock.now() + dt.timedelta(minutes=5)
    assert events(sw.engine, alert) == [("opened", 0, None), ("notified", 1, "网格员甲")]
    run_deliveries(sw.engine, clock, test_settings)  # the job queue delivers into the in-app inbox
    assert events(sw.engine, alert)[-1] == ("delivered", 1, "网格员甲")

    def tick(**advance: float) -> dict[str, Any]:
        clock.advance(**advance)
        with session_scope(sw.engine) as session:
            return run_tick(session, clock=clock, policy=policy, scope=None)

    def gas() -> SafetyAlert:
        with Session(sw.engine) as session:
            return alerts_of(session, "gas", sw.codes["HA1"])[0]

    tick(minutes=4, seconds=59)
    assert (gas().state, gas().escalation_level) == ("open", 1)  # one second early: nothing
    tick(seconds=1)  # the deadline: community staff
    assert (gas().state, gas().escalation_level) == ("escalated", 2)
    assert gas().ack_due_at == clock.now() + dt.timedelta(minutes=5)
    tick(minutes=5)  # the family contact of this very house
    assert gas().escalation_level == 3
    tick(minutes=5)  # nobody left
    assert gas().ack_due_at is None
    tick(minutes=30)
    run_deliveries(sw.engine, clock, test_settings)
    assert events(sw.engine, gas()) == [
        ("opened", 0, None), ("notified", 1, "网格员甲"), ("delivered", 1, "网格员甲"),
        ("escalated", 2, "社区乙"), ("escalated", 3, "女儿丙"), ("exhausted", 3, None),
        ("delivered", 3, "社区乙"), ("delivered", 3, "女儿丙")]
    with sw.engine.connect() as conn:
        told = conn.execute(text(
            "SELECT c.name FROM safety_notification n JOIN safety_contact c ON c.county = "
            "n.county AND c.id = n.contact_id WHERE n.alert_id = :a ORDER BY n.id"),
            {"a": gas().id}).scalars().all()
        logged = conn.execute(text(
            "SELECT string_agg(detail::text, ' ') FROM safety_alert_event")).scalar_one()
        logged += conn.execute(text(
            "SELECT string_agg(coalesce(detail::text, ''), ' ') FROM audit_log")).scalar_one()
        logged += conn.execute(text(
            "SELECT string_agg(title || body::text, ' ') FROM safety_notification")).scalar_one()
    assert told == ["网格员甲", "社区乙", "女儿丙"]  # B's grid worker never
    assert not any(phone in logged for phone in PHONES)  # phones are never logged


def test_acknowledged_in_time_does_not_escalate(sw: SafetyWorld) -> None:
    clock = ManualClock(dt.datetime(2026, 11, 25, 14, 0, tzinfo=CHINA))
    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("WEAR-A1", "fall", clock.now(), 1.0)], scope=None,
                        now=clock.now())
        (alert,) = alerts_of(session, "fall", sw.codes["HA1"])
        clock.advance(minutes=14)  # high: 15 minutes
        change_alert(session, alert.county, alert.id, "acknowledge", scope=None,
                     actor="api:staff", now=clock.now())
    clock.advance(minutes=60)
    with session_scope(sw.engine) as session:
        run_tick(session, clock=clock, policy=SafetyPolicy(), scope=None)
        (alert,) = alerts_of(session, "fall", sw.codes["HA1"])
        assert (alert.state, alert.escalation_level, alert.ack_due_at) == (
            "acknowledged", 1, None)
    assert [e[0] for e in events(sw.engine, alert)] == ["opened", "notified", "acknowledged"]


def test_door_open_at_night_raises_once_and_folds(sw: SafetyWorld) -> None:
    policy = SafetyPolicy(door_minutes=30)  # night 22:00-06:00 China time
    night = dt.datetime(2026, 11, 27, 23, 0, tzinfo=CHINA)
    code = sw.codes["HA1"]

    def check(at: dt.datetime) -> int:
        with session_scope(sw.engine) as session:
            return check_door_night(session, now=at, policy=policy, scope=None)

    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("DOOR-A1", "door", night, 1.0)], scope=None,
                        now=night)
    assert check(night + dt.timedelta(minutes=29)) == 0
    assert check(night + dt.timedelta(minutes=31)) == 1
    assert check(night + dt.timedelta(minutes=45)) == 0  # the same door: folds
    with session_scope(sw.engine) as session:
        (alert,) = alerts_of(session, "door_night", code)
        assert (alert.occurrences, alert.severity) == (2, "high")
        change_alert(session, alert.county, alert.id, "resolve", scope=None, actor="tests",
                     now=night + dt.timedelta(minutes=50))
    assert check(night + dt.timedelta(minutes=55)) == 0  # resolved: the same episode is over
    with session_scope(sw.engine) as session:  # closed, then opened again after midnight
        ingest_readings(session, [reading("DOOR-A1", "door", night + dt.timedelta(hours=1), 0),
                                  reading("DOOR-A1", "door", night + dt.timedelta(hours=2), 1)],
                        scope=None, now=night + dt.timedelta(hours=2))
    assert check(night + dt.timedelta(hours=2, minutes=10)) == 0
    assert check(night + dt.timedelta(hours=2, minutes=40)) == 1  # a new episode
    # open from 21:00 counts from 22:00; in the daytime it never counts
    evening = dt.datetime(2026, 11, 28, 21, 0, tzinfo=CHINA)
    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("DOOR-A2", "door", evening, 1.0)], scope=None,
                        now=evening)
    assert check(evening + dt.timedelta(minutes=80)) == 0  # 22:20: 20 night minutes
    assert check(evening + dt.timedelta(hours=1, minutes=31)) == 1
    assert check(dt.datetime(2026, 11, 29, 12, 0, tzinfo=CHINA)) == 0


def test_silent_device_raises_offline_and_folds(sw: SafetyWorld) -> None:
    seen = dt.datetime(2026, 11, 29, 10, 0, tzinfo=CHINA)  # MOT-B1: heartbeat 3600 s
    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("MOT-B1", "motion", seen, 1.0)], scope=None, now=seen)

    def check(minutes: int) -> int:
        with session_scope(sw.engine) as session:
            session.execute(text("UPDATE device SET status = 'inactive' WHERE uid <> 'MOT-B1'"))
            opened = check_offline(session, now=seen + dt.timedelta(minutes=minutes),
                                   scope=None)
            session.execute(text("UPDATE device SET status = 'active'"))
            return opened

    assert check(59) == 0
    assert check(61) == 1
    assert check(90) == 0  # folds into the open alert
    with session_scope(sw.engine) as session:
        (alert,) = alerts_of(session, "offline", sw.codes["HB1"])
        assert (alert.occurrences, alert.severity) == (2, "medium")
        assert alert.evidence["readings"][0]["device"] == "MOT-B1"
        change_alert(session, alert.county, alert.id, "resolve", scope=None, actor="tests")
    assert check(120) == 0  # the same silence, resolved: no new alert
    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("MOT-B1", "motion", seen + dt.timedelta(hours=3), 1)],
                        scope=None, now=seen + dt.timedelta(hours=3))
    assert check(5 * 60) == 1  # silent again after a new sign of life


def test_contacts_in_graphql_are_scoped_and_phones_masked(sw: SafetyWorld,
                                                          api: TestClient) -> None:
    from cimhouse.db import session_scope as scope_
    from tests.helpers.graphql_world import issue_token

    with scope_(sw.engine) as session:
        pii_a = issue_token(session, COMMUNITY_A, "pii_reader", name="esc-pii-a")
    contacts = "{ safetyContacts { id name role roleLabel level phone regionCode houseCode } }"
    mine = post(api, sw.tokens["staff_a"], contacts)["data"]["safetyContacts"]
    assert [(c["name"], c["phone"], c["roleLabel"]) for c in mine] == [
        ("网格员甲", "138****5678", "网格员"), ("社区乙", "139****1111", "社区工作人员"),
        ("女儿丙", "137****2222", "家属联系人")]
    assert mine[2]["houseCode"] == sw.codes["HA1"]
    other = post(api, sw.tokens["staff_b"], contacts)["data"]["safetyContacts"]
    assert [c["name"] for c in other] == ["网格员丁"]
    assert post(api, sw.tokens["reader_a"], contacts)["data"] is None  # needs person_reader
    full = post(api, pii_a, contacts)["data"]["safetyContacts"]
    assert full[0]["phone"] == PHONES[0]
    with sw.engine.connect() as conn:
        audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'pii.read' "
                                    "AND object_kind = 'safety_contact'")).scalar_one()
    assert audited == 3
    add = ("mutation($i: SafetyContactInput!) { addSafetyContact(input: $i) { __typename "
           "... on SafetyContact { id phone level } ... on UserError { message } } }")
    new = {"regionCode": COMMUNITY_A, "role": "COMMUNITY_STAFF", "level": 4,
           "name": "社区主任", "phone": "13500004444"}
    made = post(api, sw.tokens["staff_a"], add, {"i": new})["data"]["addSafetyContact"]
    assert (made["__typename"], made["phone"]) == ("SafetyContact", "135****4444")
    foreign = post(api, sw.tokens["staff_b"], add, {"i": new})["data"]["addSafetyContact"]
    assert foreign["__typename"] == "NotFoundError"
    bad = post(api, sw.tokens["staff_a"], add, {"i": {**new, "phone": "call me"}})
    assert bad["data"]["addSafetyContact"]["__typename"] == "InvalidInputError"
    assert "call me" not in str(bad)
    retire = ("mutation($id: ID!) { retireSafetyContact(id: $id) { __typename "
              "... on SafetyContact { active } } }")
    assert post(api, sw.tokens["staff_b"], retire, {"id": made["id"]})["data"][
        "retireSafetyContact"]["__typename"] == "NotFoundError"
    assert post(api, sw.tokens["staff_a"], retire, {"id": made["id"]})["data"][
        "retireSafetyContact"] == {"__typename": "SafetyContact", "active": False}


def test_events_and_notifications_in_graphql_keep_to_the_scope(
        sw: SafetyWorld, api: TestClient, test_settings: Settings) -> None:
    clock = ManualClock(dt.datetime(2026, 11, 26, 10, 0, tzinfo=CHINA))
    with session_scope(sw.engine) as session:  # its own alert: tests run on two workers
        ingest_readings(session, [reading("WEAR-A1", "sos", clock.now(), 1.0)], scope=None,
                        now=clock.now())
    run_deliveries(sw.engine, clock, test_settings)
    sos = post(api, sw.tokens["staff_a"], "{ safetyAlerts(kind: SOS) { id } }")
    alert_id = sos["data"]["safetyAlerts"][0]["id"]
    query = "query($id: ID!) { safetyAlertEvents(id: $id) { kind kindLabel level contactName } }"
    steps = post(api, sw.tokens["staff_a"], query, {"id": alert_id})["data"]["safetyAlertEvents"]
    assert steps[0] == {"kind": "opened", "kindLabel": "报警产生", "level": 0,
                        "contactName": None}
    assert {"kind": "delivered", "kindLabel": "已送达", "level": 1,
            "contactName": "网格员甲"} in steps
    assert post(api, sw.tokens["staff_b"], query, {"id": alert_id})["data"][
        "safetyAlertEvents"] == []
    inbox = "{ safetyNotifications { title contactName body } }"
    mine = post(api, sw.tokens["staff_a"], inbox)["data"]["safetyNotifications"]
    assert any(n["title"] == "一键呼救 / sos alert: 安康路1号101室"
               and n["contactName"] == "网格员甲" for n in mine)
    theirs = post(api, sw.tokens["staff_b"], inbox)["data"]["safetyNotifications"]
    assert {n["contactName"] for n in theirs} <= {"网格员丁", "值班平台"}  # B's own only
    assert not any("安康路1号" in n["title"] or "安康路2号" in n["title"] for n in theirs)


def test_readings_aggregate_per_hour_and_day(sw: SafetyWorld, api: TestClient) -> None:
    day = dt.datetime(2026, 11, 12, 0, 0, tzinfo=CHINA)
    with session_scope(sw.engine) as session:
        ingest_readings(session, [reading("WAT-A1", "water_l", day + dt.timedelta(
            hours=h, minutes=m), float(h)) for h in (8, 9) for m in (0, 20, 40)], scope=None,
            now=day + dt.timedelta(hours=10))
    query = ("query($b: ReadingBucket!, $s: DateTime!, $u: DateTime!) { safetyReadings("
             "bucket: $b, since: $s, until: $u, metric: \"water_l\") { start readings minimum "
             "maximum average total } }")
    span = {"s": day.isoformat(), "u": (day + dt.timedelta(days=1)).isoformat()}
    hours = post(api, sw.tokens["staff_a"], query, {"b": "HOUR", **span})["data"][
        "safetyReadings"]
    assert [(h["start"][11:16], h["readings"], h["total"]) for h in hours] == [
        ("00:00", 3, 24.0), ("01:00", 3, 27.0)]  # 08:00 and 09:00 China time, in UTC
    days = post(api, sw.tokens["staff_a"], query, {"b": "DAY", **span})["data"][
        "safetyReadings"]
    assert [(d["readings"], d["minimum"], d["maximum"]) for d in days] == [(6, 8.0, 9.0)]
    assert dt.datetime.fromisoformat(days[0]["start"]) == day  # a China-time midnight
    assert post(api, sw.tokens["staff_b"], query, {"b": "DAY", **span})["data"][
        "safetyReadings"] == []
    year = {"s": day.isoformat(), "u": (day + dt.timedelta(days=365)).isoformat()}
    assert "errors" in post(api, sw.tokens["staff_a"], query, {"b": "HOUR", **year})


def test_map_shows_open_alerts_in_scope_only(sw: SafetyWorld, api: TestClient) -> None:
    with sw.engine.begin() as conn:  # houses at points (the world has no geometry)
        conn.execute(text("UPDATE house SET location = ST_SetSRID(ST_MakePoint("
                          "120.75 + id / 1000.0, 30.75), Find_SRID('public', 'house', "
                          "'location')) WHERE location IS NULL"))

    def layer(token: str) -> list[dict[str, Any]]:
        reply = api.get("/map/layers/alerts.geojson",
                        headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.text
        return [f["properties"] for f in reply.json()["features"]]

    with session_scope(sw.engine) as session:  # its own alert: tests run on two workers
        session.execute(text(
            "INSERT INTO safety_alert (county, kind, severity, house_id, opened_at, "
            "last_evidence_at) SELECT county, 'smoke', 'critical', id, now(), now() "
            "FROM house WHERE code = :c"), {"c": sw.codes["HB1"]})
        open_at = {(r.code[:12], r.code, r.kind) for r in session.execute(text(
            "SELECT h.code, a.kind FROM safety_alert a JOIN house h ON h.county = a.county "
            "AND h.id = a.house_id WHERE a.state <> 'resolved'"))}
    mine, theirs = layer(sw.tokens["staff_a"]), layer(sw.tokens["staff_b"])
    assert sorted((p["code"], p["kind"]) for p in mine) == sorted(
        (code, kind) for community, code, kind in open_at if community == COMMUNITY_A)
    assert sorted((p["code"], p["kind"]) for p in theirs) == sorted(
        (code, kind) for community, code, kind in open_at if community == COMMUNITY_B)
    assert "smoke" in {p["kind"] for p in theirs}
    assert not any(p["code"].startswith(COMMUNITY_A) for p in theirs)
    assert all(p["state"] != "resolved" for p in mine + theirs)
    assert not any("name" in p or "person" in p for p in mine)  # nobody's name on the map
    assert api.get("/map/layers/alerts.geojson").status_code == 401


def test_webhook_contact_gets_a_signed_post_through_the_delivery_module(
        sw: SafetyWorld, test_settings: Settings) -> None:
    secret = new_secret()
    clock = ManualClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=CHINA))
    with Receiver() as rx:
        with session_scope(sw.engine) as session:
            add_contact(session, ContactData(COMMUNITY_B, "community_staff", 1, "值班平台",
                                             channel="webhook", endpoint=rx.url("/alerts"),
                                             secret=secret),
                        vault=PiiVault.from_settings(test_settings), scope=None,
                        actor="tests", box=SecretBox.from_settings(test_settings))
            ingest_readings(session, [reading("GAS-B1", "gas_lel", clock.now(), 50.0)],
                            scope=None, now=clock.now())
        run_deliveries(sw.engine, clock, test_settings)  # hands the notice to a signed job
        with sw.engine.connect() as conn:
            job_id = conn.execute(text(
                "SELECT job_id FROM safety_delivery WHERE channel = 'webhook' AND status = "
                "'sent'")).scalar_one()
        url = sw.engine.url.render_as_string(hide_password=False)
        assert run_until_settled(url, test_settings, sw.engine, [job_id]) == {
            job_id: "succeeded"}
    (request,) = rx.requests
    assert verify_signature(secret, request.body, request.headers)
    body = json.loads(request.body)
    assert (body["type"], body["kind"], body["house_code"]) == (
        "safety_alert", "gas", sw.codes["HB1"])
    assert not any(p in request.body.decode() for p in PHONES)
    with Session(sw.engine) as session:
        (alert,) = alerts_of(session, "gas", sw.codes["HB1"])
    told = [e for e in events(sw.engine, alert) if e[2] == "值班平台"]
    assert told == [("notified", 1, "值班平台"), ("delivered", 1, "值班平台")]
    with sw.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM safety_delivery WHERE job_id = :j"),
                            {"j": job_id}).scalar_one() == "delivered"
