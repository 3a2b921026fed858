"""``cimhouse worker``: run queued jobs (code assignment, deliveries, safety notices and the
safety tick) from the procrastinate queues."""

from __future__ import annotations

import logging

import typer

from cimhouse.cli.common import engine, handle_errors, settings


@handle_errors
def worker(
    once: bool = typer.Option(False, "--once", help="Run what is queued, then exit."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=8,
                                    help="Jobs run at the same time."),
) -> None:
    """Run queued jobs (code assignment, deliveries) until stopped (Ctrl-C or SIGTERM stop it).

    Every night it also keeps the retention of device readings (partitions made ahead, old
    ones dropped).

    Example: cimhouse worker --once
    """
    from cimhouse.coding.jobs import WORKER_QUEUES, make_app, mark_interrupted_jobs
    from cimhouse.db import session_scope
    from cimhouse.delivery.attempt_delivery import recover_deliveries
    from cimhouse.safety.tasks import TICK_QUEUE

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with session_scope(engine()) as session:  # jobs of a worker that was killed
        mark_interrupted_jobs(session)
        recover_deliveries(session)  # attempts cut off mid-flight are queued again
    make_app(settings()).run_worker(queues=[*WORKER_QUEUES, TICK_QUEUE], wait=not once,
                                    concurrency=concurrency)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
