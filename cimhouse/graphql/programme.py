"""The future-community programme in GraphQL: projects, progress, and their mutations.

``futureProjects`` lists the projects visible in your scope (a project is visible when your
scope contains one of its communities, or for an estate scope one of its estates); of each
only the communities and estates inside your scope are listed, and its boundary only when
every community it covers lies inside your scope. Each scenario carries its dated history.
``programmeProgress`` gives the policy's figures for a region, counted inside your scope only
(a region outside it reports nothing). Both need ``reader``; the mutations are in
:mod:`cimhouse.graphql.programme_mutations`. Definitions: docs/programme.md. Neither query
is compiled: they take the resolver path (counted as a fallback at ``/graphql/stats``).

Example query::

    { programmeProgress(regionCode: "3304", asOf: "2023-12-31") {
        targets { key target actual distance }
        counties { name streetsWithoutProvincial figures { provincialCreation coverage } } } }
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import and_, false, func, select
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import Crs, global_id, page_size, to_geojson
from cimhouse.graphql.context import RequestContext
from cimhouse.i18n import _
from cimhouse.programme.progress import Figures, compute_progress
from cimhouse.programme.project_scenarios import STATES, load_scenarios, state_of
from cimhouse.programme.project_scope import boundary_visible, project_visible, region_in_scope
from cimhouse.schema import Estate, FutureProject, FutureProjectEstate, FutureProjectRegion, Region
from cimhouse.schema.programme import STATUS_DATE_COLUMNS
from cimhouse.schema.vocab import (
    ProjectKind,
    ProjectLevel,
    ProjectStatus,
    Role,
    Scenario,
    ScenarioState,
)
from cimhouse.scope import prefix_range, scope_filter

strawberry.enum(ProjectLevel, name="ProjectLevel", description="省级 or 市级.")
strawberry.enum(ProjectKind, name="ProjectKind", description="新建类, 旧改类, 普惠型 ...")
strawberry.enum(ProjectStatus, name="ProjectStatus",
                description="Lifecycle: reserve -> declared -> listed -> under_construction -> "
                            "acceptance_applied -> accepted.")
strawberry.enum(Scenario, name="Scenario", description="The nine scenarios of the 139 frame.")
strawberry.enum(ScenarioState, name="ScenarioState")


@strawberry.type(description="The date of each lifecycle step (null: not reached).")
class ProjectDates:
    reserve: dt.date | None
    declared: dt.date | None
    listed: dt.date | None
    under_construction: dt.date | None
    acceptance_applied: dt.date | None
    accepted: dt.date | None


@strawberry.type(description="A state a scenario reached, and when (null: not known).")
class ScenarioStep:
    state: ScenarioState
    on: dt.date | None


@strawberry.type(description="A scenario of the 139 frame: its state now and its history.")
class ScenarioEntry:
    scenario: Scenario
    state: ScenarioState
    since: dt.date | None = strawberry.field(description="When the state was reached.")
    history: list[ScenarioStep] = strawberry.field(description="Every state reached, in order.")


@strawberry.type(description="A community covered by a project (inside your scope).")
class ProjectCommunity:
    region_code: str
    name: str


@strawberry.type(name="FutureProject", description="A future-community (未来社区) project.")
class FutureProjectType:
    id: strawberry.ID
    external_id: str | None
    name: str
    level: ProjectLevel
    kind: ProjectKind
    themes: list[str]
    status: ProjectStatus
    year: int | None
    lead_street: str
    investment_10k: float | None = strawberry.field(name="investment10k",
                                                    description="万元 (10,000 yuan).")
    area_m2: float | None
    households: int | None
    dates: ProjectDates
    scenarios: list[ScenarioEntry]
    communities: list[ProjectCommunity] = strawberry.field(
        description="The covered communities inside your scope.")
    estate_codes: list[str] = strawberry.field(
        description="Codes of the covered estates inside your scope.")
    boundary: strawberry.Private[Any]

    @strawberry.field(description="The boundary as GeoJSON in the requested CRS; null when the "
                                  "project has none or covers a community outside your scope.")
    def geometry(self, crs: Crs = Crs.CGCS2000) -> JSON | None:
        return to_geojson(self.boundary, crs)


@strawberry.type
class FutureProjectList:
    total_count: int
    items: list[FutureProjectType]


@strawberry.type
class StatusCount:
    status: ProjectStatus
    count: int


@strawberry.type
class ScenarioCount:
    scenario: Scenario
    delivered: int


@strawberry.type(description="The policy's figures for one area (see docs/programme.md).")
class ProgrammeFigures:
    communities: int
    urban_communities: int
    urban_covered: int
    coverage: float | None = strawberry.field(
        description="urbanCovered / urbanCommunities (residents' committees count as urban).")
    provincial_declared: int
    provincial_creation: int
    provincial_built: int
    municipal_creation: int
    municipal_named: int
    by_status: list[StatusCount]
    scenarios_delivered: list[ScenarioCount]


@strawberry.type
class StreetProgress:
    region_code: str
    name: str
    without_provincial: bool
    figures: ProgrammeFigures


@strawberry.type
class CountyProgress:
    region_code: str
    name: str
    figures: ProgrammeFigures
    streets_without_provincial: list[str] = strawberry.field(
        description="Codes of streets without a provincial project (declared or further).")
    streets: list[StreetProgress] = strawberry.field(
        description="Streets without a provincial project first.")


@strawberry.type
class TargetDistance:
    key: str
    target: float
    actual: float
    distance: float = strawberry.field(description="How far below the target; 0 when met.")
    met: bool


@strawberry.type
class ProgrammeProgress:
    region_code: str
    as_of: dt.date
    target_year: int
    total: ProgrammeFigures
    counties: list[CountyProgress]
    targets: list[TargetDistance]


def _figures(f: Figures) -> ProgrammeFigures:
    return ProgrammeFigures(
        communities=f.communities, urban_communities=f.urban_communities,
        urban_covered=f.urban_covered, coverage=f.coverage,
        provincial_declared=f.provincial_declared, provincial_creation=f.provincial_creation,
        provincial_built=f.provincial_built, municipal_creation=f.municipal_creation,
        municipal_named=f.municipal_named,
        by_status=[StatusCount(status=ProjectStatus(k), count=v) for k, v in f.by_status.items()],
        scenarios_delivered=[ScenarioCount(scenario=Scenario(k), delivered=v)
                             for k, v in f.scenarios_delivered.items()])


def resolve_progress(info: Info[RequestContext, None], region_code: str,
                     as_of: dt.date | None = None) -> ProgrammeProgress:
    ctx = info.context
    ctx.require(Role.READER)
    p = compute_progress(ctx.session, ctx.scope, region_code.strip(), as_of or dt.date.today())
    return ProgrammeProgress(
        region_code=p.region_code, as_of=p.as_of, target_year=p.target_year,
        total=_figures(p.total),
        counties=[CountyProgress(
            region_code=c.code, name=c.name, figures=_figures(c.figures),
            streets_without_provincial=[s.code for s in c.streets_without_provincial],
            streets=[StreetProgress(region_code=s.code, name=s.name,
                                    without_provincial=s.without_provincial,
                                    figures=_figures(s.figures)) for s in c.streets])
            for c in p.counties],
        targets=[TargetDistance(key=t.key, target=t.target, actual=t.actual,
                                distance=t.distance, met=t.met) for t in p.targets])


def to_types(ctx: RequestContext, projects: list[FutureProject]) -> list[FutureProjectType]:
    """GraphQL objects for ``projects``, their parts cut down to the scope (two queries)."""
    ids = [p.id for p in projects]
    communities: dict[int, list[ProjectCommunity]] = defaultdict(list)
    for pid, code, name in ctx.session.execute(
            select(FutureProjectRegion.project_id, Region.code, Region.name)
            .join(Region, Region.code == FutureProjectRegion.region_code)
            .where(FutureProjectRegion.project_id.in_(ids), region_in_scope(ctx.scope))
            .order_by(FutureProjectRegion.project_id, Region.code)):
        communities[pid].append(ProjectCommunity(region_code=code, name=name))
    estates: dict[int, list[str]] = defaultdict(list)
    for pid, estate_code in ctx.session.execute(
            select(FutureProjectEstate.project_id, Estate.code)
            .join(Estate, and_(Estate.county == FutureProjectEstate.county,
                               Estate.id == FutureProjectEstate.estate_id))
            .where(FutureProjectEstate.project_id.in_(ids), scope_filter(Estate, ctx.scope),
                   Estate.code.is_not(None))
            .order_by(FutureProjectEstate.project_id, Estate.code)):
        estates[pid].append(str(estate_code))

    shown = set(ctx.session.scalars(select(FutureProject.id).where(
        FutureProject.id.in_(ids), FutureProject.boundary.is_not(None),
        boundary_visible(ctx.scope))))
    scenarios = load_scenarios(ctx.session, ids)

    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    def entry(scenario: str, history: dict[str, dt.date | None]) -> ScenarioEntry:
        state = state_of(scenario, history)
        return ScenarioEntry(scenario=Scenario(scenario), state=ScenarioState(state),
                             since=history[state],
                             history=[ScenarioStep(state=ScenarioState(s), on=history[s])
                                      for s in STATES if s in history])

    return [FutureProjectType(
        id=global_id("FutureProject", str(p.id)), external_id=p.external_id, name=p.name,
        level=ProjectLevel(p.level), kind=ProjectKind(p.kind), themes=list(p.themes),
        status=ProjectStatus(p.status), year=p.year, lead_street=p.lead_street,
        investment_10k=number(p.investment_10k), area_m2=number(p.area_m2),
        households=p.households,
        dates=ProjectDates(**{step: getattr(p, column)
                              for step, column in STATUS_DATE_COLUMNS.items()}),
        scenarios=[entry(k, v) for k, v in sorted(scenarios[p.id].items())],
        communities=communities[p.id], estate_codes=estates[p.id],
        boundary=p.boundary if p.id in shown else None) for p in projects]


def resolve_projects(info: Info[RequestContext, None], level: ProjectLevel | None = None,
                     kind: ProjectKind | None = None, status: ProjectStatus | None = None,
                     year: int | None = None, region_code: str | None = None,
                     first: int = 50, offset: int = 0) -> FutureProjectList:
    ctx = info.context
    ctx.require(Role.READER)
    where = [project_visible(ctx.scope)]
    if level is not None:
        where.append(FutureProject.level == level.value)
    if kind is not None:
        where.append(FutureProject.kind == kind.value)
    if status is not None:
        where.append(FutureProject.status == status.value)
    if year is not None:
        # The column is a smallint and a stored year lies in 2000-2100 (upsert_project
        # checks it): any other year matches nothing, it is not an error of the database.
        where.append(FutureProject.year == year if 2000 <= year <= 2100 else false())
    if region_code is not None:
        code = region_code.strip()
        if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
            raise InvalidInput(_("regionCode must be a 2, 4, 6, 9 or 12-digit region code"))
        where.append(FutureProject.id.in_(select(FutureProjectRegion.project_id).where(
            prefix_range(FutureProjectRegion.region_code, code), region_in_scope(ctx.scope))))
    total = int(ctx.session.scalar(select(func.count()).select_from(FutureProject)
                                   .where(*where)) or 0)
    rows = ctx.session.scalars(select(FutureProject).where(*where).order_by(FutureProject.id)
                               .limit(page_size(first, ctx.settings)).offset(max(0, offset)))
    return FutureProjectList(total_count=total, items=to_types(ctx, list(rows)))


@strawberry.type
class ProgrammeQuery:
    future_projects: FutureProjectList = strawberry.field(
        resolver=resolve_projects,
        description="Future-community projects visible in your scope, by id (reader).")
    programme_progress: ProgrammeProgress = strawberry.field(
        resolver=resolve_progress,
        description="Programme figures per county and street against the policy's targets of "
                    "the year, counted inside your scope (reader).")
