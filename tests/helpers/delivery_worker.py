"""Run the real procrastinate worker until the given delivery jobs have finished.

Retries are queue entries scheduled in the future; ``run_worker(wait=False)`` takes only the
due ones, so the helper runs it again until every job has left ``queued`` (or a deadline).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

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
