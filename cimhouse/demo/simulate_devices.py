"""Synthetic device readings for the demo's elderly living alone, published over MQTT.

Houses: those whose only current resident is 60 or older (the logic of
:func:`cimhouse.services.elderly.alone_sql`), first by county and house id. Each gets seven
devices if it has none of that kind yet (uid ``SIM-<KIND>-<house code>``; the wearable is
worn by the resident): gas, smoke, door, motion, wearable, water and electricity meters.

A simulated day is the 24 hours up to ``now``, a reading per device every ``interval``
minutes (daytime 07:00-21:00 China time: motion, water and power use; nights quiet), sent as
one message per device per hour on ``cimhouse/{county}/{uid}/reading`` (a JSON array).
Scenarios (:data:`SCENARIOS`) change one thing in that day:

=============  ==================================================================  =========
scenario       what happens                                                        alert
=============  ==================================================================  =========
normal         an ordinary day                                                     none
gas            gas rises to 18-34 %LEL for half an hour, two hours before ``now``  gas
smoke          smoke 4.5-6 %/m, two hours before ``now``                           smoke
fall           the wearable reports a fall                                         fall
sos            the SOS button is pressed                                           sos
inactivity     no motion, no water, only the fridge's power all day                inactivity*
door-night     the door opens at 01:30 and stays open until 02:45                  door**
silent         every device stops reporting six hours before ``now``               silent**
mixed          the houses take the scenarios above in turn
=============  ==================================================================  =========

\\* raised by the inactivity rule (``cimhouse safety check-inactivity``), not on arrival.
\\** raised by the door-at-night and heartbeat rules, which are not part of this module.

Example::

    houses, added = register_devices(session, pick_houses(session, 8, scope=None))
    with Publisher(broker_address(settings)) as publisher:
        publish_day(publisher, houses, "mixed", now=dt.datetime.now(dt.UTC))
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.safety.mqtt_ingest import device_topic
from cimhouse.scope import Scope
from cimhouse.services.elderly import alone_sql

CHINA = ZoneInfo("Asia/Shanghai")
SCENARIOS = ("normal", "gas", "smoke", "fall", "sos", "inactivity", "door-night", "silent")
#: the alert kind each scenario must raise (None: none at all), where the rule exists here
EXPECTED: dict[str, str | None] = {"normal": None, "gas": "gas", "smoke": "smoke",
                                   "fall": "fall", "sos": "sos", "inactivity": "inactivity"}
KINDS = {"GAS": "gas", "SMK": "smoke", "DOOR": "door", "MOT": "motion", "WEAR": "wearable",
         "WAT": "water_meter", "ELE": "electricity_meter"}
READINGS_PER_MESSAGE = 6


class Sink(Protocol):
    def publish(self, topic: str, payload: Any) -> None: ...


@dataclass(frozen=True)
class SimHouse:
    county: str
    house_id: int
    code: str
    person_id: int
    devices: tuple[tuple[str, str], ...] = ()  # (kind, uid) of the devices it reports for

    def uid(self, prefix: str) -> str:
        return f"SIM-{prefix}-{self.code}"


def pick_houses(session: Session, count: int, scope: Scope | None,
                min_age: int = 60) -> list[SimHouse]:
    """The first ``count`` houses of elderly people living alone (with a house code)."""
    rows = session.execute(text(f"""
        WITH alone AS ({alone_sql(scope)})
        SELECT a.county, a.house_id, h.code, a.person_id
        FROM alone a JOIN person p ON p.id = a.person_id
        JOIN house h ON h.county = a.county AND h.id = a.house_id
        WHERE h.code IS NOT NULL
          AND p.birth_date <= CAST(:as_of AS date) - make_interval(years => :min_age)
        ORDER BY a.county, a.house_id LIMIT :n"""),
        {"as_of": dt.date.today(), "min_age": min_age, "n": count}).all()
    return [SimHouse(r.county, r.house_id, r.code, r.person_id) for r in rows]


def _kinds(session: Session, houses: list[SimHouse]) -> dict[tuple[str, int, str], str]:
    """(county, house, kind) -> the uid of its first active device of that kind."""
    rows = session.execute(text(
        "SELECT county, house_id, kind, min(uid) AS uid FROM device WHERE county = ANY(:county) "
        "AND house_id = ANY(:house) AND status = 'active' GROUP BY county, house_id, kind"),
        {"county": sorted({h.county for h in houses}),
         "house": [h.house_id for h in houses]}).all()
    return {(r.county, r.house_id, r.kind): r.uid for r in rows}


def register_devices(session: Session, houses: list[SimHouse]) -> tuple[list[SimHouse], int]:
    """Register the seven simulated devices of each house unless it has that kind already;
    returns the houses with the uids to report for, and how many devices were added."""
    if not houses:
        return [], 0
    have = _kinds(session, houses)
    rows = [(h.county, h.uid(prefix), kind, h.house_id, h.person_id if kind == "wearable"
             else None) for h in houses for prefix, kind in KINDS.items()
            if (h.county, h.house_id, kind) not in have]
    if rows:
        session.execute(text("""
        INSERT INTO device (county, uid, kind, house_id, person_id, source)
        SELECT n.county, n.uid, n.kind, n.house_id, n.person_id, 'simulator'
        FROM unnest(CAST(:county AS text[]), CAST(:uid AS text[]), CAST(:kind AS text[]),
                    CAST(:house AS bigint[]), CAST(:person AS bigint[]))
             AS n(county, uid, kind, house_id, person_id)
        ON CONFLICT (county, uid) DO NOTHING"""), {
            "county": [r[0] for r in rows], "uid": [r[1] for r in rows],
            "kind": [r[2] for r in rows], "house": [r[3] for r in rows],
            "person": [r[4] for r in rows]})
    uids = _kinds(session, houses)
    ready = [SimHouse(h.county, h.house_id, h.code, h.person_id, tuple(
        (kind, uids[h.county, h.house_id, kind]) for kind in KINDS.values()
        if (h.county, h.house_id, kind) in uids)) for h in houses]
    return ready, len(rows)


def _value(kind: str, local: dt.datetime, scenario: str, rng: random.Random
           ) -> list[tuple[str, float]]:
    day = 7 <= local.hour < 21
    quiet = scenario == "inactivity"
    if kind == "gas":
        return [("gas_lel", round(rng.uniform(0, 1.5), 1))]
    if kind == "smoke":
        return [("smoke", round(rng.uniform(0, 0.3), 2))]
    if kind == "door":
        return [("door", 0.0)]
    if kind == "motion":
        moving = day and not quiet and rng.random() < 0.8
        return [("motion", float(rng.randint(1, 5)) if moving else 0.0)]
    if kind == "wearable":
        return [("heart_rate", float(rng.randint(60, 85)))]
    if kind == "water_meter":
        used = day and not quiet and rng.random() < 0.5
        return [("water_l", round(rng.uniform(1, 8), 1) if used else 0.0)]
    busy = day and not quiet
    return [("electricity_wh", round(rng.uniform(80, 300) if busy else rng.uniform(25, 50), 1))]


def _events(kind: str, scenario: str, now: dt.datetime, start: dt.datetime
            ) -> list[tuple[dt.datetime, str, float]]:
    """The scenario's own readings (added to the ordinary ones)."""
    event = now - dt.timedelta(hours=2, seconds=-37)  # off the ordinary readings' ticks
    if kind == "gas" and scenario == "gas":
        return [(event + dt.timedelta(minutes=10 * i), "gas_lel", v)
                for i, v in enumerate((18.0, 26.0, 34.0))]
    if kind == "smoke" and scenario == "smoke":
        return [(event, "smoke", 4.5), (event + dt.timedelta(minutes=5), "smoke", 6.0)]
    if kind == "wearable" and scenario in ("fall", "sos"):
        return [(event + dt.timedelta(minutes=3), scenario, 1.0)]
    if kind == "door":
        local = now.astimezone(CHINA)
        events = []
        for day in (local.date() - dt.timedelta(days=1), local.date()):
            times: tuple[tuple[int, int, int], ...] = (
                (8, 10, 1), (8, 12, 0), (17, 40, 1), (17, 43, 0))
            if scenario == "door-night":
                times = ((1, 30, 1), (2, 45, 0))
            for hour, minute, value in times:
                at = dt.datetime.combine(day, dt.time(hour, minute, 7), CHINA)
                if start < at <= now:
                    events.append((at, "door", float(value)))
        return events
    return []


def day_readings(house: SimHouse, scenario: str, now: dt.datetime, interval_min: int = 10
                 ) -> dict[str, list[dict[str, Any]]]:
    """uid -> the device's readings of the 24 hours up to ``now`` (deterministic per house)."""
    if scenario not in SCENARIOS:
        raise InvalidInput(_("unknown scenario {scenario!r}; one of {known}",
                             scenario=scenario, known=", ".join(SCENARIOS)))
    rng = random.Random(f"{house.code}:{scenario}")
    start = now - dt.timedelta(hours=24)
    silent_from = now - dt.timedelta(hours=6) if scenario == "silent" else None
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, uid in house.devices:
        readings: list[tuple[dt.datetime, str, float]] = []
        at = start + dt.timedelta(minutes=interval_min)
        while at <= now:
            readings.extend((at, m, v) for m, v in _value(kind, at.astimezone(CHINA),
                                                          scenario, rng))
            at += dt.timedelta(minutes=interval_min)
        readings.append((start + dt.timedelta(minutes=1), "battery", 80.0))
        readings.extend(_events(kind, scenario, now, start))
        readings.sort()
        out[uid] = [
            {"metric": m, "ts": ts.astimezone(CHINA).isoformat(timespec="seconds"), "value": v}
            for ts, m, v in readings if silent_from is None or ts < silent_from]
    return out


def assign(houses: list[SimHouse], scenario: str) -> Iterator[tuple[SimHouse, str]]:
    """Each house with its scenario (``mixed``: the scenarios in turn)."""
    for number, house in enumerate(houses):
        yield house, SCENARIOS[number % len(SCENARIOS)] if scenario == "mixed" else scenario


def publish_day(sink: Sink, houses: list[SimHouse], scenario: str, *, now: dt.datetime,
                interval_min: int = 10) -> dict[str, int]:
    """Publish every house's day; returns {scenario: readings published}."""
    if scenario != "mixed" and scenario not in SCENARIOS:
        raise InvalidInput(_("unknown scenario {scenario!r}; one of {known}",
                             scenario=scenario, known=", ".join(("mixed", *SCENARIOS))))
    sent: dict[str, int] = {}
    for house, chosen in assign(houses, scenario):
        for uid, readings in day_readings(house, chosen, now, interval_min).items():
            for i in range(0, len(readings), READINGS_PER_MESSAGE):
                sink.publish(device_topic(house.county, uid),
                             readings[i:i + READINGS_PER_MESSAGE])
            sent[chosen] = sent.get(chosen, 0) + len(readings)
    return sent


def alerts_of(session: Session, houses: list[SimHouse], since: dt.datetime
              ) -> list[dict[str, Any]]:
    """Alerts of these houses with evidence since ``since`` (what the simulation raised)."""
    if not houses:
        return []
    rows = session.execute(text("""
        SELECT a.county, a.id, a.house_id, a.kind, a.severity, a.state, h.code AS house_code,
               a.opened_at, a.occurrences
        FROM safety_alert a JOIN house h ON h.county = a.county AND h.id = a.house_id
        WHERE a.county = ANY(:county) AND a.house_id = ANY(:house)
          AND a.last_evidence_at >= :since
        ORDER BY a.opened_at, a.id"""),
        {"county": sorted({h.county for h in houses}), "house": [h.house_id for h in houses],
         "since": since}).mappings().all()
    wanted = {(h.county, h.house_id) for h in houses}
    return [dict(r) for r in rows if (r["county"], r["house_id"]) in wanted]
