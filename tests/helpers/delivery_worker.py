"""Run the real procrastinate worker until the given delivery jobs have finished.

Retries are queue entries scheduled in the future; ``run_worker(wait=False)`` takes only the
due ones, so the helper runs it again until every job has left ``queued`` (or a deadline).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select

from cimhouse.coding.jobs import WORKER_QUEUES, make_app
from cimhouse.db import session_scope
from cimhouse.schema import Job
from cimhouse.settings import Settings


def run_until_settled(url: str, settings: Settings, engine: Engine, job_ids: Iterable[int],
                      *, deadline_s: float = 60.0) -> dict[int, str]:
    """Status of each job once none is queued or running (AssertionError at the deadline)."""
    ids = list(job_ids)
    app = make_app(settings, url=url)
    end = time.monotonic() + deadline_s
    while True:
        app.run_worker(queues=WORKER_QUEUES, wait=False, install_signal_handlers=False,
                       listen_notify=False)
        with session_scope(engine) as session:
            statuses = {r[0]: r[1] for r in session.execute(
                select(Job.id, Job.status).where(Job.id.in_(ids)))}
        if all(s not in ("queued", "running") for s in statuses.values()):
            return statuses
        assert time.monotonic() < end, f"deliveries still pending: {statuses}"
        time.sleep(0.05)


def drain_webhook(engine: Engine, settings: Settings, hook_id: int, *,
                  rounds: int = 200) -> None:
    """Webhook rounds and delivery attempts (in this process, real HTTP) until the webhook
    has caught up with the feed."""
    from cimhouse.delivery.attempt_delivery import attempt_delivery
    from cimhouse.feed.deliver_webhooks import deliver_webhooks
    from cimhouse.schema import Webhook

    for _ in range(rounds):
        deliver_webhooks(engine, settings)
        with session_scope(engine) as session:
            hook = session.get(Webhook, hook_id)
            assert hook is not None
            pending = hook.pending_job_id
            status = session.scalar(select(Job.status).where(Job.id == pending)) \
                if pending else None
        if pending is None:
            return
        assert status in ("queued", "succeeded"), status
        attempt_delivery(engine, settings, pending)
    raise AssertionError("the webhook did not catch up")


def received_changes(requests: Iterable[Any], secret: str) -> list[dict[str, Any]]:
    """The changes of the delivered bodies, in arrival order; every signature verified."""
    from cimhouse.delivery.sign import verify_signature

    changes: list[dict[str, Any]] = []
    for request in requests:
        assert verify_signature(secret, request.body, request.headers)
        changes += json.loads(request.body)["changes"]
    return changes
