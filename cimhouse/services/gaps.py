"""Gaps ("补短板"): estates and communities lacking a category within its walking radius.

An estate has a gap in a category when no facility of it in use lies within the radius
(see :mod:`cimhouse.services.coverage`). The people affected are the estate's residents of
the category's age group (:mod:`cimhouse.services.policy`): children 0-3 (under 3) for childcare,
people aged 60+ for elderly care, children 6-15 for education, everyone otherwise.
A community's gap in a category sums its uncovered estates; both lists are ranked by the
people affected, most first.

Example::

    result = find_gaps(session, parse_scope("330402"))
    top = result.estates[0]
    top.estate_name, top.category, top.affected, top.distance_m
    # ('梅湾小区', 'elderly_care', 412, 730.0)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.scope import Scope
from cimhouse.services.coverage import count_unlocated, coverage_sql
from cimhouse.services.policy import AGE_GROUPS, ServicePolicy
from cimhouse.services.sql import (
    base_params,
    estate_population_sql,
    hash_joins_for_wide_scope,
    tune_for_analysis,
)


@dataclass(frozen=True)
class EstateGap:
    estate_code: str | None
    estate_name: str
    region_code: str
    category: str
    radius_m: float
    nearest_facility: str | None
    distance_m: float | None  # None: no facility of the category anywhere
    affected_group: str
    affected: int


@dataclass(frozen=True)
class CommunityGap:
    region_code: str
    community_name: str
    category: str
    radius_m: float
    estates: int
    estates_uncovered: int
    affected_group: str
    affected_total: int
    affected_uncovered: int


@dataclass
class GapResult:
    estates: list[EstateGap] = field(default_factory=list)
    communities: list[CommunityGap] = field(default_factory=list)
    unlocated_estates: int = 0


@dataclass(frozen=True)
class CoverageRow:
    """One estate x category with its affected people (the input of gaps and the index)."""

    estate_code: str | None
    estate_name: str
    region_code: str
    category: str
    radius_m: float
    nearest_facility: str | None
    distance_m: float | None
    covered: bool
    affected_group: str
    affected: int
    population: int  # everyone living in the estate


def count_estate_population(session: Session, scope: Scope | None, *,
                            as_of: dt.date | None = None
                            ) -> dict[tuple[str, int], dict[str, int]]:
    """People per estate (county, id) and age-group key, as living on ``as_of``.

    Its own statement (not a CTE of the coverage query) so that wide scopes can run it
    with hash joins, see :func:`cimhouse.services.sql.hash_joins_for_wide_scope`.
    """
    tune_for_analysis(session)
    with hash_joins_for_wide_scope(session, scope):
        rows = session.execute(text(estate_population_sql(scope)),
                               base_params(4549, as_of)).mappings().all()
    return {(r["county"], int(r["estate_id"])): {g.key: int(r[g.key]) for g in AGE_GROUPS}
            for r in rows}


def load_category_coverage(session: Session, scope: Scope | None, *,
                           policy: ServicePolicy | None = None, metric_srid: int = 4549,
                           as_of: dt.date | None = None,
                           visible: Scope | None = None) -> list[CoverageRow]:
    """All estate x category rows of ``scope`` with the people each gap would affect.

    Facilities outside ``visible`` (default: ``scope``) count but are not named.
    """
    policy = policy or ServicePolicy.default()
    population = count_estate_population(session, scope, as_of=as_of)
    body, params = coverage_sql(scope, policy, visible=visible)
    params |= base_params(metric_srid, as_of)
    tune_for_analysis(session)
    nobody = {g.key: 0 for g in AGE_GROUPS}
    out: list[CoverageRow] = []
    for r in session.execute(text(body), params):
        people = population.get((r.county, int(r.estate_id)), nobody)
        group = policy.group(r.category).key
        distance = None if r.distance_m is None else float(r.distance_m)
        out.append(CoverageRow(
            estate_code=r.estate_code, estate_name=r.estate_name, region_code=r.region_code,
            category=r.category, radius_m=float(r.radius), nearest_facility=r.facility_name,
            distance_m=distance, covered=distance is not None and distance <= r.radius,
            affected_group=group, affected=people[group],
            population=people["everyone"]))
    return out


def community_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(text("SELECT code, name FROM region WHERE code = ANY(:codes)"),
                           {"codes": sorted(codes)})
    return {r.code: r.name for r in rows}


def find_gaps(session: Session, scope: Scope | None, *, policy: ServicePolicy | None = None,
              metric_srid: int = 4549, as_of: dt.date | None = None,
              limit: int | None = None,
              rows: list[CoverageRow] | None = None,
              visible: Scope | None = None) -> GapResult:
    """Estate and community gaps in ``scope``, each list ranked by people affected.

    ``limit`` caps each list (None: all). Estates with no location cannot be judged and are
    only counted (``unlocated_estates``). ``rows`` reuses an earlier
    :func:`load_category_coverage` of the same scope and policy. A nearest facility outside
    ``visible`` (default: ``scope``) is not named: only its distance is given.
    """
    if rows is None:
        rows = load_category_coverage(session, scope, policy=policy,
                                      metric_srid=metric_srid, as_of=as_of, visible=visible)
    result = GapResult(unlocated_estates=count_unlocated(session, scope,
                                                         metric_srid=metric_srid))
    uncovered = [r for r in rows if not r.covered]
    uncovered.sort(key=lambda r: (-r.affected, -(r.distance_m if r.distance_m is not None
                                                 else float("inf")),
                                  r.region_code, r.estate_code or "", r.category))
    result.estates = [EstateGap(
        estate_code=r.estate_code, estate_name=r.estate_name, region_code=r.region_code,
        category=r.category, radius_m=r.radius_m, nearest_facility=r.nearest_facility,
        distance_m=r.distance_m, affected_group=r.affected_group, affected=r.affected)
        for r in uncovered[:limit]]
    totals: dict[tuple[str, str], list[int]] = {}
    meta: dict[tuple[str, str], CoverageRow] = {}
    for r in rows:
        key = (r.region_code, r.category)
        acc = totals.setdefault(key, [0, 0, 0, 0])  # estates, uncovered, affected, unc. aff.
        acc[0] += 1
        acc[2] += r.affected
        if not r.covered:
            acc[1] += 1
            acc[3] += r.affected
        meta.setdefault(key, r)
    names = community_names(session, {code for code, _ in totals})
    communities = [CommunityGap(
        region_code=code, community_name=names.get(code, ""), category=category,
        radius_m=meta[(code, category)].radius_m, estates=acc[0], estates_uncovered=acc[1],
        affected_group=meta[(code, category)].affected_group, affected_total=acc[2],
        affected_uncovered=acc[3]) for (code, category), acc in totals.items() if acc[1]]
    communities.sort(key=lambda g: (-g.affected_uncovered, -g.estates_uncovered,
                                    g.region_code, g.category))
    result.communities = communities[:limit]
    return result


__all__ = ["CommunityGap", "CoverageRow", "EstateGap", "GapResult", "find_gaps",
           "load_category_coverage"]
