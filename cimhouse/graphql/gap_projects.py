"""The gap-filling (补短板) library in GraphQL: projects with their before/after score, and
the service index history of communities. Both need ``reader`` and read inside your scope (an
optional ``scope`` argument narrows it; one outside answers NOT_FOUND). Not compiled: they take
the resolver path (a counted fallback).

Example query::

    { gapProjects(scope: "330402") { name category status indexBefore indexAfter }
      serviceIndexHistory(scope: "330402007024") { regionCode surveyDate index } }
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.services import effective_scope
from cimhouse.programme.list_gap_projects import GapProjectRow, list_gap_projects
from cimhouse.programme.record_survey import index_history
from cimhouse.schema.vocab import GapProjectStatus, Role

strawberry.enum(GapProjectStatus, name="GapProjectStatus")


@strawberry.type(description="A gap-filling project and the community's score around it.")
class GapProject:
    id: str = strawberry.field(description="COUNTY:ID")
    name: str
    category: str
    region_code: str
    estate_code: str | None
    planned_capacity: int | None
    status: GapProjectStatus
    affected: int | None = strawberry.field(description="People affected by the gap.")
    distance_m: float | None
    planned_on: dt.date
    under_construction_on: dt.date | None
    in_use_on: dt.date | None
    facility_name: str | None
    index_before: float | None = strawberry.field(
        description="Service index on the last survey on or before plannedOn.")
    index_after: float | None = strawberry.field(
        description="Service index on the last survey on or after inUseOn.")


@strawberry.type(description="The service index of a community on a survey date.")
class ServiceIndexSurvey:
    region_code: str
    survey_date: dt.date
    index: float
    population: int
    estates: int


def resolve_gap_projects(info: Info[RequestContext, None], scope: str | None = None,
                         status: GapProjectStatus | None = None) -> list[GapProject]:
    ctx = info.context
    ctx.require(Role.READER)
    rows = list_gap_projects(ctx.session, effective_scope(ctx, scope),
                             status=status.value if status else None)
    return [to_type(r) for r in rows]


def to_type(r: GapProjectRow) -> GapProject:
    return GapProject(
        id=f"{r.county}:{r.id}", name=r.name, category=r.category, region_code=r.region_code,
        estate_code=r.estate_code, planned_capacity=r.planned_capacity,
        status=GapProjectStatus(r.status), affected=r.affected,
        distance_m=None if r.distance_m is None else round(r.distance_m, 1),
        planned_on=r.planned_on, under_construction_on=r.under_construction_on,
        in_use_on=r.in_use_on, facility_name=r.facility_name, index_before=r.index_before,
        index_after=r.index_after)


def resolve_history(info: Info[RequestContext, None],
                    scope: str | None = None) -> list[ServiceIndexSurvey]:
    ctx = info.context
    ctx.require(Role.READER)
    return [ServiceIndexSurvey(region_code=h.region_code, survey_date=h.survey_date,
                               index=h.index, population=h.population, estates=h.estates)
            for h in index_history(ctx.session, effective_scope(ctx, scope))]


@strawberry.type
class GapProjectQuery:
    gap_projects: list[GapProject] = strawberry.field(
        resolver=resolve_gap_projects,
        description="Gap-filling projects in your scope with the index before/after (reader).")
    service_index_history: list[ServiceIndexSurvey] = strawberry.field(
        resolver=resolve_history,
        description="Recorded service-index surveys per community and date (reader).")
