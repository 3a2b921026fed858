"""Code-assignment jobs through procrastinate: queued, run by a real worker, cancelled."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from cimhouse.coding.jobs import (
    QUEUE,
    cancel_job,
    enqueue_code_assignment,
    libpq_conninfo,
    make_app,
    run_code_assignment,
)
from cimhouse.db import session_scope
from cimhouse.errors import Conflict, InvalidInput
from cimhouse.schema import Job
from cimhouse.settings import Settings
from tests.helpers.coding_world import COMMUNITY, build_world


def _run_worker(url: str, settings: Settings) -> None:
    app = make_app(settings, url=url)
    app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False,
                   listen_notify=False)


def test_queued_job_runs_in_worker(fresh_db: str, fresh_engine: Engine,
                                   test_settings: Settings) -> None:
    with session_scope(fresh_engine) as session:
        counts = build_world(session)
    with session_scope(fresh_engine) as session:
        job = enqueue_code_assignment(session, COMMUNITY, actor="alice")
        job_id, queue_id = job.id, job.queue_job_id
    assert queue_id is not None
    _run_worker(fresh_db, test_settings)
    with session_scope(fresh_engine) as session:
        done = session.get(Job, job_id)
        assert done is not None
        assert done.status == "succeeded", done.error
        assert done.counts["houses"] == counts["houses"]
        assert done.started_at is not None
        assert done.requested_by == "alice"
        assert done.finished_at is not None
        assert session.execute(text("SELECT count(*) FROM house WHERE code IS NULL")).scalar() == 0
        assert session.execute(text("SELECT status FROM procrastinate_jobs WHERE id = :i"),
                               {"i": queue_id}).scalar() == "succeeded"
        with pytest.raises(Conflict):
            cancel_job(session, job_id, "alice")


def test_cancel_queued_job_never_runs(fresh_db: str, fresh_engine: Engine,
                                      test_settings: Settings) -> None:
    with session_scope(fresh_engine) as session:
        build_world(session, estates=1, buildings=1)
        job_id = enqueue_code_assignment(session, "330402", actor="bob").id
    with session_scope(fresh_engine) as session:
        cancelled = cancel_job(session, job_id, "carol")
        assert cancelled.status == "cancelled"
        assert "carol" in (cancelled.error or "")
    _run_worker(fresh_db, test_settings)
    with session_scope(fresh_engine) as session:
        assert session.execute(text("SELECT count(*) FROM house WHERE code IS NOT NULL")
                               ).scalar() == 0
        assert session.get(Job, job_id).status == "cancelled"  # type: ignore[union-attr]


def test_abort_requested_while_running_rolls_back(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        build_world(session, estates=1, buildings=1)
        job_id = enqueue_code_assignment(session, "330402", actor="bob").id
    result = run_code_assignment(fresh_engine, job_id, should_abort=lambda: True)
    assert result["status"] == "cancelled"
    with session_scope(fresh_engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == "cancelled"
        assert session.execute(text("SELECT count(*) FROM code_registry")).scalar() == 0


def test_enqueue_rejects_bad_scope_and_conninfo(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as sess, pytest.raises(InvalidInput):
        enqueue_code_assignment(sess, "33x", actor="a")
    assert libpq_conninfo("postgresql+psycopg://u@/db?host=/tmp/s") == \
        "postgresql://u@/db?host=%2Ftmp%2Fs"
