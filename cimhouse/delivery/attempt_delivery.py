"""One attempt of a queued delivery (run by ``cimhouse worker``): POST, then record the outcome.

The attempt runs in one transaction that holds the job row (``FOR UPDATE``) and the job's
liveness lock (:func:`cimhouse.coding.jobs.hold_job_lock`) while the POST is in flight, so two
workers never send the same delivery at once and a worker killed mid-attempt leaves the job
``queued`` with a lock nobody holds: :func:`recover_deliveries` (run by ``cimhouse worker`` on
start and by the webhook poll) puts it back on the queue. The receiver may then get the body
twice: deliveries are at least once, and ``X-Cimhouse-Delivery`` lets it drop the repeat.

- 2xx: ``succeeded``; the ``on_delivered`` hook runs in the same transaction (a savepoint).
- anything else (other status, refused connection, timeout; redirects are not followed): the
  attempt is counted, the error kept (status code or exception class, never the body or the
  secret), and the next attempt is queued after :func:`backoff_delay`; after
  ``max_attempts`` the job is ``dead_letter`` (``jobs list``), and ``cimhouse jobs retry ID``
  queues it again from attempt 1.

Example::

    attempt_delivery(engine, settings, 42)
    # {'job_id': 42, 'status': 'queued', 'attempts': 1, 'http_status': 503,
    #  'retry_in_s': 7.3}
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cimhouse.coding.jobs import JOB_LOCK_NAMESPACE, hold_job_lock
from cimhouse.db import session_scope
from cimhouse.delivery.enqueue_delivery import JOB_KIND, defer_attempt
from cimhouse.delivery.sign import SecretBox, signed_headers
from cimhouse.errors import Conflict, NotFound
from cimhouse.i18n import _
from cimhouse.schema import AuditLog, Delivery, Job
from cimhouse.schema.vocab import RunStatus
from cimhouse.settings import Settings

TIMEOUT_S = 10.0
MAX_DELAY_S = 3600.0
log = logging.getLogger(__name__)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery (and could point the body anywhere)."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def backoff_delay(base_s: float, attempt: int, *, cap_s: float = MAX_DELAY_S,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with "equal jitter".

    Half of ``min(cap, base * 2**(attempt-1))`` is fixed, the other half random, so receivers
    that came back are not hit by every sender at once and the wait still grows.

    >>> backoff_delay(10, 1, rng=lambda: 0.0), backoff_delay(10, 3, rng=lambda: 1.0)
    (5.0, 40.0)
    """
    ceiling = min(cap_s, base_s * float(2 ** max(0, attempt - 1)))
    return ceiling / 2 + rng() * ceiling / 2


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float
         ) -> tuple[int | None, str | None]:
    """(HTTP status, None) for an answer, (status or None, error) for a failure."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:300]
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}"


def _run_hook(session: Session, settings: Settings, delivery: Delivery) -> str | None:
    if not delivery.on_delivered:
        return None
    module, _sep, name = delivery.on_delivered.partition(":")
    try:
        with session.begin_nested():
            hook = getattr(importlib.import_module(module), name)
            hook(session, settings, dict(delivery.context))
    except Exception as exc:  # delivered all the same; the hook's owner sends again later
        log.exception("on_delivered hook of delivery %s failed", delivery.job_id)
        return f"delivered; on_delivered failed ({type(exc).__name__})"
    return None


def attempt_delivery(engine: Engine, settings: Settings, job_id: int, *,
                     queue_id: int | None = None, timeout_s: float = TIMEOUT_S
                     ) -> dict[str, Any]:
    """Make one attempt of delivery ``job_id``; returns what happened (see the module doc).

    ``queue_id`` is the queue entry running it: an entry that is no longer the job's current
    one (the job was retried by hand meanwhile) does nothing."""
    with session_scope(engine) as session:
        job = session.scalars(select(Job).where(Job.id == job_id).with_for_update(
            skip_locked=True)).first()
        if job is None:
            exists = session.scalar(select(Job.id).where(Job.id == job_id))
            if exists is None:
                raise NotFound(_("job {job_id} not found", job_id=job_id))
            return {"job_id": job_id, "status": "busy"}
        if job.status != RunStatus.QUEUED.value or (
                queue_id is not None and job.queue_job_id != queue_id):
            return {"job_id": job_id, "status": job.status, "skipped": True}
        delivery = session.get(Delivery, job_id)
        if delivery is None:
            raise NotFound(_("job {job_id} not found", job_id=job_id))
        hold_job_lock(session, job_id)
        attempt = delivery.attempts + 1
        body = delivery.body.encode("utf-8")
        secret = SecretBox.from_settings(settings).open(delivery.secret_enc)
        headers = signed_headers(secret, body, delivery_id=job_id, attempt=attempt)
        del secret
        status, error = post(delivery.url, body, headers, timeout_s)
        now = session.scalar(select(func.now()))
        delivery.attempts = attempt
        delivery.last_status = status
        delivery.last_error = error
        job.started_at = job.started_at or now
        out: dict[str, Any] = {"job_id": job_id, "attempts": attempt, "http_status": status}
        if error is None:
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            job.status = RunStatus.SUCCEEDED.value
            job.finished_at = now
            job.error = _run_hook(session, settings, delivery)
        elif attempt >= delivery.max_attempts:
            delivery.next_attempt_at = None
            job.status = RunStatus.DEAD_LETTER.value
            job.finished_at = now
            job.error = f"dead letter after {attempt} attempts; last: {error}"
            session.add(AuditLog(actor="system", action="dead_letter_delivery",
                                 object_kind="job", object_ref=str(job_id),
                                 detail={"attempts": attempt, "error": error}))
            log.warning("delivery %s dead-lettered after %s attempts (%s)", job_id, attempt,
                        error)
        else:
            delay = backoff_delay(delivery.base_delay_s, attempt)
            assert now is not None
            delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
            job.queue_job_id = defer_attempt(session, job_id, delivery.next_attempt_at)
            job.error = f"attempt {attempt} failed: {error}"
            out["retry_in_s"] = round(delay, 3)
        job.counts = {**job.counts, "attempts": attempt, "last_status": status,
                      "next_attempt_at": delivery.next_attempt_at.isoformat()
                      if delivery.next_attempt_at else None}
        out["status"] = job.status
        return out


def retry_delivery(session: Session, job_id: int, actor: str) -> Job:
    """Queue a dead-lettered (or failed) delivery again, from attempt 1; the caller commits."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.kind != JOB_KIND:
        raise NotFound(_("job {job_id} not found", job_id=job_id))
    if job.status not in (RunStatus.DEAD_LETTER.value, RunStatus.FAILED.value):
        raise Conflict(_("job {job_id} is {status}; only a dead-lettered or failed delivery is "
                         "retried", job_id=job_id, status=job.status))
    delivery = session.get(Delivery, job_id)
    if delivery is None:
        raise NotFound(_("job {job_id} not found", job_id=job_id))
    delivery.attempts = 0
    delivery.next_attempt_at = None
    job.status = RunStatus.QUEUED.value
    job.finished_at = None
    job.error = None
    job.counts = {**job.counts, "attempts": 0, "next_attempt_at": None}
    job.queue_job_id = defer_attempt(session, job_id, None)
    session.add(AuditLog(actor=actor, action="retry_delivery", object_kind="job",
                         object_ref=str(job_id), detail={}))
    session.flush()
    return job


def recover_deliveries(session: Session) -> list[int]:
    """Queue again the deliveries whose attempt died with its worker; their job ids.

    Such a job is ``queued`` while its queue entry is ``doing`` and nobody holds its liveness
    lock (the attempt's transaction rolled back, so its outcome was never recorded)."""
    queued = [(r[0], r[1]) for r in session.execute(select(Job.id, Job.queue_job_id).where(
        Job.kind == JOB_KIND, Job.status == RunStatus.QUEUED.value,
        Job.queue_job_id.is_not(None)).order_by(Job.id).with_for_update(skip_locked=True))]
    # the queue's table is local to the coordinator: read apart from ``job`` (no join)
    doing = set(session.execute(text(
        "SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids) AND status = 'doing'"),
        {"ids": [q for _j, q in queued]}).scalars()) if queued else set()
    stuck = [(j, q) for j, q in queued if q in doing]
    recovered = []
    for job_id, queue_id in stuck:
        alive = not session.execute(text("SELECT pg_try_advisory_xact_lock(:ns, :id)"),
                                    {"ns": JOB_LOCK_NAMESPACE, "id": job_id % 2**31}).scalar()
        if alive:
            continue
        session.execute(text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"),
                        {"id": queue_id})
        session.execute(text("UPDATE job SET queue_job_id = :q WHERE id = :id"),
                        {"q": defer_attempt(session, job_id, None), "id": job_id})
        log.warning("delivery %s: its worker stopped mid-attempt; queued again", job_id)
        recovered.append(job_id)
    return recovered
