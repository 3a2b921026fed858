"""Statistics by household (户) for any region or estate: sizes, 纯老户, living alone, infants.

A household counts in the scope of the house it is registered at; its members are the
memberships valid on ``as_of``. Definitions (ages on ``as_of``):

- size: the number of current members;
- elderly-only household (纯老户): every member is at least ``min_age`` (60);
- single elderly living alone: a one-member household whose member is at least
  ``min_age`` *and* is the only person living in the house they live in (the actual living
  relations of :func:`cimhouse.services.sql.living_sql`, in the same scope): an elderly
  person registered alone but living with a child's family does not count;
- with children 0-3: at least one member of the services' group ``children_0_3``
  (under 3: aged 0, 1 or 2; :data:`cimhouse.services.policy.CHILDREN_0_3`, the one
  definition of the report, the gaps and GraphQL ``statistics { children0To3 }``).

人户分离: a household counts where it is registered, its members' living alone where they
live. A one-member household registered here whose member lives alone in a house outside
the scope is not counted as living alone here: the scope does not see that house.

Example: 张建国 (70) and 李秀英 (68) form household H1 at 梅花苑3幢2单元201室: size 2,
elderly-only, not living alone. 王芳 (82) is household H2 alone and the only resident of
202室: elderly-only and living alone. Her neighbour 赵大 (75), household H3 alone, lives
with his daughter's family at 301室: elderly-only, not living alone.

    stats = household_statistics(session, parse_scope("330402"), as_of=dt.date(2026, 1, 1))
    stats.households, stats.by_size, stats.elderly_only, stats.elderly_living_alone
    # (3, {1: 2, 2: 1}, 3, 1)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.scope import Scope
from cimhouse.services.elderly import alone_sql
from cimhouse.services.policy import CHILDREN_0_3
from cimhouse.services.sql import age_condition, current_sql, house_scope_sql


@dataclass
class HouseholdStatistics:
    households: int = 0
    by_size: dict[int, int] = field(default_factory=dict)
    elderly_only: int = 0  # 纯老户
    elderly_living_alone: int = 0  # one member, >= min_age, the only one in their house
    with_children_0_3: int = 0  # a member under 3


def _sql(scope: Scope | None) -> str:
    return f"""
        WITH m AS MATERIALIZED (
            SELECT hh.county, hh.id, m.person_id, p.birth_date
            FROM household hh
            JOIN house h ON h.county = hh.county AND h.id = hh.house_id
            JOIN household_member m ON m.county = hh.county AND m.household_id = hh.id
            JOIN person p ON p.id = m.person_id
            WHERE ({house_scope_sql(scope)}) AND {current_sql('m')}),
        alone AS MATERIALIZED (SELECT DISTINCT person_id FROM ({alone_sql(scope)}) a),
        per AS (
            SELECT county, id, count(*) AS size, min(person_id) AS person_id,
                   bool_and(COALESCE(birth_date <= CAST(:as_of AS date)
                                     - make_interval(years => :min_age), false)) AS elderly,
                   bool_or({age_condition(CHILDREN_0_3, "birth_date")}) AS infant
            FROM m GROUP BY county, id)
        SELECT size, count(*), count(*) FILTER (WHERE elderly),
               count(*) FILTER (WHERE size = 1 AND elderly
                                  AND person_id IN (SELECT person_id FROM alone)),
               count(*) FILTER (WHERE infant)
        FROM per GROUP BY size ORDER BY size"""


def household_statistics(session: Session, scope: Scope | None, *,
                         as_of: dt.date | None = None, min_age: int = 60
                         ) -> HouseholdStatistics:
    """Household figures for the houses of ``scope`` (None: everything); see the module."""
    stats = HouseholdStatistics()
    rows = session.execute(text(_sql(scope)), {"as_of": as_of or dt.date.today(),
                                               "min_age": min_age})
    for size, count, elderly, alone, infant in rows:
        stats.by_size[int(size)] = int(count)
        stats.households += int(count)
        stats.elderly_only += int(elderly)
        stats.elderly_living_alone += int(alone)
        stats.with_children_0_3 += int(infant)
    return stats


__all__ = ["HouseholdStatistics", "household_statistics"]
