"""Retention of readings: monthly partitions made ahead, partitions past retention dropped.

``device_reading`` has one partition per month (``device_reading_YYYYMM``, UTC months). This
makes the partitions of the current month and ``months_ahead`` months after it (so the
ingester never has to at midnight of the 1st), and drops whole partitions whose month ended
more than ``retention_months`` months before the current month began: with 13, on any day
of December 2026 the partitions from November 2025 on stay. Dropping a partition is instant
and leaves no dead rows (a DELETE of a month would not). One maintainer at a time (an
advisory lock); run by ``cimhouse safety maintain`` and by the worker every night
(:func:`register_tasks`, procrastinate's periodic tasks).

Example::

    maintain_readings(session, today=dt.date(2026, 12, 2), retention_months=13)
    # MaintainResult(created=['device_reading_202701', ...], dropped=['device_reading_202510'])
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import procrastinate
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.safety.ingest_readings import ensure_partitions
from cimhouse.settings import Settings

log = logging.getLogger(__name__)
QUEUE = "safety"
TASK_NAME = "cimhouse.maintain_readings"
CRON = "17 3 * * *"  # every night at 03:17 (the worker's clock)
LOCK = 0x43495254  # "CIRT"


@dataclass
class MaintainResult:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    kept: int = 0


def add_months(month: dt.date, n: int) -> dt.date:
    """>>> add_months(dt.date(2026, 12, 1), 2), add_months(dt.date(2026, 1, 1), -13)
    (datetime.date(2027, 2, 1), datetime.date(2024, 12, 1))
    """
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def partitions(session: Session) -> dict[str, dt.date]:
    """The monthly partitions of ``device_reading``: name -> first day of its month."""
    names = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'device_reading'::regclass")).scalars().all()
    found = {}
    for name in names:
        suffix = name.rsplit("_", 1)[-1]
        if len(suffix) == 6 and suffix.isdigit():
            found[name] = dt.date(int(suffix[:4]), int(suffix[4:]), 1)
    return found


def maintain_readings(session: Session, *, today: dt.date, retention_months: int,
                      months_ahead: int = 2) -> MaintainResult:
    """Create ahead, drop past retention; flushes, no commit."""
    if retention_months < 1:
        raise InvalidInput(_("retention must be at least one month"))
    if not 0 <= months_ahead <= 24:
        raise InvalidInput(_("months ahead: 0 to 24"))
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
    current = today.replace(day=1)
    before = set(partitions(session))
    ensure_partitions(session, {add_months(current, n) for n in range(months_ahead + 1)})
    result = MaintainResult()
    existing = partitions(session)
    result.created = sorted(set(existing) - before)
    cutoff = add_months(current, -retention_months)
    for name, month in sorted(existing.items(), key=lambda item: item[1]):
        if month < cutoff:
            # the name comes from the catalog and matches device_reading_YYYYMM
            session.execute(text(f'DROP TABLE "{name}"'))
            result.dropped.append(name)
    result.kept = len(existing) - len(result.dropped)
    log.info("readings: partitions created %s, dropped %s", result.created, result.dropped)
    return result


def register_tasks(app: procrastinate.App, engine: Callable[[], Engine],
                   settings: Settings) -> None:
    """Add the nightly maintenance to a procrastinate App (``cimhouse worker`` runs it)."""
    from cimhouse.db import session_scope

    @app.periodic(cron=CRON, periodic_id="maintain-readings")
    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=False)
    def maintain_task(timestamp: int) -> dict[str, Any]:
        today = dt.datetime.fromtimestamp(timestamp, dt.UTC).date()
        with session_scope(engine()) as session:
            result = maintain_readings(session, today=today,
                                       retention_months=settings.reading_retention_months)
        return {"created": result.created, "dropped": result.dropped, "kept": result.kept}
