"""Metrics, thresholds and the one way an alert is raised (folding duplicates).

A reading is (device uid, metric, ts, value). Each device kind sends its own metrics;
``battery`` (percent) comes from any kind and updates ``device.battery_pct``.

Immediate rules (:data:`IMMEDIATE`): a reading of ``metric`` at or over the threshold raises
an alert of that kind at once. Activity (:data:`ACTIVITY_MIN`): a reading over that value
shows that someone is up and about (the inactivity rule looks for its absence).

Example::

    raise_alerts(session, [AlertEvidence("330402", 7, 12, None, 3, "gas", ts, {...})])
    # one alert per (house, kind) while it is not resolved; more evidence folds into it
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, String, column, table, text
from sqlalchemy.orm import Session

from cimhouse.safety.escalate import notify_changed, start_escalation
from cimhouse.safety.policy import SafetyPolicy
from cimhouse.schema.safety import ACTIVE_ALERT_STATES_SQL
from cimhouse.schema.vocab import AlertKind, AlertSeverity
from cimhouse.services.sql import LIVING_RELATIONS, current_sql

#: the metrics each device kind sends (besides ``battery``)
METRICS_BY_KIND: dict[str, tuple[str, ...]] = {
    "gas": ("gas_lel",),  # combustible gas, % of the lower explosive limit
    "smoke": ("smoke",),  # obscuration, % per metre
    "door": ("door",),  # 1 opened, 0 closed
    "motion": ("motion",),  # detections in the reporting interval
    "wearable": ("fall", "sos", "heart_rate"),  # fall / SOS: 1 when it happens
    "water_meter": ("water_l",),  # litres used in the interval
    "electricity_meter": ("electricity_wh",),  # Wh used in the interval
}
METRICS: frozenset[str] = frozenset(
    {"battery", *(m for ms in METRICS_BY_KIND.values() for m in ms)})

#: metric -> (threshold, alert kind, severity): at or over the threshold, an alert at once
IMMEDIATE: dict[str, tuple[float, AlertKind, AlertSeverity]] = {
    "gas_lel": (10.0, AlertKind.GAS, AlertSeverity.CRITICAL),  # 10 %LEL: household alarms
    "smoke": (3.0, AlertKind.SMOKE, AlertSeverity.CRITICAL),
    "fall": (1.0, AlertKind.FALL, AlertSeverity.HIGH),
    "sos": (1.0, AlertKind.SOS, AlertSeverity.HIGH),
}
#: metric -> a value above which the reading shows activity at home
ACTIVITY_MIN: dict[str, float] = {
    "motion": 0.0,
    "water_l": 0.5,  # more than a dripping tap
    "electricity_wh": 60.0,  # above a fridge's standby use per reading
}
#: the readings table for SQLAlchemy Core (no ORM model: only set-based SQL writes it)
READING = table("device_reading", column("county", String), column("device_id", BigInteger),
                column("metric", String), column("ts", DateTime(timezone=True)),
                column("value", Float))
#: evidence readings kept per alert (the first ones; `occurrences` counts them all)
MAX_EVIDENCE = 20


@dataclass(frozen=True)
class AlertEvidence:
    """One reason to raise (or fold into) an alert of ``kind`` at a house."""

    county: str
    house_id: int
    person_id: int | None
    device_id: int | None
    kind: str
    severity: str
    at: dt.datetime
    evidence: dict[str, Any]


def _sole_residents(session: Session, houses: set[tuple[str, int]]
                    ) -> dict[tuple[str, int], int]:
    """The person of houses with exactly one current resident or tenant (the person an
    alert from a fixed device, such as a gas detector, is about)."""
    if not houses:
        return {}
    rows = session.execute(text(f"""
        SELECT ph.county, ph.house_id, min(ph.person_id) AS person_id
        FROM person_house ph
        JOIN unnest(CAST(:county AS text[]), CAST(:house AS bigint[])) AS k(county, house_id)
          ON ph.county = k.county AND ph.house_id = k.house_id
        WHERE ph.relation IN {LIVING_RELATIONS!r} AND {current_sql('ph')}
        GROUP BY ph.county, ph.house_id HAVING count(DISTINCT ph.person_id) = 1"""),
        {"county": [h[0] for h in houses], "house": [h[1] for h in houses],
         "as_of": dt.date.today()}).all()
    return {(r.county, r.house_id): r.person_id for r in rows}


def drop_seen_episodes(session: Session, items: list[AlertEvidence]) -> list[AlertEvidence]:
    """Items whose ``evidence["episode"]`` already raised an alert that was resolved.

    The clock-driven rules see the same situation on every tick (the same open door, the
    same silent device); once someone resolved its alert, the same episode must not alarm
    again. A new episode (the door closed and opened again) does.
    """
    keyed = [i for i in items if "episode" in i.evidence]
    if not keyed:
        return items
    rows = session.execute(text("""
        SELECT county, house_id, kind, e ->> 'episode' AS episode
        FROM safety_alert, jsonb_array_elements(evidence -> 'readings') e
        WHERE county = ANY(CAST(:county AS text[])) AND house_id = ANY(CAST(:house AS bigint[]))
          AND kind = ANY(CAST(:kind AS text[])) AND state = 'resolved'
          AND e ? 'episode'"""), {
        "county": sorted({i.county for i in keyed}),
        "house": sorted({i.house_id for i in keyed}),
        "kind": sorted({i.kind for i in keyed})}).all()
    seen = {(r.county, r.house_id, r.kind, r.episode) for r in rows}
    return [i for i in items
            if (i.county, i.house_id, i.kind, i.evidence.get("episode")) not in seen]


def raise_alerts(session: Session, items: list[AlertEvidence], *,
                 now: dt.datetime | None = None, policy: SafetyPolicy | None = None) -> int:
    """Upsert alerts set-based; returns how many new alerts opened.

    ``now`` is the safety clock (default: the latest evidence): a new alert starts its
    escalation then (:func:`cimhouse.safety.escalate.start_escalation`), and every alert
    touched is announced to the subscription (NOTIFY at commit).

    Items of one house and kind fold into one alert, and so does everything that arrives
    while an alert of that house and kind is not resolved (partial unique index):
    ``occurrences`` counts the evidence, ``last_evidence_at`` moves on, ``evidence`` keeps
    at most :data:`MAX_EVIDENCE` readings. After resolution a new alert opens.
    """
    if not items:
        return 0
    sole = _sole_residents(session, {(i.county, i.house_id) for i in items
                                     if i.person_id is None})
    groups: dict[tuple[str, int, str], list[AlertEvidence]] = {}
    for item in items:
        groups.setdefault((item.county, item.house_id, item.kind), []).append(item)
    rows = []
    for (county, house_id, kind), group in groups.items():
        group.sort(key=lambda i: i.at)
        first = group[0]
        rows.append({
            "county": county, "house_id": house_id, "kind": kind, "severity": first.severity,
            "person_id": next((i.person_id for i in group if i.person_id),
                              sole.get((county, house_id))),
            "device_id": first.device_id, "opened_at": first.at,
            "last_at": group[-1].at, "n": len(group),
            "evidence": {"readings": [i.evidence for i in group][:MAX_EVIDENCE]}})
    inserted = session.execute(text(f"""
        INSERT INTO safety_alert AS a (county, kind, severity, house_id, person_id, device_id,
                                       opened_at, last_evidence_at, occurrences, evidence,
                                       updated_at)
        SELECT r.county, r.kind, r.severity, r.house_id, r.person_id, r.device_id,
               r.opened_at, r.last_at, r.n, r.evidence, now()
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            county text, kind text, severity text, house_id bigint, person_id bigint,
            device_id bigint, opened_at timestamptz, last_at timestamptz, n int,
            evidence jsonb)
        ON CONFLICT (county, house_id, kind) WHERE {ACTIVE_ALERT_STATES_SQL}
        DO UPDATE SET occurrences = a.occurrences + excluded.occurrences,
            last_evidence_at = greatest(a.last_evidence_at, excluded.last_evidence_at),
            opened_at = least(a.opened_at, excluded.opened_at),
            person_id = coalesce(a.person_id, excluded.person_id),
            -- IMMUTABLE functions only (Citus; jsonb_agg is not): the first readings by a
            -- jsonpath slice (lax: a shorter array is kept whole); now() from the new row
            evidence = jsonb_set(excluded.evidence, '{{readings}}', jsonb_path_query_array(
                coalesce(a.evidence -> 'readings', '[]')
                || coalesce(excluded.evidence -> 'readings', '[]'),
                '$[0 to {MAX_EVIDENCE - 1}]')),
            updated_at = excluded.updated_at
        RETURNING a.county, a.id, (xmax = 0) AS fresh"""),
        {"rows": json.dumps(rows, default=str)}).all()
    fresh = [(r.county, r.id) for r in inserted if r.fresh]
    start_escalation(session, fresh, now=now or max(i.at for i in items),
                     policy=policy or SafetyPolicy())
    notify_changed(session, [(r.county, r.id) for r in inserted])
    return len(fresh)
