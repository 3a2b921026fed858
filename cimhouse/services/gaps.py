"""Gaps ("补短板"): estates and communities lacking a category within its walking radius.

An estate has a gap in a category when no facility of it in use lies within the radius
(see :mod:`cimhouse.services.coverage`). The people affected are the estate's residents of
the category's age group (:mod:`cimhouse.services.policy`): children 0-3 for childcare,
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
from cimhouse.services.policy import ServicePolicy
from cimhouse.services.sql import base_params, estate_population_sql


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


def category_coverage_sql(scope: Scope | None, policy: ServicePolicy
                          ) -> tuple[str, dict[str, object]]:
    """Statement body: coverage rows joined with the affected people of each estate.

    Adds ``affected`` (people of the category's age group) and ``covered`` to the columns of
    :func:`cimhouse.services.coverage.coverage_sql`; the caller appends ORDER BY/filters.
    """
    body, params = coverage_sql(scope, policy)
    cases = " ".join(f"WHEN :cat{i} THEN COALESCE(pop.{policy.group(c).key}, 0)"
                     for i, c in enumerate(policy.categories))
    groups = " ".join(f"WHEN :cat{i} THEN CAST(:grp{i} AS text)"
                      for i, c in enumerate(policy.categories))
    for i, category in enumerate(policy.categories):
        params[f"grp{i}"] = policy.group(category).key
    sql = f"""
        WITH cov AS ({body}),
             pop AS MATERIALIZED ({estate_population_sql(scope)})
        SELECT cov.*, COALESCE(cov.distance_m <= cov.radius, false) AS covered,
               CASE cov.category {groups} END AS affected_group,
               CASE cov.category {cases} END AS affected,
               COALESCE(pop.everyone, 0) AS population
        FROM cov LEFT JOIN pop ON pop.county = cov.county AND pop.estate_id = cov.estate_id
    """
    return sql, params


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


def load_category_coverage(session: Session, scope: Scope | None, *,
                           policy: ServicePolicy | None = None, metric_srid: int = 4549,
                           as_of: dt.date | None = None) -> list[CoverageRow]:
    """All estate x category rows of ``scope`` with the people each gap would affect."""
    policy = policy or ServicePolicy.default()
    body, params = category_coverage_sql(scope, policy)
    params |= base_params(metric_srid, as_of)
    rows = session.execute(text(body), params)
    return [CoverageRow(
        estate_code=r.estate_code, estate_name=r.estate_name, region_code=r.region_code,
        category=r.category, radius_m=float(r.radius), nearest_facility=r.facility_name,
        distance_m=None if r.distance_m is None else float(r.distance_m),
        covered=bool(r.covered), affected_group=r.affected_group,
        affected=int(r.affected), population=int(r.population)) for r in rows]


def community_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(text("SELECT code, name FROM region WHERE code = ANY(:codes)"),
                           {"codes": sorted(codes)})
    return {r.code: r.name for r in rows}


def find_gaps(session: Session, scope: Scope | None, *, policy: ServicePolicy | None = None,
              metric_srid: int = 4549, as_of: dt.date | None = None,
              limit: int | None = None,
              rows: list[CoverageRow] | None = None) -> GapResult:
    """Estate and community gaps in ``scope``, each list ranked by people affected.

    ``limit`` caps each list (None: all). Estates with no location cannot be judged and are
    only counted (``unlocated_estates``). ``rows`` reuses an earlier
    :func:`load_category_coverage` of the same scope and policy.
    """
    if rows is None:
        rows = load_category_coverage(session, scope, policy=policy,
                                      metric_srid=metric_srid, as_of=as_of)
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
