"""The nine "139" scenarios of a project with the date of every state (``future_project_scenario``).

A scenario's history maps each state it reached to the date it reached it:
``{"planned": date(2022, 3, 1), "delivered": date(2023, 6, 1)}``. States go ``planned`` ->
``in_progress`` -> ``delivered`` (one may be skipped) and their dates never go backwards; the
state on a date is the last one reached on or before it. A state may be given without a date
(files that only say 已建成): then it must be the scenario's only state, and it is taken as
known since ever (it counts on every date on which the project itself counts).

Example::

    >>> import datetime as dt
    >>> state_of("health", {"planned": dt.date(2022, 3, 1), "delivered": dt.date(2023, 6, 1)})
    'delivered'
    >>> state_on({"planned": dt.date(2022, 3, 1), "delivered": dt.date(2023, 6, 1)},
    ...          dt.date(2023, 1, 1))
    'planned'
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from itertools import pairwise

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema import FutureProjectScenario
from cimhouse.schema.vocab import Scenario, ScenarioState

STATES: tuple[str, ...] = tuple(s.value for s in ScenarioState)
#: state -> the date it was reached (None: known, not when)
History = dict[str, dt.date | None]
#: scenario -> its history
Scenarios = dict[str, History]


def state_of(scenario: str, history: History) -> str:
    """The last state reached; checks the vocabulary and the order of the dates."""
    if scenario not in {s.value for s in Scenario}:
        raise InvalidInput(_("unknown scenario {scenario!r}", scenario=scenario))
    for state in history:
        if state not in STATES:
            raise InvalidInput(_("unknown scenario state {state!r}", state=state))
    if not history:
        raise InvalidInput(_("scenario {scenario} has no state", scenario=scenario))
    reached = [(state, history[state]) for state in STATES if state in history]
    if len(reached) > 1 and any(day is None for _state, day in reached):
        raise InvalidInput(_("scenario {scenario}: every state needs its date when there are "
                             "several", scenario=scenario))
    for (state_a, day_a), (state_b, day_b) in pairwise(reached):
        if day_a is not None and day_b is not None and day_b < day_a:
            raise InvalidInput(_("scenario {scenario}: the {state_b} date is before the "
                                 "{state_a} date", scenario=scenario, state_b=state_b,
                                 state_a=state_a))
    return reached[-1][0]


def state_on(history: History, on: dt.date) -> str | None:
    """The state on ``on`` (None: no state reached yet)."""
    found = None
    for state in STATES:
        if state in history:
            since = history[state]
            if since is None or since <= on:
                found = state
    return found


def check_scenarios(scenarios: Scenarios) -> None:
    for scenario, history in scenarios.items():
        state_of(scenario, history)


def as_json(scenarios: Scenarios) -> dict[str, dict[str, str | None]]:
    """The histories as the change log keeps them (ISO dates, in scenario and state order)."""
    return {scenario: {state: None if history[state] is None else str(history[state])
                       for state in STATES if state in history}
            for scenario, history in sorted(scenarios.items())}


def load_scenarios(session: Session, project_ids: list[int]) -> dict[int, Scenarios]:
    """The stored histories of ``project_ids`` (one statement)."""
    found: dict[int, Scenarios] = defaultdict(dict)
    for row in session.execute(select(FutureProjectScenario).where(
            FutureProjectScenario.project_id.in_(project_ids))).scalars():
        found[row.project_id].setdefault(row.scenario, {})[row.state] = row.since
    return found


def replace_scenarios(session: Session, project_id: int, scenarios: Scenarios) -> None:
    """Store ``scenarios`` as the project's histories (the given ones replace the stored)."""
    session.execute(delete(FutureProjectScenario).where(
        FutureProjectScenario.project_id == project_id))
    session.add_all([FutureProjectScenario(project_id=project_id, scenario=scenario,
                                           state=state, since=since)
                     for scenario, history in sorted(scenarios.items())
                     for state, since in history.items()])
