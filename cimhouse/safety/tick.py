"""One tick of the safety clock: the clock-driven rules, then the escalation.

The worker runs it every minute (a periodic job, :mod:`cimhouse.safety.tasks`); ``cimhouse
safety tick`` runs it once; tests call it with a :class:`~cimhouse.safety.clock.ManualClock`.
All steps read the same ``now`` from the one clock, so a tick is deterministic.

Example::

    summary = run_tick(session, clock=ManualClock(when), policy=SafetyPolicy(), scope=None)
    # {'door_night': 1, 'offline': 0, 'inactivity': 0, 'escalated': 2, 'exhausted': 0, ...}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cimhouse.safety.check_devices import check_door_night, check_offline
from cimhouse.safety.check_inactivity import check_inactivity
from cimhouse.safety.clock import Clock
from cimhouse.safety.escalate import escalate_overdue
from cimhouse.safety.policy import SafetyPolicy
from cimhouse.scope import Scope


def run_tick(session: Session, *, clock: Clock, policy: SafetyPolicy,
             scope: Scope | None) -> dict[str, Any]:
    """Run every clock-driven rule and escalate overdue alerts; counts per step."""
    now = clock.now()
    opened = {
        "door_night": check_door_night(session, now=now, policy=policy, scope=scope),
        "offline": check_offline(session, now=now, policy=policy, scope=scope),
        "inactivity": check_inactivity(session, now=now, scope=scope,
                                       hours=policy.inactivity_hours),
    }
    escalation = escalate_overdue(session, now=now, policy=policy, scope=scope)
    return {**opened, "escalated": escalation.escalated, "exhausted": escalation.exhausted,
            "deliveries": len(escalation.deliveries), "now": now.isoformat()}
