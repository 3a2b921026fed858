"""The clock-driven rules on the worker's schedule (issue 19): the periodic safety tick, run
by a procrastinate worker on a controllable clock, raises the inactivity alert of a silent
day (not a normal one) and escalates it when nobody acknowledges in time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import procrastinate
import pytest
from sqlalchemy import Engine, select, text

from cimhouse.coding.jobs import WORKER_QUEUES, libpq_conninfo, make_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.pii import PiiVault
from cimhouse.safety.change_alert import change_alert
from cimhouse.safety.clock import ManualClock
from cimhouse.safety.ingest_readings import ingest_readings
from cimhouse.safety.manage_contacts import ContactData, add_contact
from cimhouse.safety.policy import CHINA
from cimhouse.safety.tasks import TICK_QUEUE, TICK_TASK, register_safety_tasks
from cimhouse.schema.safety import SafetyAlert
from cimhouse.settings import Settings
from tests.helpers.safety_world import COMMUNITY_A, SafetyWorld, safety_world

DAY = dt.date(2026, 11, 10)


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("schedule")) as world:
        vault = PiiVault.from_settings(test_settings)
        with session_scope(world.engine) as session:
            for data in (ContactData(COMMUNITY_A, "grid_worker", 1, "网格员甲", None),
                         ContactData(COMMUNITY_A, "community_staff", 2, "社区乙", None)):
                add_contact(session, data, vault=vault, scope=None, actor="tests")
        yield world


class Worker:
    """``cimhouse worker`` on the tick's queue, with ``clock`` instead of the system's."""

    def __init__(self, engine: Engine, settings: Settings, clock: ManualClock) -> None:
        self.clock = clock
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(
            conninfo=libpq_conninfo(engine.url.render_as_string(hide_password=False))))
        register_safety_tasks(self.app, lambda: engine, settings, clock=clock)

    def tick(self, **advance: float) -> None:
        """Let the clock move, then run the job the periodic schedule defers every minute."""
        self.clock.advance(**advance)
        with self.app.open():
            self.app.tasks[TICK_TASK].defer(timestamp=int(self.clock.now().timestamp()))
        self.app.run_worker(queues=[TICK_QUEUE], wait=False, install_signal_handlers=False,
                            listen_notify=False)


def inactivity(engine: Engine, house: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT a.state, a.escalation_level, a.ack_due_at, a.occurrences, a.updated_at, "
            "a.last_evidence_at FROM safety_alert a"
            " JOIN house h ON h.county = a.county AND h.id = a.house_id "
            "WHERE a.kind = 'inactivity' AND h.code = :c ORDER BY a.id"), {"c": house})]


def steps(engine: Engine, house: str) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(r.kind, r.level) for r in conn.execute(text(
            "SELECT e.kind, e.level FROM safety_alert_event e JOIN safety_alert a ON "
            "a.county = e.county AND a.id = e.alert_id JOIN house h ON h.county = a.county "
            "AND h.id = a.house_id WHERE a.kind = 'inactivity' AND h.code = :c "
            "ORDER BY e.id"), {"c": house})]


def test_the_worker_schedules_the_tick_every_minute(test_settings: Settings) -> None:
    app = make_app(test_settings, url="postgresql+psycopg://nobody@/none")
    task = app.tasks[TICK_TASK]
    periodic = [p for p in app.periodic_registry.periodic_tasks.values() if p.task is task]
    assert [p.cron for p in periodic] == ["* * * * *"]
    assert task.queue == TICK_QUEUE
    assert TICK_QUEUE not in WORKER_QUEUES


def test_scheduled_tick_finds_the_silent_day_and_escalates_it(sw: SafetyWorld,
                                                              test_settings: Settings) -> None:
    clock = ManualClock(dt.datetime.combine(DAY, dt.time(20), CHINA))
    with session_scope(sw.engine) as session:  # both report all day; only HA2 moves
        readings = [{"device": uid, "metric": "motion", "value": value,
                     "ts": dt.datetime.combine(DAY, dt.time(hour), CHINA).isoformat()}
                    for uid, value in (("MOT-A1", 0.0), ("MOT-A2", 1.0)) for hour in range(7, 20)]
        assert ingest_readings(session, readings, scope=None, now=clock.now()).stored == 26
    worker = Worker(sw.engine, test_settings, clock)
    worker.tick()
    (silent,) = inactivity(sw.engine, sw.codes["HA1"])
    assert (silent["state"], silent["escalation_level"]) == ("open", 1)
    assert silent["ack_due_at"] == clock.now() + dt.timedelta(minutes=15)  # high: 15 min
    assert inactivity(sw.engine, sw.codes["HA2"]) == []  # a normal day
    worker.tick(minutes=14, seconds=59)  # a second early: folds, nobody else is called
    (silent,) = inactivity(sw.engine, sw.codes["HA1"])
    assert (silent["state"], silent["escalation_level"]) == ("open", 1)
    worker.tick(seconds=1)  # the deadline: the community's staff, level 2
    (silent,) = inactivity(sw.engine, sw.codes["HA1"])
    assert (silent["state"], silent["escalation_level"]) == ("escalated", 2)
    assert steps(sw.engine, sw.codes["HA1"]) == [("opened", 0), ("notified", 1),
                                                 ("escalated", 2)]
    assert inactivity(sw.engine, sw.codes["HA2"]) == []


def test_a_resolved_silence_alarms_again_only_after_n_more_hours(sw: SafetyWorld,
                                                                 test_settings: Settings) -> None:
    """Regression: with the tick every minute, a resolved inactivity alert opened again a
    minute later while the same silence went on."""
    day = DAY + dt.timedelta(days=3)
    clock = ManualClock(dt.datetime.combine(day, dt.time(20), CHINA))
    with session_scope(sw.engine) as session:
        assert ingest_readings(session, [
            {"device": "MOT-A1", "metric": "motion", "value": 0.0,
             "ts": dt.datetime.combine(day, dt.time(hour), CHINA).isoformat()}
            for hour in range(7, 20)], scope=None, now=clock.now()).stored == 13
    worker = Worker(sw.engine, test_settings, clock)
    worker.tick()
    with session_scope(sw.engine) as session:
        for alert in session.scalars(select(SafetyAlert).where(
                SafetyAlert.kind == "inactivity", SafetyAlert.state != "resolved")):
            change_alert(session, alert.county, alert.id, "resolve", scope=None,
                         actor="api:staff", note="本人外出", now=clock.now())
    worker.tick(minutes=1)
    worker.tick(hours=12)  # 08:01: the 8 daytime hours still reach back past the resolution
    assert [a["state"] for a in inactivity(sw.engine, sw.codes["HA1"])][-1] == "resolved"
    worker.tick(hours=6, minutes=15)  # 14:16: 8 daytime hours since the resolution
    assert [a["state"] for a in inactivity(sw.engine, sw.codes["HA1"])][-2:] == [
        "resolved", "open"]


def test_an_open_silence_takes_no_new_occurrence_every_minute(sw: SafetyWorld,
                                                               test_settings: Settings) -> None:
    """Regression: while the inactivity alert was open, every minute's tick folded the same
    silence into it again: one more occurrence, a changed row announced to the subscription,
    each minute. Now the open alert is left alone; a resolution still restarts the count."""
    day = DAY + dt.timedelta(days=20)
    clock = ManualClock(dt.datetime.combine(day, dt.time(20), CHINA))
    with session_scope(sw.engine) as session:  # other tests' alerts: resolved a day before
        for alert in session.scalars(select(SafetyAlert).where(
                SafetyAlert.kind == "inactivity", SafetyAlert.state != "resolved")):
            change_alert(session, alert.county, alert.id, "resolve", scope=None,
                         actor="api:staff", note="已处理", now=clock.now() - dt.timedelta(days=1))
    worker = Worker(sw.engine, test_settings, clock)
    worker.tick()  # a silent day (no reading at all): the alert opens
    opened = inactivity(sw.engine, sw.codes["HA1"])[-1]
    assert (opened["state"], opened["occurrences"]) == ("open", 1)
    events = steps(sw.engine, sw.codes["HA1"])
    for _ in range(3):
        worker.tick(minutes=1)
    assert inactivity(sw.engine, sw.codes["HA1"])[-1] == opened  # same row, untouched
    assert steps(sw.engine, sw.codes["HA1"]) == events
