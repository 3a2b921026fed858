"""The facility service index (设施服务指数) of each community, with its components.

For every category *c* of the policy, with weight *w_c*:

- ``affected_c`` = people of the category's age group living in the community's located
  estates, ``covered_c`` = those of them whose estate has a facility of *c* within the
  radius; ``share_c = covered_c / affected_c``.
- When nobody of the group lives there (``affected_c = 0``), ``share_c`` is the share of
  the community's estates that are covered, so a community without resident data still
  gets a facility-based score.

``index = 100 * sum(w_c * share_c) / sum(w_c)``, rounded to one decimal: 100 means every
affected person has every category within reach. The same data and policy always give
the same score (see docs/services.md).

Example::

    scores = compute_service_index(session, parse_scope("330402"))
    scores[0].region_code, scores[0].index
    # ('330402001001', 72.5)
    [(c.category, c.share, c.weight) for c in scores[0].components][:1]
    # [('education', 1.0, 1.5)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cimhouse.scope import Scope
from cimhouse.services.gaps import CoverageRow, community_names, load_category_coverage
from cimhouse.services.policy import ServicePolicy


@dataclass(frozen=True)
class IndexComponent:
    category: str
    weight: float
    radius_m: float
    affected_group: str
    affected: int
    covered: int
    estates: int
    estates_covered: int
    share: float  # 0..1, see the module docstring

    @property
    def contribution(self) -> float:
        """Points this category adds to the index (its share of the 100)."""
        return self.weight * self.share


@dataclass
class CommunityIndex:
    region_code: str
    community_name: str
    estates: int
    population: int
    index: float
    components: list[IndexComponent] = field(default_factory=list)


def _component(category: str, policy: ServicePolicy, rows: list[CoverageRow]
               ) -> IndexComponent:
    affected = sum(r.affected for r in rows)
    covered = sum(r.affected for r in rows if r.covered)
    estates_covered = sum(1 for r in rows if r.covered)
    share = covered / affected if affected else estates_covered / len(rows)
    return IndexComponent(
        category=category, weight=policy.index_weight(category),
        radius_m=policy.radius(category), affected_group=policy.group(category).key,
        affected=affected, covered=covered, estates=len(rows),
        estates_covered=estates_covered, share=round(share, 4))


def compute_service_index(session: Session, scope: Scope | None, *,
                          policy: ServicePolicy | None = None, metric_srid: int = 4549,
                          as_of: dt.date | None = None,
                          rows: list[CoverageRow] | None = None) -> list[CommunityIndex]:
    """One score per community with located estates in ``scope``, lowest score first."""
    policy = policy or ServicePolicy.default()
    if rows is None:
        rows = load_category_coverage(session, scope, policy=policy,
                                      metric_srid=metric_srid, as_of=as_of)
    by_community: dict[str, dict[str, list[CoverageRow]]] = {}
    for row in rows:
        by_community.setdefault(row.region_code, {}).setdefault(row.category, []).append(row)
    names = community_names(session, set(by_community))
    scores: list[CommunityIndex] = []
    for code, by_category in by_community.items():
        components = [_component(c, policy, by_category[c])
                      for c in policy.categories if c in by_category]
        total_weight = sum(c.weight for c in components)
        index = 100 * sum(c.contribution for c in components) / total_weight
        one_category = next(iter(by_category.values()))  # every estate, once
        population = sum(r.population for r in one_category)
        scores.append(CommunityIndex(
            region_code=code, community_name=names.get(code, ""), estates=len(one_category),
            population=population, index=round(index, 1), components=components))
    scores.sort(key=lambda s: (s.index, s.region_code))
    return scores
