"""The webhook step of the worker: hand each webhook's next batch of changes to a delivery.

For every active webhook without a batch in flight, read the feed after its cursor with
:func:`cimhouse.feed.read_changes.read_changes` (the feed's own scope filter, in SQL, with the
scope's county keys; the webhook's kinds; values masked as in the feed) and queue one signed
delivery of up to ``batch_size`` changes. The cursor moves only in :func:`advance_cursor`, the
delivery's ``on_delivered`` hook, in the transaction that records the success; the next batch is
queued there too when more is waiting. One batch in flight per webhook, and the cursor behind
it, make delivery ordered and at least once: a batch that fails is sent again, identical, until
it is delivered or dead-lettered; a dead-lettered batch holds the webhook (``webhooks list``
shows ``dead_letter``) until ``cimhouse jobs retry`` sends it again.

Body of a delivery (UTF-8 JSON)::

    {"webhook": 3, "after": "1041", "endCursor": "1043", "hasMore": false,
     "changes": [{"cursor": "1042", "kind": "house", ...}, {"cursor": "1043", ...}]}

Example (``cimhouse worker`` runs it every 10 seconds; ``cimhouse webhooks deliver`` once)::

    >>> deliver_webhooks(engine, settings)
    WebhookRound(queued=2, waiting=1, recovered=0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import procrastinate
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cimhouse.db import session_scope
from cimhouse.delivery.attempt_delivery import recover_deliveries
from cimhouse.delivery.enqueue_delivery import enqueue_delivery
from cimhouse.delivery.sign import SecretBox
from cimhouse.feed.read_changes import read_changes
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.schema import Job, Webhook
from cimhouse.schema.vocab import RunStatus
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings

HOOK = "cimhouse.feed.deliver_webhooks:advance_cursor"
TASK_NAME = "cimhouse.deliver_webhooks"
QUEUE = "webhooks"
#: procrastinate cron with seconds (6th field): a change reaches subscribers within ~10 s
EVERY = "* * * * * */10"
IN_FLIGHT = (RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.DEAD_LETTER.value)


@dataclass
class WebhookRound:
    queued: int  # batches handed to deliveries
    waiting: int  # webhooks with a batch in flight or dead-lettered
    recovered: int  # deliveries whose worker died mid-attempt, queued again


def queue_next_batch(session: Session, settings: Settings, hook: Webhook) -> Job | None:
    """Queue the changes after ``hook.cursor`` (None when there are none); caller commits."""
    # Citus: the delivery's job (a reference table) is written after the feed was read from
    # every shard, which Citus refuses after a parallel multi-shard access; one connection
    # per node, set before the read. A placeholder setting on plain PostgreSQL.
    session.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    scope = with_county_keys(session, parse_scope(hook.scope_code))
    page = read_changes(session, scope=scope, after=hook.cursor, first=hook.batch_size,
                        kinds=list(hook.kinds), with_persons=hook.with_persons)
    if not page.changes:
        return None
    payload = {"webhook": hook.id, "after": str(hook.cursor), "endCursor": page.end_cursor,
               "hasMore": page.has_more, "changes": [c.as_json() for c in page.changes]}
    job = enqueue_delivery(
        session, settings, url=hook.url, payload=payload,
        secret=SecretBox.from_settings(settings).open(hook.secret_enc),
        actor=f"webhook:{hook.id}", scope_code=hook.scope_code,
        max_attempts=hook.max_attempts, base_delay_s=hook.base_delay_s, on_delivered=HOOK,
        context={"webhook_id": hook.id, "after": hook.cursor,
                 "end_cursor": int(page.end_cursor), "has_more": page.has_more})
    hook.pending_job_id = job.id
    session.flush()
    return job


def advance_cursor(session: Session, settings: Settings, context: dict[str, Any]) -> None:
    """``on_delivered`` of a webhook batch: move the cursor past it, queue the next batch."""
    hook = session.get(Webhook, int(context["webhook_id"]), with_for_update=True)
    if hook is None or hook.cursor != int(context["after"]):
        return  # removed meanwhile, or this batch was already taken into account
    hook.cursor = int(context["end_cursor"])
    hook.pending_job_id = None
    hook.last_delivered_at = session.scalar(select(func.now()))
    session.flush()
    if context.get("has_more") and hook.active:
        queue_next_batch(session, settings, hook)


def deliver_webhooks(engine: Engine, settings: Settings) -> WebhookRound:
    """Number new changes, then queue a batch for every webhook that is free to take one."""
    stamp_changes(engine, wait=False)  # another stamper at work: its changes come next round
    with session_scope(engine) as session:
        recovered = len(recover_deliveries(session))
        ids = session.scalars(select(Webhook.id).where(Webhook.active).order_by(Webhook.id)
                              ).all()
    queued = waiting = 0
    for webhook_id in ids:  # one transaction per webhook: one slow scope holds no other
        with session_scope(engine) as session:
            hook = session.scalars(select(Webhook).where(Webhook.id == webhook_id)
                                   .with_for_update(skip_locked=True)).first()
            if hook is None:
                continue
            if hook.pending_job_id is not None:
                status = session.scalar(select(Job.status).where(Job.id == hook.pending_job_id))
                if status in IN_FLIGHT:
                    waiting += 1
                    continue
                # cancelled, failed, or succeeded with a hook that failed: the cursor did
                # not move, so the same changes are sent again (at least once)
                hook.pending_job_id = None
            if queue_next_batch(session, settings, hook) is not None:
                queued += 1
    return WebhookRound(queued, waiting, recovered)


def register_webhook_task(app: procrastinate.App, engine: Callable[[], Engine],
                          settings: Settings) -> None:
    """The periodic webhook round of ``cimhouse worker`` (one at a time: a queueing lock)."""

    @app.periodic(cron=EVERY, periodic_id="webhooks")
    @app.task(name=TASK_NAME, queue=QUEUE, queueing_lock=TASK_NAME)
    def run_round(timestamp: int) -> dict[str, int]:  # noqa: ARG001 (passed by name)
        done = deliver_webhooks(engine(), settings)
        return {"queued": done.queued, "waiting": done.waiting, "recovered": done.recovered}
