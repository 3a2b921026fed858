"""Community-services queries: coverage, gaps, elderly living alone, the service index.

Every query runs inside the principal's scope; an optional ``scope`` argument narrows it
(a code outside the principal's scope is refused). Coverage, gaps and the index need
``reader``; the elderly list needs ``person_reader`` and shows names in full (the one rule
for names, as in ``persons``), ID numbers and phones masked unless the caller is a
``pii_reader`` and asks for ``reveal: true`` (each person read in full writes an
``audit_log`` row). Facilities outside the caller's scope count for coverage and gaps but
are never named: only their category and distance are given. Definitions: docs/services.md.

Example query::

    { gaps(scope: "330402", categories: ["childcare", "elderly_care"], first: 10) {
        estates { estateName category affected distanceM }
        communities { regionCode category affectedUncovered } } }
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from cimhouse.graphql.common import page_size
from cimhouse.graphql.context import RequestContext
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope, with_county_keys
from cimhouse.services.coverage import compute_coverage
from cimhouse.services.elderly import list_elderly_living_alone
from cimhouse.services.gaps import find_gaps
from cimhouse.services.policy import ServicePolicy
from cimhouse.services.service_index import compute_service_index


@strawberry.input(description="Override the walking radius of one category.")
class RadiusInput:
    category: str
    metres: float


@strawberry.type(description="Nearest facility of one category for one estate.")
class ServiceCoverage:
    estate_code: str | None
    estate_name: str
    region_code: str
    category: str
    radius_m: float
    nearest_facility: str | None = strawberry.field(
        description="Name of the nearest facility in use; null when there is none of the "
                    "category or when it lies outside your scope (then only distanceM).")
    distance_m: float | None = strawberry.field(
        description="Straight-line metres in the Gauss-Kruger zone, to the nearest facility "
                    "wherever it lies.")
    covered: bool = strawberry.field(description="A facility lies within the radius "
                                                 "(inside or outside your scope).")
    within_radius: int = strawberry.field(
        description="Facilities of your scope within the radius.")


@strawberry.type(description="An estate lacking a category within its radius.")
class EstateServiceGap:
    estate_code: str | None
    estate_name: str
    region_code: str
    category: str
    radius_m: float
    nearest_facility: str | None = strawberry.field(
        description="Null when none exists or it lies outside your scope.")
    distance_m: float | None
    affected_group: str = strawberry.field(
        description="children_0_3, school_age_6_15, elderly_60 or everyone.")
    affected: int = strawberry.field(description="People of the group living there.")


@strawberry.type(description="A community with estates lacking a category.")
class CommunityServiceGap:
    region_code: str
    community_name: str
    category: str
    radius_m: float
    estates: int
    estates_uncovered: int
    affected_group: str
    affected_total: int
    affected_uncovered: int


@strawberry.type(description="Gaps ranked by people affected, most first.")
class ServiceGaps:
    estates: list[EstateServiceGap]
    communities: list[CommunityServiceGap]
    unlocated_estates: int = strawberry.field(
        description="Estates without boundary or footprints: not judged.")


@strawberry.type(description="One category's part of a community's service index.")
class ServiceIndexComponent:
    category: str
    weight: float
    radius_m: float
    affected_group: str
    affected: int
    covered: int
    estates: int
    estates_covered: int
    share: float = strawberry.field(description="covered / affected (0..1); the share of "
                                                "estates covered when nobody is affected.")
    contribution: float


@strawberry.type(description="Facility service index of a community: "
                             "100 * sum(weight * share) / sum(weight).")
class CommunityServiceIndex:
    region_code: str
    community_name: str
    estates: int
    population: int
    index: float
    components: list[ServiceIndexComponent]


@strawberry.type(description="A house whose only current resident is elderly.")
class ElderlyLivingAlone:
    house_code: str | None
    address: str | None
    estate_code: str | None
    estate_name: str | None
    region_code: str
    age: int
    gender: str | None
    name: str = strawberry.field(description="Full name, as in `persons { name }`.")
    id_number: str = strawberry.field(description="Masked unless revealed.")
    phone: str | None = strawberry.field(description="Masked unless revealed.")
    revealed: bool
    household_number: str | None = strawberry.field(
        description="户号 of the person's household, when it is registered in scope.")
    household_size: int | None = strawberry.field(description="Its current members.")
    registered_here: bool | None = strawberry.field(
        description="The household is registered at this house (false: 人户分离, "
                    "registered at another house of the scope).")


def effective_scope(ctx: RequestContext, scope: str | None) -> Scope:
    """The principal's scope, or a narrower one inside it."""
    if scope is None:
        return ctx.scope
    return with_county_keys(ctx.session, ctx.narrow_scope(scope))


def _policy(categories: list[str] | None, radii: list[RadiusInput] | None) -> ServicePolicy:
    policy = ServicePolicy.default().with_radii({r.category: r.metres for r in radii or []})
    return policy.only(categories) if categories else policy


def resolve_coverage(info: Info[RequestContext, None], scope: str | None = None,
                     categories: list[str] | None = None,
                     radii: list[RadiusInput] | None = None,
                     as_of: dt.date | None = None) -> list[ServiceCoverage]:
    ctx = info.context
    ctx.require(Role.READER)
    rows = compute_coverage(ctx.session, effective_scope(ctx, scope),
                            policy=_policy(categories, radii),
                            metric_srid=ctx.settings.metric_srid, as_of=as_of,
                            visible=ctx.scope)
    return [ServiceCoverage(
        estate_code=r.estate_code, estate_name=r.estate_name, region_code=r.region_code,
        category=r.category, radius_m=r.radius_m, nearest_facility=r.nearest_facility,
        distance_m=None if r.distance_m is None else round(r.distance_m, 1),
        covered=r.covered, within_radius=r.within_radius) for r in rows]


def resolve_gaps(info: Info[RequestContext, None], scope: str | None = None,
                 categories: list[str] | None = None, radii: list[RadiusInput] | None = None,
                 as_of: dt.date | None = None, first: int = 50) -> ServiceGaps:
    ctx = info.context
    ctx.require(Role.READER)
    result = find_gaps(ctx.session, effective_scope(ctx, scope),
                       policy=_policy(categories, radii),
                       metric_srid=ctx.settings.metric_srid, as_of=as_of,
                       limit=page_size(first, ctx.settings), visible=ctx.scope)
    return ServiceGaps(
        estates=[EstateServiceGap(
            estate_code=g.estate_code, estate_name=g.estate_name, region_code=g.region_code,
            category=g.category, radius_m=g.radius_m, nearest_facility=g.nearest_facility,
            distance_m=None if g.distance_m is None else round(g.distance_m, 1),
            affected_group=g.affected_group, affected=g.affected) for g in result.estates],
        communities=[CommunityServiceGap(**vars(g)) for g in result.communities],
        unlocated_estates=result.unlocated_estates)


def resolve_service_index(info: Info[RequestContext, None], scope: str | None = None,
                          categories: list[str] | None = None,
                          radii: list[RadiusInput] | None = None,
                          as_of: dt.date | None = None) -> list[CommunityServiceIndex]:
    ctx = info.context
    ctx.require(Role.READER)
    scores = compute_service_index(ctx.session, effective_scope(ctx, scope),
                                   policy=_policy(categories, radii),
                                   metric_srid=ctx.settings.metric_srid, as_of=as_of)
    return [CommunityServiceIndex(
        region_code=s.region_code, community_name=s.community_name, estates=s.estates,
        population=s.population, index=s.index,
        components=[ServiceIndexComponent(**vars(c), contribution=round(c.contribution, 4))
                    for c in s.components]) for s in scores]


def resolve_elderly(info: Info[RequestContext, None], scope: str | None = None,
                    min_age: int = 60, as_of: dt.date | None = None, first: int = 50,
                    offset: int = 0, reveal: bool = False) -> list[ElderlyLivingAlone]:
    ctx = info.context
    ctx.require(Role.PERSON_READER)
    if reveal:
        ctx.require(Role.PII_READER)
    people = list_elderly_living_alone(
        ctx.session, effective_scope(ctx, scope), min_age=min_age, as_of=as_of,
        limit=page_size(first, ctx.settings), offset=offset, reveal=reveal,
        vault=ctx.vault if reveal else None, actor=ctx.actor, full_names=True)
    return [ElderlyLivingAlone(**vars(p)) for p in people]


@strawberry.type
class ServicesQuery:
    coverage: list[ServiceCoverage] = strawberry.field(
        resolver=resolve_coverage,
        description="Per estate and category: nearest facility, distance, covered (reader).")
    gaps: ServiceGaps = strawberry.field(
        resolver=resolve_gaps,
        description="Estates and communities lacking a category within its radius, ranked "
                    "by people affected; `first` caps each list (reader).")
    service_index: list[CommunityServiceIndex] = strawberry.field(
        resolver=resolve_service_index,
        description="Facility service index per community, lowest first (reader).")
    elderly_living_alone: list[ElderlyLivingAlone] = strawberry.field(
        resolver=resolve_elderly,
        description="Houses whose only current resident is at least `minAge` (person_reader;"
                    " `reveal: true` needs pii_reader and is audited per person).")
