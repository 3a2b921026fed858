"""Code-assignment jobs on the procrastinate queue (PostgreSQL-backed), run by ``cimhouse worker``.

- :func:`enqueue_code_assignment` records a ``job`` row and queues the task *in the caller's
  transaction*: both become visible together at commit, or neither does.
- :func:`make_app` builds the procrastinate App from settings (never at import time); its
  task :data:`TASK_NAME` runs :func:`run_code_assignment`, i.e. ``assign_codes`` inside its
  own transaction, writing progress to the job row as it goes.
- :func:`cancel_job` cancels a queued job, or asks a running one to stop (it rolls back).
- :func:`mark_interrupted_jobs` fails running jobs whose process died (SIGKILL, power loss):
  CLI runs and worker runs alike.

Example (the GraphQL ``startCodeAssignment`` / ``cancelJob`` mutations do the same)::

    with session_scope(engine) as session:
        job = enqueue_code_assignment(session, "330402", actor="alice")
    make_app(settings).run_worker(queues=[QUEUE], wait=False)   # or: cimhouse worker
    with session_scope(engine) as session:
        cancel_job(session, job.id, actor="alice")   # Conflict: it has finished already
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import procrastinate
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cimhouse.coding.assign_codes import JOB_KIND, AssignResult, ProgressCallback, assign_codes
from cimhouse.coding.resolve_scope import resolve_scope
from cimhouse.db import database_url, make_engine, session_scope
from cimhouse.errors import CimhouseError, Conflict, NotFound
from cimhouse.i18n import _
from cimhouse.schema import AuditLog, Job
from cimhouse.schema.vocab import RunStatus
from cimhouse.settings import Settings

QUEUE = "codes"
#: the queues ``cimhouse worker`` serves: code assignment, deliveries, the webhook poll,
#: the nightly retention of readings (cimhouse.safety.maintain_readings.QUEUE), the safety
#: notices (issue 19; the every-minute safety tick has its own queue, served by the worker)
WORKER_QUEUES = [QUEUE, "delivery", "webhooks", "safety"]
TASK_NAME = "cimhouse.run_code_assignment"
#: first key of the advisory lock a CLI-run job holds while its transaction is alive
JOB_LOCK_NAMESPACE = 0x43494A42  # "CIJB"
FINISHED = {RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value,
            RunStatus.DEAD_LETTER.value}
log = logging.getLogger(__name__)


class JobCancelled(CimhouseError):
    """A running job saw a cancel request and stopped (its transaction rolls back)."""


def libpq_conninfo(sqlalchemy_url: str) -> str:
    """The libpq URI of a ``postgresql+psycopg://`` SQLAlchemy URL (for procrastinate)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def make_app(settings: Settings | None = None, *, url: str | None = None) -> procrastinate.App:
    """A procrastinate App on cimhouse's database with the code-assignment task registered."""
    current = settings or Settings.from_env()
    sqlalchemy_url = url or database_url(current)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=libpq_conninfo(sqlalchemy_url)))
    engines: list[Engine] = []

    def engine() -> Engine:
        if not engines:
            engines.append(make_engine(current, url=sqlalchemy_url))
        return engines[0]

    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=True)
    def run_task(context: procrastinate.JobContext, job_id: int) -> dict[str, Any]:
        return run_code_assignment(engine(), job_id, should_abort=context.should_abort)

    from cimhouse.delivery.tasks import register_delivery_tasks  # they import this module
    from cimhouse.feed.deliver_webhooks import register_webhook_task

    register_delivery_tasks(app, engine, current)
    register_webhook_task(app, engine, current)

    from cimhouse.safety.maintain_readings import register_tasks
    from cimhouse.safety.tasks import register_safety_tasks  # issue 19: notices, tick

    register_tasks(app, engine, current)  # the nightly retention of readings
    register_safety_tasks(app, engine, current)
    return app


def enqueue_code_assignment(session: Session, scope: str, actor: str, *,
                            dry_run: bool = False) -> Job:
    """Record a queued code-assignment job and put it on the queue (caller commits).

    Raises NotFound for a scope that names no region or estate (nothing is queued).
    """
    parsed = resolve_scope(session, scope)
    # One INSERT with every column, the id taken first: on Citus ``job`` is a reference
    # table, an INSERT locks its shard in a shared mode and an UPDATE exclusively (to the
    # end of the transaction), so an INSERT followed by an UPDATE deadlocks with another
    # enqueue doing the same.
    job_id = session.execute(text(
        "SELECT nextval(pg_get_serial_sequence('job', 'id'))")).scalar_one()
    queue_job_id = session.execute(text(
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, "
        "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"),
        {"queue": QUEUE, "task": TASK_NAME, "args": json.dumps({"job_id": job_id})}
    ).scalar_one()
    job = Job(id=job_id, kind=JOB_KIND, scope_code=parsed.code, status=RunStatus.QUEUED.value,
              requested_by=actor, queue_job_id=queue_job_id,
              options={"scope": parsed.code, "dry_run": dry_run, "runner": "worker"})
    session.add(job)
    session.flush()
    session.add(AuditLog(actor=actor, action="enqueue_code_assignment", object_kind="job",
                         object_ref=str(job.id), detail={"scope": parsed.code}))
    session.flush()
    return job


def cancel_job(session: Session, job_id: int, actor: str) -> Job:
    """Cancel a queued job at once; ask a running worker job to stop (it rolls back)."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound(_("job {job_id} not found", job_id=job_id))
    if job.status in FINISHED:
        raise Conflict(_("job {job_id} has already finished ({status})", job_id=job_id,
                         status=job.status))
    if job.queue_job_id is None:
        raise Conflict(_("job {job_id} runs in a command-line process; stop that process (its "
                         "work rolls back)", job_id=job_id))
    session.execute(text("SELECT procrastinate_cancel_job_v1(:id, true, false)"),
                    {"id": job.queue_job_id})
    job.options = {**job.options, "cancel_requested_by": actor}
    if job.status == RunStatus.QUEUED.value:
        job.status = RunStatus.CANCELLED.value
        job.finished_at = session.scalar(select(func.now()))
        job.error = f"cancelled by {actor} before it started"
    session.add(AuditLog(actor=actor, action="cancel_job", object_kind="job",
                         object_ref=str(job_id), detail={"status": job.status}))
    session.flush()
    return job


def hold_job_lock(session: Session, job_id: int) -> None:
    """Mark ``job_id`` as alive for as long as this transaction lasts."""
    session.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                    {"ns": JOB_LOCK_NAMESPACE, "id": job_id % 2**31})


def mark_interrupted_jobs(session: Session) -> list[int]:
    """Fail jobs still marked running whose process died (SIGKILL, power loss, lost link).

    A running job's work transaction holds the job's advisory lock (:func:`hold_job_lock`)
    from before the job shows ``running`` until it ends, CLI and worker jobs alike; when the
    lock is free, nobody is working on the job any more and its work has rolled back. The
    job becomes ``failed`` with the reason, a worker job's queue entry too (else procrastinate
    would show it ``doing`` for ever), and an audit row says who recovered it. Called by
    ``codes assign``, ``cimhouse worker`` on start, ``jobs list`` and ``jobs show``; code
    assignment is idempotent, so the operator simply runs it again.
    """
    running = session.scalars(select(Job).where(
        Job.status == RunStatus.RUNNING.value).order_by(Job.id).with_for_update(
        skip_locked=True)).all()
    interrupted = []
    for job in running:
        alive = not session.execute(text("SELECT pg_try_advisory_xact_lock(:ns, :id)"),
                                    {"ns": JOB_LOCK_NAMESPACE, "id": job.id % 2**31}).scalar()
        if alive:
            continue
        runner = "the worker" if job.queue_job_id is not None else "the process"
        job.status = RunStatus.FAILED.value
        job.finished_at = session.scalar(select(func.now()))
        job.error = f"interrupted: {runner} running it stopped before committing; " \
                    "nothing was written, run it again"
        if job.queue_job_id is not None:
            session.execute(text(
                "SELECT procrastinate_finish_job_v1(id, 'failed', false) "
                "FROM procrastinate_jobs WHERE id = :id AND status = 'doing'"),
                {"id": job.queue_job_id})
        session.add(AuditLog(actor="system", action="recover_job", object_kind="job",
                             object_ref=str(job.id), detail={"error": job.error}))
        log.warning("job %s marked failed: %s", job.id, job.error)
        interrupted.append(job.id)
    session.flush()
    return interrupted


def run_inline_assignment(engine: Engine, scope: str, *, actor: str, dry_run: bool = False,
                          on_progress: ProgressCallback | None = None) -> AssignResult:
    """Run a code assignment in this process (``cimhouse codes assign``), recorded as a job.

    The job row is committed first, so a killed process leaves a trace that the next run
    (or ``jobs list``) marks as interrupted; the work itself is one transaction holding the
    job's liveness lock, taken before the job shows ``running``.
    """
    with session_scope(engine) as session:
        parsed = resolve_scope(session, scope)  # an unknown region leaves no job behind
        mark_interrupted_jobs(session)
        job = Job(kind=JOB_KIND, scope_code=parsed.code, status=RunStatus.QUEUED.value,
                  requested_by=actor,
                  options={"scope": parsed.code, "dry_run": dry_run, "runner": "cli"})
        session.add(job)
        session.flush()
        job_id = job.id
    try:
        with session_scope(engine) as session:
            hold_job_lock(session, job_id)
            _mark_running(engine, job_id)
            return assign_codes(session, parsed, actor=actor, dry_run=dry_run, job_id=job_id,
                                on_progress=on_progress)
    except CimhouseError as exc:
        _finish(engine, job_id, RunStatus.FAILED, exc.message)
        raise
    except BaseException as exc:
        _finish(engine, job_id, RunStatus.FAILED, f"stopped ({type(exc).__name__})")
        raise


def _finish(engine: Engine, job_id: int, status: RunStatus, error: str) -> None:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        if job is not None and job.status not in FINISHED:
            job.status = status.value
            job.finished_at = session.scalar(select(func.now()))
            job.error = error


def _mark_running(engine: Engine, job_id: int) -> tuple[str, str, bool] | str:
    """Show the job running (committed at once): its (scope, actor, dry_run), or the status
    of a job that has finished (cancelled before it started, say).

    The caller's work transaction already holds the job lock, so whenever a job shows
    ``running`` a live transaction holds its lock, and :func:`mark_interrupted_jobs` never
    takes a starting job for a dead one.
    """
    with session_scope(engine) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFound(_("job {job_id} not found", job_id=job_id))
        if job.status in FINISHED:
            return job.status
        job.status = RunStatus.RUNNING.value
        job.started_at = session.scalar(select(func.now()))
        return job.scope_code or "", job.requested_by or "worker", bool(
            job.options.get("dry_run"))


def run_code_assignment(engine: Engine, job_id: int, *,
                        should_abort: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run a recorded job: mark it running, assign codes in one transaction, record the end.

    Progress (stage, done, total) goes to ``job.counts["progress"]`` in short separate
    transactions, so other sessions can watch it.
    """
    def progress(stage: str, done: int, total: int) -> None:
        if should_abort is not None and should_abort():
            raise JobCancelled(f"job {job_id} cancelled")
        with engine.begin() as conn:
            conn.execute(text(
                "UPDATE job SET counts = counts || jsonb_build_object('progress', "
                "jsonb_build_object('stage', CAST(:s AS text), 'done', CAST(:d AS int), "
                "'total', CAST(:t AS int))) WHERE id = :id"),
                {"s": stage, "d": done, "t": total, "id": job_id})

    try:
        with session_scope(engine) as session:
            hold_job_lock(session, job_id)  # before the job shows running
            started = _mark_running(engine, job_id)
            if isinstance(started, str):
                return {"job_id": job_id, "status": started}
            scope, actor, dry_run = started
            result = assign_codes(session, scope, actor=actor, dry_run=dry_run,
                                  job_id=job_id, on_progress=progress)
    except JobCancelled:
        _finish(engine, job_id, RunStatus.CANCELLED, "cancelled while running; rolled back")
        return {"job_id": job_id, "status": RunStatus.CANCELLED.value}
    except CimhouseError as exc:
        _finish(engine, job_id, RunStatus.FAILED, exc.message)
        raise
    except Exception as exc:
        log.exception("code assignment job %s failed", job_id)
        _finish(engine, job_id, RunStatus.FAILED, f"internal error ({type(exc).__name__})")
        raise
    return {**result.as_dict(), "status": RunStatus.SUCCEEDED.value}
