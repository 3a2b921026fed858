"""A worker killed with SIGKILL in the middle of a job: the job does not stay ``running``
for ever. The next ``jobs list`` or the restarted worker sees that no live transaction
holds the job's lock, marks it failed with the reason, fails its queue entry too, and
nothing of the killed run is left (issue 11, item 15)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cimhouse.coding.jobs import enqueue_code_assignment, mark_interrupted_jobs
from cimhouse.coding.namespace import LOCK_NAMESPACE
from cimhouse.db import session_scope
from cimhouse.schema import Job
from tests.helpers.coding_world import COMMUNITY, build_world


def _cli(url: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cimhouse.cli.main", *args],
                            env={**os.environ, "CIMHOUSE_DATABASE_URL": url}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _job(engine: Engine, job_id: int) -> Job:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _wait_for(predicate: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("recovery", ["jobs list", "restarted worker"])
def test_worker_killed_mid_job_is_recovered(fresh_db: str, fresh_engine: Engine,
                                            tmp_path: Path, recovery: str) -> None:
    with session_scope(fresh_engine) as session:
        build_world(session, estates=1, buildings=2)
    with session_scope(fresh_engine) as session:
        job = enqueue_code_assignment(session, COMMUNITY, actor="alice")
        job_id, queue_id = job.id, job.queue_job_id

    # Hold the county's issuing lock: the worker's job stops there, mid-transaction.
    blocker = fresh_engine.connect()
    blocker.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                    {"ns": LOCK_NAMESPACE, "key": int(COMMUNITY[:6])})
    worker = _cli(fresh_db, "worker", "--once", cwd=tmp_path)
    try:
        _wait_for(lambda: _job(fresh_engine, job_id).status == "running")
        # alive: a running job whose transaction lives is left alone
        with session_scope(fresh_engine) as session:
            assert mark_interrupted_jobs(session) == []
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    finally:
        blocker.rollback()  # the orphaned server process finishes its wait and goes away
        blocker.close()
        if worker.poll() is None:
            worker.kill()
    assert _job(fresh_engine, job_id).status == "running"  # nobody has looked yet

    def recovered() -> bool:
        if recovery == "jobs list":
            listed = _cli(fresh_db, "jobs", "list", "--json", cwd=tmp_path)
            out, err = listed.communicate(timeout=60)
            assert listed.returncode == 0, err
            status: str = next(j for j in json.loads(out) if j["id"] == job_id)["status"]
            return status == "failed"
        restarted = _cli(fresh_db, "worker", "--once", cwd=tmp_path)
        _, err = restarted.communicate(timeout=120)
        assert restarted.returncode == 0, err
        return _job(fresh_engine, job_id).status == "failed"

    _wait_for(recovered)
    job = _job(fresh_engine, job_id)
    assert job.error is not None
    assert "interrupted" in job.error
    assert "worker" in job.error
    assert job.finished_at is not None
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM procrastinate_jobs WHERE id = :i"),
                            {"i": queue_id}).scalar() == "failed"
        assert conn.execute(text("SELECT count(*) FROM code_registry")).scalar() == 0
        assert conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'recover_job' "
            "AND object_ref = :j"), {"j": str(job_id)}).scalar() == 1
    # the operator runs it again: it completes
    with session_scope(fresh_engine) as session:
        again = enqueue_code_assignment(session, COMMUNITY, actor="alice").id
    rerun = _cli(fresh_db, "worker", "--once", cwd=tmp_path)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _job(fresh_engine, again).status == "succeeded"
