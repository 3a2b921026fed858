"""Move a scenario of a future-community project to a later state, with the state's date.

The scenario's history gains ``state`` reached on ``on``; a state may be skipped (planned ->
delivered), never one that goes back, and ``on`` must not lie before the date of the state
reached before (use :func:`~cimhouse.programme.upsert_project.upsert_project` to correct a
history). The project's change goes to ``change_log`` with the histories before and after.

Example::

    project = advance_scenario(session, 17, "health", "delivered", dt.date(2024, 3, 1),
                               actor="api:programme-office", scope=parse_scope("3304"))
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from cimhouse.errors import Conflict
from cimhouse.i18n import _
from cimhouse.programme.project_scenarios import (
    STATES,
    load_scenarios,
    replace_scenarios,
    state_of,
)
from cimhouse.programme.project_scope import project_for_update
from cimhouse.programme.upsert_project import project_snapshot, record_project_change
from cimhouse.schema import FutureProject
from cimhouse.scope import Scope


def advance_scenario(session: Session, project_id: int, scenario: str, state: str,
                     on: dt.date, *, actor: str, scope: Scope | None = None) -> FutureProject:
    """Date the ``state`` of ``scenario``; the project must be visible in ``scope`` and every
    community it covers inside it."""
    state_of(scenario, {state: on})  # the vocabulary, before anything is read
    project = project_for_update(session, project_id, scope)
    scenarios = load_scenarios(session, [project.id])[project.id]
    history = dict(scenarios.get(scenario, {}))
    if history:
        current = state_of(scenario, history)
        if STATES.index(state) <= STATES.index(current):
            raise Conflict(_("scenario {scenario} is already {state}; a step back is a "
                             "correction (upsert the project)", scenario=scenario,
                             state=current))
        if history[current] is None:  # an undated state: its history starts now
            history = {}
    previous = project_snapshot(session, project)
    history[state] = on
    state_of(scenario, history)  # raises when ``on`` lies before the last state's date
    replace_scenarios(session, project.id, scenarios | {scenario: history})
    session.flush()
    record_project_change(session, project, "update", previous,
                          project_snapshot(session, project), actor, "advance_scenario")
    session.flush()
    return project
