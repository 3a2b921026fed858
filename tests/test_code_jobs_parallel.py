"""Two counties' code-assignment jobs run at the same time, on PostgreSQL and on Citus.

On Citus ``job`` is a reference table, and Citus serialises the writes to a reference table
with a lock on its shard held to the end of the transaction (ExclusiveLock for an UPDATE,
RowExclusiveLock for an INSERT, on the coordinator and on the first worker). A job that
wrote its ``job`` row inside its long work transaction therefore blocked every other job's
progress and end, and two such jobs deadlocked (the distributed deadlock of issue #12).
Each job's work transaction must also touch only its own county's shards: a multi-shard
UPDATE takes a self-conflicting lock on every shard it visits.

Every test here holds both jobs *inside* their work transactions at the same point (a
barrier in the progress callback, reached only after both have written codes): if either
job waited for the other, the barrier would break instead.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.jobs import (
    enqueue_code_assignment,
    run_code_assignment,
    run_inline_assignment,
)
from cimhouse.db import session_scope
from cimhouse.schema import Job
from tests.helpers.coding_world import COMMUNITY, OTHER_COUNTY_COMMUNITY, build_world
from tests.helpers.database import someone_waits

COUNTIES = ("330402", "330411")
#: generous: a job that waits for the other never gets there, whatever the time given
BARRIER_WAIT_S = 120.0


@pytest.fixture
def two_counties(fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    with session_scope(fresh_engine) as session:
        build_world(session, COMMUNITY, estates=2, buildings=3, floors=4, per_floor=3)
        build_world(session, OTHER_COUNTY_COMMUNITY, estates=2, buildings=3, floors=4,
                    per_floor=3)
    # several house batches, so that each job writes progress while the other one's work
    # transaction is open
    monkeypatch.setattr(importlib.import_module("cimhouse.coding.assign_codes"),
                        "HOUSE_BATCH", 10)
    return fresh_engine


def _meet_inside(barrier: threading.Barrier) -> Callable[[], None]:
    """A callback that waits once for the other job, on its second call: by then its job
    has written estate and building codes in its work transaction (not committed)."""
    calls = [0]

    def meet() -> None:
        calls[0] += 1
        if calls[0] == 2:
            barrier.wait()

    return meet


def _run_both(jobs: dict[str, Callable[[], object]]) -> dict[str, object]:
    results: dict[str, object] = {}
    errors: dict[str, BaseException] = {}

    def run(county: str) -> None:
        try:
            results[county] = jobs[county]()
        except BaseException as exc:  # reported by the main thread
            errors[county] = exc

    threads = [threading.Thread(target=run, args=(county,)) for county in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def _assert_both_coded(engine: Engine) -> None:
    with engine.connect() as conn:
        uncoded = conn.execute(text(
            "SELECT county, count(*) FROM house WHERE code IS NULL GROUP BY county")).all()
        issued = set(conn.execute(text(
            "SELECT DISTINCT county FROM code_registry")).scalars())
        duplicates = conn.execute(text(
            "SELECT count(*) - count(DISTINCT code) FROM code_registry")).scalar()
    assert uncoded == []
    assert issued == set(COUNTIES)
    assert duplicates == 0


def test_two_counties_worker_jobs_run_in_parallel(two_counties: Engine) -> None:
    engine = two_counties
    with session_scope(engine) as session:
        ids = {county: enqueue_code_assignment(session, county, actor="tests").id
               for county in COUNTIES}
    barrier = threading.Barrier(2, timeout=BARRIER_WAIT_S)
    meets = {county: _meet_inside(barrier) for county in COUNTIES}

    def job(county: str) -> Callable[[], object]:
        def should_abort() -> bool:
            meets[county]()
            return False
        return lambda: run_code_assignment(engine, ids[county], should_abort=should_abort)

    results = _run_both({county: job(county) for county in COUNTIES})
    assert {county: r["status"] for county, r in results.items()} == {  # type: ignore[index]
        county: "succeeded" for county in COUNTIES}
    _assert_both_coded(engine)
    with session_scope(engine) as session:
        for county in COUNTIES:
            done = session.get(Job, ids[county])
            assert done is not None
            assert done.status == "succeeded", done.error
            assert done.counts["houses"] == 2 * 3 * 4 * 3 + 2


def test_two_counties_cli_jobs_run_in_parallel(two_counties: Engine) -> None:
    engine = two_counties
    barrier = threading.Barrier(2, timeout=BARRIER_WAIT_S)
    meets = {county: _meet_inside(barrier) for county in COUNTIES}

    def job(county: str) -> Callable[[], object]:
        return lambda: run_inline_assignment(
            engine, county, actor="tests", on_progress=lambda *_: meets[county]())

    results = _run_both({county: job(county) for county in COUNTIES})
    _assert_both_coded(engine)
    with session_scope(engine) as session:
        for result in results.values():
            done = session.get(Job, result.job_id)  # type: ignore[attr-defined]
            assert done is not None
            assert done.status == "succeeded", done.error


def test_two_counties_in_callers_transactions_run_in_parallel(two_counties: Engine) -> None:
    """``assign_codes`` without a job id records its job in the caller's transaction."""
    engine = two_counties
    barrier = threading.Barrier(2, timeout=BARRIER_WAIT_S)
    meets = {county: _meet_inside(barrier) for county in COUNTIES}

    def job(county: str) -> Callable[[], object]:
        def run() -> object:
            with session_scope(engine) as session:
                return assign_codes(session, county, actor="tests",
                                    on_progress=lambda *_: meets[county]())
        return run

    results = _run_both({county: job(county) for county in COUNTIES})
    _assert_both_coded(engine)
    with session_scope(engine) as session:
        for result in results.values():
            done = session.get(Job, result.job_id)  # type: ignore[attr-defined]
            assert done is not None
            assert done.status == "succeeded"
            assert done.counts["houses"] == 2 * 3 * 4 * 3 + 2


def test_enqueue_does_not_wait_for_another_open_enqueue(two_counties: Engine) -> None:
    """Two users queue jobs at the same time: neither waits for the other's commit (an
    INSERT then UPDATE of the ``job`` row locked its Citus shard exclusively)."""
    engine = two_counties
    done: list[int] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with session_scope(engine) as session:
                done.append(enqueue_code_assignment(session, COUNTIES[1], actor="bob").id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with session_scope(engine) as session:
        first = enqueue_code_assignment(session, COUNTIES[0], actor="alice").id
        thread = threading.Thread(target=second)
        thread.start()
        # no deadline: the second enqueue either ends, or shows up waiting for a lock
        while thread.is_alive():
            assert not someone_waits(engine), "the second enqueue waits for the first"
            thread.join(0.05)
        assert not errors, errors
    with session_scope(engine) as session:
        assert {job.scope_code for job in session.query(Job).filter(
            Job.id.in_([first, *done]))} == set(COUNTIES)
        assert all(job.queue_job_id is not None for job in session.query(Job))
