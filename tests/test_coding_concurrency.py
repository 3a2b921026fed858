"""Two concurrent jobs on overlapping scopes, and runs killed with SIGKILL mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import Engine, text

from cimhouse.coding.assign_codes import AssignResult, assign_codes
from cimhouse.coding.jobs import run_inline_assignment
from cimhouse.db import session_scope
from cimhouse.schema import Job
from tests.helpers.coding_world import COMMUNITY, COMMUNITY_2, build_world


def _assert_consistent(engine: Engine) -> None:
    """Every object coded once; registry, lineage and objects agree; no code twice."""
    with engine.connect() as conn:
        for table in ("estate", "building", "house"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE code IS NULL")
                                ).scalar() == 0, table
            assert conn.execute(text(
                f"SELECT count(*) FROM {table} t JOIN code_registry r ON r.county = t.county "
                f"AND r.code = t.code "
                f"AND r.object_id = t.id AND r.object_kind = '{table}'")).scalar() == \
                conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        assert conn.execute(text(
            "SELECT count(*) - count(DISTINCT code) FROM code_registry")).scalar() == 0
        assert conn.execute(text(
            "SELECT count(*) FROM code_lineage WHERE event = 'issue'")).scalar() == \
            conn.execute(text("SELECT count(*) FROM code_registry")).scalar()


def _another_job_waits(engine: Engine) -> bool:
    """A backend of the database waits for a lock another transaction holds: on PostgreSQL
    the county's advisory lock ('Lock'); on Citus the second job already waits for the
    ``job`` reference table's shard on a worker ('Extension')."""
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' "
            "AND wait_event_type IN ('Lock', 'Extension')")).scalar())


def test_overlapping_jobs_serialise_and_both_succeed(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        build_world(session, COMMUNITY, estates=2, buildings=3)
        build_world(session, COMMUNITY_2, estates=1, buildings=2)
    results: dict[str, AssignResult] = {}
    errors: list[BaseException] = []

    def second_job() -> None:
        try:
            with session_scope(fresh_engine) as session:
                results["county"] = assign_codes(session, "330402", actor="second")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with session_scope(fresh_engine) as session:
        results["community"] = assign_codes(session, COMMUNITY, actor="first")
        thread = threading.Thread(target=second_job)
        thread.start()
        # No deadline (timings are for bench/): the second job either waits, or ends, which
        # it must not while the first job's transaction is open.
        while not _another_job_waits(fresh_engine):
            assert thread.is_alive(), f"second job ended before the first committed: {errors}"
            time.sleep(0.05)
        assert "county" not in results
        assert not errors
    # first job committed: the second proceeds and codes only what is left
    thread.join(60)
    assert not errors, errors
    first, second = results["community"], results["county"]
    with fresh_engine.connect() as conn:
        total = sum(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0
                    for t in ("estate", "building", "house"))
    assert first.issued > 0
    assert second.issued > 0
    assert first.issued + second.issued == total
    _assert_consistent(fresh_engine)


CHILD = textwrap.dedent("""
    import time
    import importlib
    module = importlib.import_module("cimhouse.coding.assign_codes")
    from cimhouse.coding.jobs import run_inline_assignment
    from cimhouse.db import make_engine
    from cimhouse.settings import Settings

    module.HOUSE_BATCH = 7  # many small batches: many points to be killed at
    engine = make_engine(Settings(), url={url!r})

    def progress(stage, done, total):
        print(stage, done, total, flush=True)
        time.sleep(0.2)

    run_inline_assignment(engine, "330402", actor="doomed", on_progress=progress)
    print("finished", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_lines", [1, 2, 5])
def test_sigkill_mid_run_then_rerun_completes(fresh_db: str, fresh_engine: Engine,
                                              kill_after_lines: int) -> None:
    with session_scope(fresh_engine) as session:
        build_world(session, COMMUNITY, estates=2, buildings=2, floors=3, per_floor=2)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(url=fresh_db)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert child.stdout is not None
    lines = [child.stdout.readline() for _ in range(kill_after_lines)]
    assert all(line and not line.startswith("finished") for line in lines), lines
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    with fresh_engine.connect() as conn:
        # the killed transaction left nothing: no code, no registry row, no counter
        assert conn.execute(text("SELECT count(*) FROM code_registry")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM house WHERE code IS NOT NULL")
                            ).scalar() == 0
    rerun = run_inline_assignment(fresh_engine, "330402", actor="rescuer")
    assert rerun.houses > 0
    _assert_consistent(fresh_engine)
    with session_scope(fresh_engine) as session:
        doomed = session.query(Job).filter(Job.requested_by == "doomed").one()
        assert doomed.status == "failed"
        assert "interrupted" in (doomed.error or "")
        assert session.get(Job, rerun.job_id).status == "succeeded"  # type: ignore[union-attr]
