"""Mutations of the future-community programme: create or update a project, date the next
step of its lifecycle, date the next state of one of its scenarios.

All need the ``programme`` role (``admin`` holds it too) and every community the project
covers inside your scope (a project outside it answers ``NotFoundError`` worded like one that
does not exist). Expected failures are result types (:mod:`cimhouse.graphql.results`); the
history goes to ``change_log`` (object_kind ``future_project``). The rules are those of
:mod:`cimhouse.programme.upsert_project`, :mod:`~cimhouse.programme.advance_project` and
:mod:`~cimhouse.programme.advance_scenario`.

Example::

    mutation { advanceProjectScenario(id: "RnV0dXJlUHJvamVjdDox", scenario: HEALTH,
                                      state: DELIVERED, on: "2024-03-01") {
        __typename ... on FutureProjectPayload { project { scenarios { scenario state since } } }
        ... on UserError { code message } } }
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import parse_global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.programme import FutureProjectType, to_types
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.i18n import _
from cimhouse.programme.advance_project import advance_project
from cimhouse.programme.advance_scenario import advance_scenario
from cimhouse.programme.project_scenarios import Scenarios
from cimhouse.programme.upsert_project import ProjectData, upsert_project
from cimhouse.schema.vocab import (
    ProjectKind,
    ProjectLevel,
    ProjectStatus,
    Role,
    Scenario,
    ScenarioState,
)


@strawberry.input(description="A state a scenario reached and when; give one per state "
                              "reached (a lone state may go without its date).")
class ScenarioInput:
    scenario: Scenario
    state: ScenarioState
    on: dt.date | None = None


@strawberry.input(description="A project; keyed by externalId, else by leadStreet + name.")
class FutureProjectInput:
    name: str
    level: ProjectLevel
    kind: ProjectKind
    lead_street: str
    communities: list[str] = strawberry.field(description="Community codes (12 digits).")
    dates: list[StatusDateInput]
    external_id: str | None = None
    themes: list[str] | None = None
    scenarios: list[ScenarioInput] | None = None
    year: int | None = None
    estate_codes: list[str] | None = None
    investment_10k: float | None = strawberry.field(default=None, name="investment10k")
    area_m2: float | None = None
    households: int | None = None


@strawberry.input
class StatusDateInput:
    status: ProjectStatus
    on: dt.date


@strawberry.type
class FutureProjectPayload:
    project: FutureProjectType
    created: bool
    changed: bool


UpsertProjectResult = Annotated[
    FutureProjectPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpsertFutureProjectResult")]
AdvanceScenarioResult = Annotated[
    FutureProjectPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("AdvanceProjectScenarioResult")]
AdvanceProjectResult = Annotated[
    FutureProjectPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("AdvanceFutureProjectResult")]


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _histories(entries: list[ScenarioInput]) -> Scenarios:
    out: Scenarios = {}
    for entry in entries:
        history = out.setdefault(entry.scenario.value, {})
        if entry.state.value in history:
            raise InvalidInput(_("scenario {scenario}: the state {state} is given twice",
                                 scenario=entry.scenario.value, state=entry.state.value))
        history[entry.state.value] = entry.on
    return out


def resolve_upsert(info: Info[RequestContext, None],
                   input: FutureProjectInput) -> UpsertProjectResult:
    ctx = info.context

    def action() -> FutureProjectPayload:
        ctx.require(Role.PROGRAMME)
        data = ProjectData(
            name=input.name, level=input.level.value, kind=input.kind.value,
            lead_street=input.lead_street.strip(),
            communities=[c.strip() for c in input.communities],
            dates={d.status.value: d.on for d in input.dates},
            external_id=(input.external_id or "").strip() or None,
            themes=input.themes or [],
            scenarios=_histories(input.scenarios or []),
            year=input.year, estates=[c.strip().upper() for c in input.estate_codes or []],
            investment_10k=_decimal(input.investment_10k), area_m2=_decimal(input.area_m2),
            households=input.households)
        outcome = upsert_project(ctx.session, data, actor=ctx.actor, scope=ctx.scope,
                                 source="graphql")
        return FutureProjectPayload(project=to_types(ctx, [outcome.project])[0],
                                    created=outcome.created, changed=outcome.changed)

    return run_mutation(ctx.session, action)


def resolve_advance(info: Info[RequestContext, None], id: strawberry.ID,
                    status: ProjectStatus, on: dt.date) -> AdvanceProjectResult:
    ctx = info.context

    def action() -> FutureProjectPayload:
        ctx.require(Role.PROGRAMME)
        project = advance_project(ctx.session, _project_id(id), status.value, on,
                                  actor=ctx.actor, scope=ctx.scope)
        return FutureProjectPayload(project=to_types(ctx, [project])[0], created=False,
                                    changed=True)

    return run_mutation(ctx.session, action)


def _project_id(id: strawberry.ID) -> int:
    kind, key = parse_global_id(str(id))
    if kind != "FutureProject" or not key.isdigit():
        raise InvalidInput(_("id must be a FutureProject id"))
    return int(key)


def resolve_advance_scenario(info: Info[RequestContext, None], id: strawberry.ID,
                             scenario: Scenario, state: ScenarioState,
                             on: dt.date) -> AdvanceScenarioResult:
    ctx = info.context

    def action() -> FutureProjectPayload:
        ctx.require(Role.PROGRAMME)
        project = advance_scenario(ctx.session, _project_id(id), scenario.value, state.value,
                                   on, actor=ctx.actor, scope=ctx.scope)
        return FutureProjectPayload(project=to_types(ctx, [project])[0], created=False,
                                    changed=True)

    return run_mutation(ctx.session, action)


@strawberry.type
class ProgrammeMutation:
    upsert_future_project: UpsertProjectResult = strawberry.mutation(
        resolver=resolve_upsert,
        description="Create or update a project (programme role; its communities inside your "
                    "scope); history in change_log.")
    advance_future_project: AdvanceProjectResult = strawberry.mutation(
        resolver=resolve_advance,
        description="Date the next lifecycle step of a project (programme role).")
    advance_project_scenario: AdvanceScenarioResult = strawberry.mutation(
        resolver=resolve_advance_scenario,
        description="Date the next state of one scenario of a project (programme role).")
