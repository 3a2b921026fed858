"""Escalation: who is told about an alert, by when they must acknowledge, and what next.

An alert's contacts are the active :class:`~cimhouse.schema.safety.SafetyContact` rows of
its house's community (``house.region_code``), plus the family contacts of that very
house, ordered by ``level``. The state machine, on the safety clock (``now``):

- a new alert: event ``opened``; the lowest level is told (``notified``, one delivery per
  contact through the job queue); ``ack_due_at = now + deadline(severity)``;
- the deadline passes unacknowledged (:func:`escalate_overdue`): the next level is told,
  the state becomes ``escalated`` (event ``escalated``), a new deadline runs; with nobody
  left, event ``exhausted`` and no deadline;
- acknowledged or resolved (:mod:`cimhouse.safety.change_alert`): no deadline any more.

Every step is a ``safety_alert_event`` row (never a phone number) and a NOTIFY on
:data:`ALERT_CHANNEL` (sent at commit), which the GraphQL subscription listens to.

Example::

    opened = escalate_overdue(session, now=clock.now(), policy=SafetyPolicy())
    # EscalationResult(escalated=1, exhausted=0, deliveries=[...])
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Text, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from cimhouse.safety.policy import SafetyPolicy
from cimhouse.schema import House
from cimhouse.schema.safety import SafetyAlert, SafetyAlertEvent, SafetyContact, SafetyDelivery
from cimhouse.schema.vocab import AlertEventKind, AlertState
from cimhouse.scope import Scope, scope_filter

#: NOTIFY channel of alert changes; the payload is ``county:id`` and nothing else
ALERT_CHANNEL = "cimhouse_safety_alert"
DELIVERY_QUEUE = "safety"
DELIVERY_TASK = "cimhouse.deliver_safety_notice"
SYSTEM_ACTOR = "system:escalation"
_WAITING = (AlertState.OPEN.value, AlertState.ESCALATED.value)


@dataclass
class EscalationResult:
    escalated: int = 0
    exhausted: int = 0
    deliveries: list[tuple[str, int]] = field(default_factory=list)


def notify_changed(session: Session, keys: Iterable[tuple[str, int]]) -> None:
    """Tell listeners (at commit) that these alerts changed; they re-read them in scope."""
    payloads = sorted({f"{county}:{alert_id}" for county, alert_id in keys})
    if payloads:
        session.execute(text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:p AS text[])) p"),
                        {"channel": ALERT_CHANNEL, "p": payloads})


def log_event(session: Session, alert: SafetyAlert, kind: AlertEventKind, at: dt.datetime,
              actor: str, *, contact_id: int | None = None,
              detail: dict[str, Any] | None = None) -> None:
    session.add(SafetyAlertEvent(county=alert.county, alert_id=alert.id, at=at, kind=kind.value,
                                 level=alert.escalation_level, contact_id=contact_id,
                                 actor=actor, detail=detail or {}))


def _next_contacts(session: Session, alerts: Sequence[SafetyAlert]
                   ) -> dict[tuple[str, int], list[SafetyContact]]:
    """Per alert, the active contacts of the lowest level above the alert's current one.

    Plain ``= ANY(array)`` filters on the co-located tables (no join to a parameter table,
    which Citus would have to plan recursively); the pairing is done here."""
    if not alerts:
        return {}
    counties = sorted({a.county for a in alerts})
    houses = {(a.county, a.id): (a.house_id, a.escalation_level) for a in alerts}
    rows = session.execute(
        select(SafetyContact, House.id.label("house_id"))
        .join(House, (House.county == SafetyContact.county)
              & (House.region_code == SafetyContact.region_code))
        .where(SafetyContact.county == any_(bindparam("counties", type_=ARRAY(Text))),
               House.id == any_(bindparam("houses", type_=ARRAY(BigInteger))),
               SafetyContact.active.is_(True),
               (SafetyContact.house_id.is_(None)) | (SafetyContact.house_id == House.id))
        .order_by(SafetyContact.level, SafetyContact.id),
        {"counties": counties, "houses": sorted({h for h, _ in houses.values()})}).all()
    by_house: dict[tuple[str, int], list[SafetyContact]] = {}
    for contact, house_id in rows:
        by_house.setdefault((contact.county, house_id), []).append(contact)
    chosen = {}
    for key, (house_id, level) in houses.items():
        above = [c for c in by_house.get((key[0], house_id), []) if c.level > level]
        if above:
            chosen[key] = [c for c in above if c.level == above[0].level]
    return chosen


def _tell(session: Session, alerts: Sequence[SafetyAlert], *, now: dt.datetime,
          policy: SafetyPolicy, first: bool, result: EscalationResult) -> None:
    contacts = _next_contacts(session, alerts)
    made: list[SafetyDelivery] = []
    for alert in alerts:
        chosen = contacts.get((alert.county, alert.id), [])
        if not chosen:
            alert.ack_due_at = None
            log_event(session, alert, AlertEventKind.EXHAUSTED, now, SYSTEM_ACTOR,
                      detail={"reason": "no contact left / 无人可通知"})
            result.exhausted += 1
            continue
        alert.escalation_level = chosen[0].level
        alert.ack_due_at = now + policy.ack_deadline(alert.severity)
        if not first:
            alert.state = AlertState.ESCALATED.value
            result.escalated += 1
        step = AlertEventKind.NOTIFIED if first else AlertEventKind.ESCALATED
        for contact in chosen:
            log_event(session, alert, step, now, SYSTEM_ACTOR, contact_id=contact.id,
                      detail={"role": contact.role, "channel": contact.channel,
                              "due": alert.ack_due_at.isoformat()})
            delivery = SafetyDelivery(county=alert.county, alert_id=alert.id,
                                      contact_id=contact.id, level=contact.level,
                                      channel=contact.channel)
            session.add(delivery)
            made.append(delivery)
        alert.updated_at = now
    session.flush()
    _enqueue(session, made)
    result.deliveries += [(d.county, d.id) for d in made]


def _enqueue(session: Session, deliveries: Sequence[SafetyDelivery]) -> None:
    """Queue one job per delivery in this transaction (both visible at commit, or neither)."""
    if not deliveries:
        return
    args = [json.dumps({"county": d.county, "delivery_id": d.id}) for d in deliveries]
    session.execute(text(
        "SELECT procrastinate_defer_jobs_v1(array_agg(ROW(:queue, :task, 0, NULL, NULL, "
        "CAST(a AS jsonb), NULL)::procrastinate_job_to_defer_v1)) "
        "FROM unnest(CAST(:args AS text[])) a"),
        {"queue": DELIVERY_QUEUE, "task": DELIVERY_TASK, "args": args})


def start_escalation(session: Session, keys: Sequence[tuple[str, int]], *, now: dt.datetime,
                     policy: SafetyPolicy) -> EscalationResult:
    """Log ``opened`` for new alerts and tell their first contacts."""
    result = EscalationResult()
    alerts = _load(session, keys)
    for alert in alerts:
        log_event(session, alert, AlertEventKind.OPENED, now, SYSTEM_ACTOR,
                  detail={"kind": alert.kind, "severity": alert.severity})
    _tell(session, alerts, now=now, policy=policy, first=True, result=result)
    return result


def _load(session: Session, keys: Sequence[tuple[str, int]]) -> list[SafetyAlert]:
    """The alerts, locked; one statement per county (a router query on Citus, where a
    multi-shard ``FOR UPDATE`` is refused)."""
    alerts: list[SafetyAlert] = []
    for county in sorted({k[0] for k in keys}):
        ids = sorted({k[1] for k in keys if k[0] == county})
        alerts += session.scalars(select(SafetyAlert).where(
            SafetyAlert.county == county,
            SafetyAlert.id == any_(bindparam("i", type_=ARRAY(BigInteger))))
            .order_by(SafetyAlert.id).with_for_update(), {"i": ids}).all()
    return alerts


def escalate_overdue(session: Session, *, now: dt.datetime, policy: SafetyPolicy,
                     scope: Scope | None = None) -> EscalationResult:
    """Move every alert whose deadline has passed unacknowledged to its next contacts.

    ``FOR UPDATE SKIP LOCKED``: two workers ticking at once never escalate one alert twice.
    """
    def overdue_in(county: str | None) -> Any:
        query = (select(SafetyAlert).join(House, (House.county == SafetyAlert.county)
                                          & (House.id == SafetyAlert.house_id))
                 .where(SafetyAlert.ack_due_at <= now, SafetyAlert.state.in_(_WAITING),
                        scope_filter(House, scope)))
        return query if county is None else query.where(SafetyAlert.county == county)

    # which counties have any (no lock, all shards), then each county's, locked: a router
    # query per county, since Citus refuses a multi-shard FOR UPDATE
    counties = session.scalars(overdue_in(None).with_only_columns(SafetyAlert.county)
                               .distinct()).all()
    overdue: list[SafetyAlert] = []
    for county in sorted(counties):
        overdue += session.scalars(overdue_in(county).order_by(SafetyAlert.id).with_for_update(
            of=SafetyAlert, skip_locked=True)).all()
    result = EscalationResult()
    _tell(session, overdue, now=now, policy=policy, first=False, result=result)
    notify_changed(session, [(a.county, a.id) for a in overdue])
    return result
