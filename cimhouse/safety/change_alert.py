"""Acknowledge or resolve an alert: open -> acknowledged -> resolved (or escalated).

Only alerts in the caller's scope can be found (scope in SQL: another community's alert is
"not found", never "forbidden"). Every change updates the row, stops the escalation
deadline, writes a ``safety_alert_event`` and an ``audit_log`` row naming the actor, and
announces the change to the subscription. ``now`` is the safety clock (default: the
database's time).

Example::

    alert = change_alert(session, "330402", 7, "acknowledge", scope=principal.scope,
                         actor="api:grid-worker-3")
    alert.state   # 'acknowledged'
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, NotFound
from cimhouse.i18n import _
from cimhouse.safety.escalate import log_event, notify_changed
from cimhouse.schema import AuditLog, House, SafetyAlert
from cimhouse.schema.vocab import AlertEventKind, AlertState
from cimhouse.scope import Scope, scope_filter

#: verb -> (states it applies to, the state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], AlertState]] = {
    "acknowledge": (("open", "escalated"), AlertState.ACKNOWLEDGED),
    "resolve": (("open", "acknowledged", "escalated"), AlertState.RESOLVED),
    "escalate": (("open",), AlertState.ESCALATED),
}


def change_alert(session: Session, county: str, alert_id: int, verb: str, *,
                 scope: Scope | None, actor: str, note: str | None = None,
                 now: dt.datetime | None = None) -> SafetyAlert:
    """Move the alert along :data:`TRANSITIONS`; raises NotFound / Conflict."""
    alert = session.scalars(
        select(SafetyAlert).join(House, (House.county == SafetyAlert.county)
                                 & (House.id == SafetyAlert.house_id))
        .where(SafetyAlert.county == county, SafetyAlert.id == alert_id,
               scope_filter(House, scope)).with_for_update(of=SafetyAlert)).one_or_none()
    if alert is None:
        raise NotFound(_("alert not found (unknown, or outside your scope)"))
    allowed, target = TRANSITIONS[verb]
    if alert.state not in allowed:
        raise Conflict(_("an alert that is {state} cannot be {target}", state=alert.state,
                         target=target.value))
    now = now or session.scalar(select(func.now()))
    assert now is not None
    alert.state = target.value
    alert.ack_due_at = None  # acknowledged or resolved: nobody else needs calling
    if target is AlertState.ACKNOWLEDGED:
        alert.acknowledged_at, alert.acknowledged_by = now, actor
    elif target is AlertState.RESOLVED:
        alert.resolved_at, alert.resolved_by = now, actor
    if note:
        alert.note = note[:1000]
    session.add(AuditLog(actor=actor, action=f"alert.{verb}", object_kind="safety_alert",
                         object_ref=f"{county}:{alert_id}", detail={"state": target.value}))
    if target in (AlertState.ACKNOWLEDGED, AlertState.RESOLVED):
        log_event(session, alert, AlertEventKind(target.value), now, actor,
                  detail={"note": True} if note else None)
    notify_changed(session, [(county, alert_id)])
    session.flush()
    return alert
