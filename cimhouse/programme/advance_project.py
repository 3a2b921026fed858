"""Move a future-community project to a later lifecycle step, with the step's date.

The step's date is set and the status follows (the last dated step); a step may be skipped,
but never one that goes back (use :func:`~cimhouse.programme.upsert_project.upsert_project`
to correct a wrong date). The change goes to ``change_log`` with the values before and after.

Example::

    project = advance_project(session, 17, "under_construction", dt.date(2023, 3, 1),
                              actor="api:programme-office", scope=parse_scope("3304"))
    project.status, project.under_construction_on   # ('under_construction', date(2023, 3, 1))
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, InvalidInput
from cimhouse.i18n import _
from cimhouse.programme.project_scope import project_for_update
from cimhouse.programme.upsert_project import (
    STEPS,
    project_snapshot,
    record_project_change,
    status_of,
)
from cimhouse.schema import FutureProject
from cimhouse.schema.programme import STATUS_DATE_COLUMNS
from cimhouse.scope import Scope


def advance_project(session: Session, project_id: int, status: str, on: dt.date, *,
                    actor: str, scope: Scope | None = None) -> FutureProject:
    """Set the date of step ``status`` to ``on``; the project must be visible in ``scope``
    and every community it covers must lie inside it."""
    if status not in STEPS:
        raise InvalidInput(_("unknown status {status!r}; one of {steps}", status=status,
                             steps=', '.join(STEPS)))
    project = project_for_update(session, project_id, scope)
    if STEPS.index(status) < STEPS.index(project.status):
        raise Conflict(_("the project is already {status}; a step back is a correction (upsert "
                         "the project)", status=project.status))
    previous = project_snapshot(session, project)
    setattr(project, STATUS_DATE_COLUMNS[status], on)
    dates = {step: getattr(project, column) for step, column in STATUS_DATE_COLUMNS.items()}
    project.status = status_of(dates)  # raises when ``on`` lies before an earlier step
    session.flush()
    record_project_change(session, project, "update", previous,
                          project_snapshot(session, project), actor, "advance_project")
    session.flush()
    return project
