"""The inactivity rule: no sign of life for N daytime hours at an elderly person's home alone.

A house qualifies when its only current resident (the logic of
:func:`cimhouse.services.elderly.alone_sql`) is at least ``min_age`` years old on ``now``
and the house has at least one active motion sensor or water/electricity meter (without one
there is nothing to hear). It raises an ``inactivity`` alert when none of those devices sent
a reading showing activity (:data:`cimhouse.safety.rules.ACTIVITY_MIN`) during the last N
daytime hours (07:00-21:00 China time; nights do not count, so a quiet night never alarms).
N is ``hours`` unless the person's ``attributes.inactivity_hours`` says otherwise. The clock
is ``now``, passed by the caller (the worker's tick every minute, on its clock; tests and
the simulator move it). While the house's inactivity alert is open (acknowledged or
escalated too) the check leaves it alone: the worker checks every minute, and the same
silence seen again is no new occurrence (folding it would count one a minute, announce a
change and notify again each time). A resolution restarts the count: once someone resolved
the house's inactivity alert, the same silence alarms again only after N more daytime hours
without activity (without this, a resolved alert would open again a minute later).

Example::

    opened = check_inactivity(session, now=dt.datetime(2026, 12, 2, 20, tzinfo=CHINA),
                              scope=parse_scope("330402"), hours=8)
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.safety.rules import ACTIVITY_MIN, AlertEvidence, raise_alerts
from cimhouse.schema.vocab import AlertKind, AlertSeverity
from cimhouse.scope import Scope
from cimhouse.services.elderly import alone_sql

CHINA = ZoneInfo("Asia/Shanghai")
DAY_START, DAY_END = 7, 21  # daytime hours, local time [07:00, 21:00)
ACTIVITY_KINDS = ("motion", "water_meter", "electricity_meter")


def daytime_window_start(now: dt.datetime, hours: float) -> dt.datetime:
    """The instant from which ``hours`` of daytime (07:00-21:00 China time) lead to ``now``.

    >>> daytime_window_start(dt.datetime(2026, 12, 2, 9, tzinfo=CHINA), 4).hour  # 2 + 2 h
    19
    """
    if hours <= 0:
        raise InvalidInput(_("inactivity hours must be positive"))
    local, left = now.astimezone(CHINA), dt.timedelta(hours=hours)
    while True:
        day_start = local.replace(hour=DAY_START, minute=0, second=0, microsecond=0)
        day_end = local.replace(hour=DAY_END, minute=0, second=0, microsecond=0)
        if local > day_end:
            local = day_end
        if local > day_start:
            span = local - day_start
            if span >= left:
                return local - left
            left -= span
        local = (day_start - dt.timedelta(days=1)).replace(hour=DAY_END)


def check_inactivity(session: Session, *, now: dt.datetime, scope: Scope | None,
                     hours: float = 8.0, min_age: int = 60) -> int:
    """Raise inactivity alerts in ``scope`` as of ``now``; returns how many opened."""
    if now.tzinfo is None:
        raise InvalidInput(_("now needs a timezone"))
    activity = " OR ".join(f"(r.metric = '{m}' AND r.value > {v})"
                           for m, v in ACTIVITY_MIN.items())
    candidates = session.execute(text(f"""
        WITH alone AS ({alone_sql(scope)})
        SELECT a.county, a.house_id, a.person_id,
               coalesce(CAST(p.attributes ->> 'inactivity_hours' AS float8), :hours) AS hours
        FROM alone a JOIN person p ON p.id = a.person_id
        WHERE p.birth_date <= CAST(:as_of AS date) - make_interval(years => :min_age)
          -- uncorrelated: Citus cannot correlate a distributed table with a CTE's rows
          AND (a.county, a.house_id) IN (
              SELECT d.county, d.house_id FROM device d
              WHERE d.status = 'active' AND d.kind IN {ACTIVITY_KINDS!r})"""),
        {"as_of": now.astimezone(CHINA).date(), "min_age": min_age, "hours": hours}).all()
    if not candidates:
        return 0
    starts = [daytime_window_start(now, float(c.hours)) for c in candidates]
    active = session.execute(text(f"""
        SELECT DISTINCT c.county, c.house_id  -- a join, not a correlated EXISTS (Citus)
        FROM unnest(CAST(:county AS text[]), CAST(:house AS bigint[]),
                    CAST(:since AS timestamptz[])) AS c(county, house_id, since)
        JOIN device d ON d.county = c.county AND d.house_id = c.house_id
        JOIN device_reading r ON r.county = d.county AND r.device_id = d.id
        WHERE d.kind IN {ACTIVITY_KINDS!r}
          AND r.ts > c.since AND r.ts <= :now AND ({activity})"""),
        {"county": [c.county for c in candidates], "house": [c.house_id for c in candidates],
         "since": starts, "now": now}).all()
    busy = {(r.county, r.house_id) for r in active}
    resolved, still_open = _alert_state(session, [c for c in candidates
                                                  if (c.county, c.house_id) not in busy])
    items = [AlertEvidence(
        county=c.county, house_id=c.house_id, person_id=c.person_id, device_id=None,
        kind=AlertKind.INACTIVITY.value, severity=AlertSeverity.HIGH.value, at=now,
        evidence={"since": start.isoformat(), "until": now.isoformat(),
                  "daytime_hours": float(c.hours)})
        for c, start in zip(candidates, starts, strict=True)
        if (c.county, c.house_id) not in busy and (c.county, c.house_id) not in still_open
        and resolved.get((c.county, c.house_id), start) <= start]
    return raise_alerts(session, items, now=now)


def _alert_state(session: Session, houses: list[Any]
                 ) -> tuple[dict[tuple[str, int], dt.datetime], set[tuple[str, int]]]:
    """When each house's latest inactivity alert was resolved (houses without one: absent),
    and the houses whose inactivity alert is not resolved."""
    if not houses:
        return {}, set()
    rows = session.execute(text("""
        SELECT a.county, a.house_id,
               max(a.resolved_at) FILTER (WHERE a.state = 'resolved') AS resolved_at,
               bool_or(a.state <> 'resolved') AS still_open
        FROM unnest(CAST(:county AS text[]), CAST(:house AS bigint[])) AS c(county, house_id)
        JOIN safety_alert a ON a.county = c.county AND a.house_id = c.house_id
        WHERE a.kind = 'inactivity'
        GROUP BY a.county, a.house_id"""),
        {"county": [h.county for h in houses], "house": [h.house_id for h in houses]}).all()
    return ({(r.county, r.house_id): r.resolved_at for r in rows if r.resolved_at is not None},
            {(r.county, r.house_id) for r in rows if r.still_open})
