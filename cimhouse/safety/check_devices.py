"""The two device rules run on the clock: a door left open at night, a device gone silent.

- ``door_night`` (high): an active door contact whose latest ``door`` reading at or before
  ``now`` says open (1), while ``now`` lies in the policy's night window (22:00-06:00 China
  time by default) and the door has been open for at least ``door_minutes`` *of that night*
  (a door opened at 21:00 counts from 22:00). Readings older than
  :data:`DOOR_LOOKBACK` are not read (a door open for two days is a faulty contact).
- ``offline`` (medium): an active device whose ``last_seen_at`` lies more than its
  ``heartbeat_s`` before ``now``. A device that never reported has no heartbeat yet.

Both fold like every rule (one unresolved alert per house and kind); in addition an
*episode* (the door opening, the last sign of the device) that already raised an alert
someone resolved does not raise a new one (:func:`cimhouse.safety.rules.drop_seen_episodes`),
so resolving a door alert while the door stays open does not alarm again every tick.

Example::

    opened = check_door_night(session, now=clock.now(), policy=SafetyPolicy(), scope=None)
    opened = check_offline(session, now=clock.now(), scope=parse_scope("330402007024"))
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from cimhouse.safety.policy import SafetyPolicy
from cimhouse.safety.rules import READING, AlertEvidence, drop_seen_episodes, raise_alerts
from cimhouse.schema import Device, House
from cimhouse.schema.vocab import AlertKind, AlertSeverity
from cimhouse.scope import Scope, scope_filter

DOOR_LOOKBACK = dt.timedelta(hours=36)


def check_door_night(session: Session, *, now: dt.datetime, policy: SafetyPolicy,
                     scope: Scope | None) -> int:
    """Raise ``door_night`` alerts in ``scope`` as of ``now``; returns how many opened."""
    if not policy.is_night(now):
        return 0
    rd = READING.c
    # DISTINCT ON the distribution key and device: Citus pushes it down to each shard
    rows = session.execute(
        select(rd.county, rd.device_id, rd.ts, rd.value, Device.uid, Device.house_id,
               Device.person_id)
        .ext(distinct_on(rd.county, rd.device_id))
        .join(Device, (Device.county == rd.county) & (Device.id == rd.device_id))
        .join(House, (House.county == Device.county) & (House.id == Device.house_id))
        .where(rd.metric == "door", rd.ts <= now, rd.ts > now - DOOR_LOOKBACK,
               Device.kind == "door", Device.status == "active", scope_filter(House, scope))
        .order_by(rd.county, rd.device_id, rd.ts.desc())).all()
    night = policy.night_began(now)
    need = dt.timedelta(minutes=policy.door_minutes)
    items = [AlertEvidence(
        county=r.county, house_id=r.house_id, person_id=r.person_id, device_id=r.device_id,
        kind=AlertKind.DOOR_NIGHT.value, severity=AlertSeverity.HIGH.value, at=now,
        evidence={"device": r.uid, "episode": r.ts.isoformat(), "opened_at": r.ts.isoformat(),
                  "open_minutes": round((now - r.ts).total_seconds() / 60, 1)})
        for r in rows if r.value >= 1 and now - max(r.ts, night) >= need]
    return raise_alerts(session, drop_seen_episodes(session, items), now=now, policy=policy)


def check_offline(session: Session, *, now: dt.datetime, scope: Scope | None,
                  policy: SafetyPolicy | None = None) -> int:
    """Raise ``offline`` alerts for silent devices in ``scope``; returns how many opened."""
    rows = session.execute(
        select(Device.county, Device.id, Device.uid, Device.kind, Device.house_id,
               Device.person_id, Device.last_seen_at, Device.heartbeat_s)
        .join(House, (House.county == Device.county) & (House.id == Device.house_id))
        .where(Device.status == "active", Device.last_seen_at.is_not(None),
               Device.last_seen_at < literal(now) - func.make_interval(
                   0, 0, 0, 0, 0, 0, Device.heartbeat_s),
               scope_filter(House, scope))).all()
    items = [AlertEvidence(
        county=r.county, house_id=r.house_id, person_id=r.person_id, device_id=r.id,
        kind=AlertKind.OFFLINE.value, severity=AlertSeverity.MEDIUM.value, at=now,
        evidence={"device": r.uid, "device_kind": r.kind, "episode": r.last_seen_at.isoformat(),
                  "last_seen_at": r.last_seen_at.isoformat(), "heartbeat_s": r.heartbeat_s,
                  "silent_s": int((now - r.last_seen_at).total_seconds())})
        for r in rows]
    return raise_alerts(session, drop_seen_episodes(session, items), now=now, policy=policy)
