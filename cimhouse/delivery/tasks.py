"""The queue tasks of deliveries, registered on the worker's procrastinate App.

:func:`cimhouse.coding.jobs.make_app` calls :func:`register_delivery_tasks`, so
``cimhouse worker`` runs deliveries next to code assignments (queues in
:data:`cimhouse.coding.jobs.WORKER_QUEUES`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import procrastinate
from sqlalchemy import Engine

from cimhouse.delivery.attempt_delivery import attempt_delivery
from cimhouse.delivery.enqueue_delivery import QUEUE, TASK_NAME
from cimhouse.settings import Settings


def register_delivery_tasks(app: procrastinate.App, engine: Callable[[], Engine],
                            settings: Settings) -> None:
    """Register the attempt task (one POST per queue entry; retries are new entries)."""

    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=True)
    def run_attempt(context: procrastinate.JobContext, job_id: int) -> dict[str, Any]:
        return attempt_delivery(engine(), settings, job_id,
                                queue_id=context.job.id if context.job else None)
