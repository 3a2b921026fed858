"""The future-community programme in GraphQL: projects, progress, and their mutations.

``futureProjects`` lists the projects visible in your scope (a project is visible when your
scope contains one of its communities, or for an estate scope one of its estates); of each
only the communities and estates inside your scope are listed. ``programmeProgress`` gives the
policy's figures for a region, counted inside your scope only (a region outside it reports
nothing). Both need ``reader``; the mutations need ``programme`` (or ``admin``) and every
community they touch inside your scope. Definitions: docs/programme.md. Neither query is
compiled: they take the resolver path (counted as a fallback at ``/graphql/stats``).

Example query::

    { programmeProgress(regionCode: "3304", asOf: "2023-12-31") {
        targets { key target actual distance }
        counties { name streetsWithoutProvincial figures { provincialCreation coverage } } } }
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy import and_, false, func, select
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import global_id, page_size, parse_global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.i18n import _
from cimhouse.programme.advance_project import advance_project
from cimhouse.programme.progress import Figures, compute_progress
from cimhouse.programme.project_scope import project_visible, region_in_scope
from cimhouse.programme.upsert_project import ProjectData, upsert_project
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


@strawberry.type
class ScenarioEntry:
    scenario: Scenario
    state: ScenarioState


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

    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return [FutureProjectType(
        id=global_id("FutureProject", str(p.id)), external_id=p.external_id, name=p.name,
        level=ProjectLevel(p.level), kind=ProjectKind(p.kind), themes=list(p.themes),
        status=ProjectStatus(p.status), year=p.year, lead_street=p.lead_street,
        investment_10k=number(p.investment_10k), area_m2=number(p.area_m2),
        households=p.households,
        dates=ProjectDates(**{step: getattr(p, column)
                              for step, column in STATUS_DATE_COLUMNS.items()}),
        scenarios=[ScenarioEntry(scenario=Scenario(k), state=ScenarioState(v))
                   for k, v in sorted(p.scenarios.items())],
        communities=communities[p.id], estate_codes=estates[p.id]) for p in projects]


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


@strawberry.input
class ScenarioInput:
    scenario: Scenario
    state: ScenarioState


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
AdvanceProjectResult = Annotated[
    FutureProjectPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("AdvanceFutureProjectResult")]


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


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
            scenarios={s.scenario.value: s.state.value for s in input.scenarios or []},
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
        kind, key = parse_global_id(str(id))
        if kind != "FutureProject" or not key.isdigit():
            raise InvalidInput(_("id must be a FutureProject id"))
        project = advance_project(ctx.session, int(key), status.value, on, actor=ctx.actor,
                                  scope=ctx.scope)
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
