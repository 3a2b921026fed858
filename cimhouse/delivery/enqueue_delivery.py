"""Queue a signed delivery: a ``job`` row (kind ``delivery``), its ``delivery`` row and a
procrastinate entry, all in the caller's transaction (visible together at commit, or never).

The body is serialised once, here; every attempt sends and signs exactly these bytes. The
secret is stored encrypted (:class:`cimhouse.delivery.sign.SecretBox`) and never appears in the
job's options, its error, a log line or ``jobs show``; the URL is shown without its query and
user part (they may carry a token).

Example (the alerts' webhook channel, or :mod:`cimhouse.feed.deliver_webhooks`)::

    with session_scope(engine) as session:
        job = enqueue_delivery(session, settings, url="https://ops.example/hook",
                               payload={"alert": 17}, secret=secret, actor="alerts",
                               scope_code="330402")
    # cimhouse worker POSTs it; job.status: queued -> succeeded, or dead_letter after
    # max_attempts failures (cimhouse jobs list shows both; cimhouse jobs retry ID resends)
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.delivery.sign import SecretBox
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema import AuditLog, Delivery, Job
from cimhouse.schema.vocab import RunStatus
from cimhouse.settings import Settings

JOB_KIND = "delivery"
QUEUE = "delivery"
TASK_NAME = "cimhouse.attempt_delivery"
MAX_ATTEMPTS = 8
BASE_DELAY_S = 10.0
MAX_BODY_BYTES = 8 * 1024 * 1024


def shown_url(url: str) -> str:
    """The URL without user info and query (``https://h/p?token=x`` -> ``https://h/p``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_url(url: str) -> str:
    """An http(s) URL with a host, else InvalidInput."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(_("not an http(s) URL: {value!r}", value=shown_url(url)))
    return url


def defer_attempt(session: Session, job_id: int, at: dt.datetime | None) -> int:
    """Put an attempt of delivery ``job_id`` on the queue (at ``at``, or now); its queue id."""
    return int(session.execute(text(
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, "
        "CAST(:args AS jsonb), CAST(:at AS timestamptz))::procrastinate_job_to_defer_v1]))"),
        {"queue": QUEUE, "task": TASK_NAME, "args": json.dumps({"job_id": job_id}), "at": at}
    ).scalar_one())


def enqueue_delivery(session: Session, settings: Settings, *, url: str, payload: Any,
                     secret: str, actor: str, scope_code: str | None = None,
                     max_attempts: int = MAX_ATTEMPTS, base_delay_s: float = BASE_DELAY_S,
                     on_delivered: str | None = None,
                     context: dict[str, Any] | None = None) -> Job:
    """Record and queue one delivery of ``payload`` (JSON) to ``url``; the caller commits.

    ``on_delivered`` ("cimhouse.module:function") is called as ``f(session, settings,
    context)`` in the
    transaction that records the success (a webhook advances its cursor there). Retries wait
    ``base_delay_s * 2**(n-1)`` seconds (capped at an hour), with jitter; after
    ``max_attempts`` failed attempts the job is ``dead_letter``.
    """
    check_url(url)
    if max_attempts < 1 or base_delay_s < 0:
        raise InvalidInput(_("max_attempts must be at least 1 and base_delay_s not negative"))
    if on_delivered is not None and not on_delivered.startswith("cimhouse."):
        raise InvalidInput(_("on_delivered must name a cimhouse function ('cimhouse.x:f')"))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        raise InvalidInput(_("delivery body larger than {max_body_bytes} bytes",
                             max_body_bytes=MAX_BODY_BYTES))
    # One INSERT of the job row with every column, its id taken first: on Citus ``job`` is a
    # reference table, an INSERT locks its shard in a shared mode and an UPDATE exclusively
    # (to the end of the transaction), so an INSERT followed by an UPDATE of the queue id
    # deadlocks with another enqueue doing the same (as in enqueue_code_assignment).
    job_id = int(session.execute(text(
        "SELECT nextval(pg_get_serial_sequence('job', 'id'))")).scalar_one())
    job = Job(id=job_id, kind=JOB_KIND, scope_code=scope_code, status=RunStatus.QUEUED.value,
              requested_by=actor, queue_job_id=defer_attempt(session, job_id, None),
              options={"target": shown_url(url), "max_attempts": max_attempts,
                       "runner": "worker", **({"context": context} if context else {})},
              counts={"attempts": 0, "bytes": len(body.encode("utf-8"))})
    session.add(job)
    session.flush()
    session.add(Delivery(job_id=job.id, url=url, body=body,
                         secret_enc=SecretBox.from_settings(settings).seal(secret),
                         max_attempts=max_attempts, base_delay_s=base_delay_s,
                         on_delivered=on_delivered, context=context or {}))
    session.add(AuditLog(actor=actor, action="enqueue_delivery", object_kind="job",
                         object_ref=str(job.id), detail={"target": shown_url(url)}))
    session.flush()
    return job
