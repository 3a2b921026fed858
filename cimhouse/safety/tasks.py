"""The safety jobs on the procrastinate queue ``safety`` (run by ``cimhouse worker``).

- :data:`~cimhouse.safety.escalate.DELIVERY_TASK`: one delivery to one contact
  (:func:`cimhouse.safety.deliver_notice.deliver_notice`), queued by the escalation in the
  transaction that decided it;
- ``cimhouse.safety_tick`` (queue ``safety_tick``): every minute,
  :func:`cimhouse.safety.tick.run_tick` over everything with the system clock
  (procrastinate's periodic tasks; two workers never run the same minute twice).

Example (``cimhouse.coding.jobs.make_app`` calls it)::

    register_safety_tasks(app, engine, settings)
    app.run_worker(queues=[*WORKER_QUEUES, TICK_QUEUE])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import procrastinate
from sqlalchemy import Engine

from cimhouse.db import session_scope
from cimhouse.safety.clock import SYSTEM_CLOCK, Clock
from cimhouse.safety.escalate import DELIVERY_QUEUE, DELIVERY_TASK
from cimhouse.settings import Settings

TICK_TASK = "cimhouse.safety_tick"
TICK_QUEUE = "safety_tick"


def register_safety_tasks(app: procrastinate.App, engine: Callable[[], Engine],
                          settings: Settings, *, clock: Clock = SYSTEM_CLOCK,
                          periodic: bool = True) -> None:
    """Register the delivery task and (``periodic``) the tick every minute on ``app``."""

    @app.task(name=DELIVERY_TASK, queue=DELIVERY_QUEUE)
    def deliver(county: str, delivery_id: int) -> str:
        from cimhouse.safety.deliver_notice import CHANNELS, deliver_notice
        from cimhouse.safety.webhook_channel import WebhookChannel

        channels = {**CHANNELS, "webhook": WebhookChannel(settings)}
        with session_scope(engine()) as session:
            return deliver_notice(session, county, delivery_id, now=clock.now(),
                                  channels=channels)

    if not periodic:
        return

    # its own queue: only ``cimhouse worker`` serves it (test workers drain the others)
    @app.periodic(cron="* * * * *", periodic_id="safety-tick")
    @app.task(name=TICK_TASK, queue=TICK_QUEUE, queueing_lock=TICK_TASK)
    def tick(timestamp: int) -> dict[str, Any]:  # noqa: ARG001 (procrastinate passes it)
        from cimhouse.safety.policy import SafetyPolicy
        from cimhouse.safety.tick import run_tick

        with session_scope(engine()) as session:
            return run_tick(session, clock=clock, policy=SafetyPolicy(), scope=None)
