"""Mutations of the gap-filling (补短板) library: plan a project from a gap, move it on.

Both need the ``programme`` role (``admin`` holds it too) and work inside your scope only: a
community, estate, project or facility outside it answers ``NotFoundError`` worded exactly like
one that does not exist. Expected failures are result types (:mod:`cimhouse.graphql.results`);
history goes to ``change_log`` (object_kind ``gap_project``). The rules are those of
:func:`~cimhouse.programme.create_gap_project.create_gap_project` and
:func:`~cimhouse.programme.advance_gap_project.advance_gap_project`.

Example::

    mutation { createGapProject(input: {estateCode: "3304020070240010000000001",
                                        category: "elderly_care", plannedCapacity: 40}) {
        __typename ... on GapProjectPayload { project { id status indexBefore } }
        ... on UserError { code message } } }
    mutation { advanceGapProject(id: "330402:7", status: IN_USE, facilityId: "RmFj...",
                                 date: "2027-03-01") {
        ... on GapProjectPayload { project { status facilityName indexAfter } } } }
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from cimhouse.errors import InvalidInput, NotFound
from cimhouse.graphql.common import parse_county_key, parse_global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.gap_projects import GapProject, to_type
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.i18n import _
from cimhouse.programme.advance_gap_project import advance_gap_project
from cimhouse.programme.create_gap_project import create_gap_project
from cimhouse.programme.list_gap_projects import list_gap_projects
from cimhouse.schema.vocab import GapProjectStatus, Role


@strawberry.input(description="A gap to fill: give exactly one of estateCode and communityCode.")
class GapProjectInput:
    category: str = strawberry.field(description="Facility category, e.g. elderly_care.")
    estate_code: str | None = None
    community_code: str | None = None
    planned_capacity: int | None = None
    name: str | None = strawberry.field(default=None, description="Default: derived.")
    planned_on: dt.date | None = strawberry.field(
        default=None, description="The day the gap is found and the project planned "
                                  "(default today).")


@strawberry.type
class GapProjectPayload:
    project: GapProject


CreateGapProjectResult = Annotated[
    GapProjectPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CreateGapProjectResult")]
AdvanceGapProjectResult = Annotated[
    GapProjectPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("AdvanceGapProjectResult")]


def _payload(ctx: RequestContext, county: str, project_id: int) -> GapProjectPayload:
    """The project as ``gapProjects`` shows it, read through the principal's scope."""
    [row] = list_gap_projects(ctx.session, ctx.scope, only=(county, project_id))
    return GapProjectPayload(project=to_type(row))


def resolve_create(info: Info[RequestContext, None],
                   input: GapProjectInput) -> CreateGapProjectResult:
    ctx = info.context

    def action() -> GapProjectPayload:
        ctx.require(Role.PROGRAMME)
        project = create_gap_project(
            ctx.session, ctx.scope, category=input.category.strip(),
            on=input.planned_on or dt.date.today(), actor=ctx.actor,
            community_code=(input.community_code or "").strip() or None,
            estate_code=(input.estate_code or "").strip().upper() or None,
            planned_capacity=input.planned_capacity,
            name=(input.name or "").strip() or None, metric_srid=ctx.settings.metric_srid)
        return _payload(ctx, project.county, project.id)

    return run_mutation(ctx.session, action)


def resolve_advance(info: Info[RequestContext, None], id: str, status: GapProjectStatus,
                    facility_id: strawberry.ID | None = None,
                    date: dt.date | None = None) -> AdvanceGapProjectResult:
    ctx = info.context

    def action() -> GapProjectPayload:
        ctx.require(Role.PROGRAMME)
        try:
            county, project_id = parse_county_key(id.strip())
        except InvalidInput:
            raise InvalidInput(_("a gap project id is COUNTY:ID, e.g. 330402:7")) from None
        facility: int | None = None
        if facility_id is not None:
            kind, key = parse_global_id(str(facility_id))
            if kind != "Facility":
                raise InvalidInput(_("facilityId must be a Facility id"))
            facility_county, facility = parse_county_key(key)
            if facility_county != county:  # a facility of another county is never in reach
                raise NotFound(_("facility not found (unknown, or outside your scope)"))
        project = advance_gap_project(
            ctx.session, ctx.scope, county, project_id, status.value,
            date or dt.date.today(), actor=ctx.actor, facility_id=facility,
            metric_srid=ctx.settings.metric_srid)
        return _payload(ctx, project.county, project.id)

    return run_mutation(ctx.session, action)


@strawberry.type
class GapProjectMutation:
    create_gap_project: CreateGapProjectResult = strawberry.mutation(
        resolver=resolve_create,
        description="Plan a gap-filling project for a gap that exists on plannedOn (programme "
                    "role; the estate or community inside your scope); scores the community.")
    advance_gap_project: AdvanceGapProjectResult = strawberry.mutation(
        resolver=resolve_advance,
        description="Move a gap project (id COUNTY:ID) to UNDER_CONSTRUCTION or IN_USE (IN_USE "
                    "needs facilityId, the facility built; scores the community again).")
