"""Statistics of a region or an estate: houses by status and use, persons by age band,
occupancy, the elderly and small children. All aggregates run inside the caller's scope, so
a region outside it reports zeros, exactly like a region without data.

Everything is counted as valid on ``asOf`` (default today): the houses that existed that
day, with their region, status and use then, and the relations valid then
(:mod:`cimhouse.timetravel.rewind_rows`). A house demolished today is not counted today.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, literal, select
from sqlalchemy.orm import Session, aliased
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.loaders import valid_on
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, House, Person, PersonHouse
from cimhouse.schema.vocab import Role
from cimhouse.scope import REGION_LEVEL_BY_LENGTH, Scope, prefix_range
from cimhouse.services.policy import CHILDREN_0_3
from cimhouse.timetravel.rewind_rows import as_of_select, undo_changes, value_on

LIVING = ("resident", "registered", "tenant")
#: (label, lowest age, highest age exclusive); ages in whole years on the reference date.
#: The first band is the services' "0-3" group (under 3), so children0To3 and the report agree.
AGE_BANDS = (("0-2", CHILDREN_0_3.min_age or 0, (CHILDREN_0_3.max_age or 0) + 1),
             ("3-5", 3, 6), ("6-17", 6, 18), ("18-59", 18, 60), ("60-79", 60, 80),
             ("80+", 80, 200))


@strawberry.type
class KeyCount:
    key: str
    count: int


@strawberry.type(description="Aggregates for a region or estate on a reference date.")
class Statistics:
    as_of: dt.date
    houses: int
    houses_by_status: list[KeyCount]
    houses_by_use: list[KeyCount]
    occupied_houses: int = strawberry.field(
        description="Houses with at least one resident, registered person or tenant.")
    occupancy_rate: float | None = strawberry.field(
        description="occupiedHouses / in-use residential houses.")
    persons: int = strawberry.field(description="Distinct persons living in the houses.")
    persons_by_age_band: list[KeyCount]
    persons_unknown_age: int
    elderly_60_plus: int = strawberry.field(name="elderly60Plus")
    elderly_80_plus: int = strawberry.field(name="elderly80Plus")
    children_0_to_3: int = strawberry.field(
        name="children0To3", description="Children 0-3: under 3, i.e. aged 0, 1 or 2 "
                                         "(the group children_0_3 of the services report).")
    children_3_to_6: int = strawberry.field(name="children3To6",
                                            description="Aged 3-5 (3 up to 6).")


def _target(houses: Any, region_code: str | None,
            estate_code: str | None) -> ColumnElement[bool]:
    """The houses of a region (their region on the reference date) or of an estate."""
    if (region_code is None) == (estate_code is None):
        raise InvalidInput(_("give exactly one of regionCode and estateCode"))
    if region_code is not None:
        if not region_code.isdigit() or len(region_code) not in REGION_LEVEL_BY_LENGTH:
            raise InvalidInput(_("regionCode must be a 2, 4, 6, 9 or 12-digit region code"))
        return prefix_range(houses.c.region_code, region_code)
    est, bld = aliased(Estate), aliased(Building)
    return exists(select(1).where(bld.county == houses.c.county,
                                  bld.id == houses.c.building_id,
                                  est.county == bld.county, est.id == bld.estate_id,
                                  est.code == (estate_code or "").strip().upper()))


def houses_on(scope: Scope, as_of: dt.date) -> Any:
    """The houses in ``scope`` that existed on ``as_of``, with region, status and use then."""
    changes = undo_changes(House, as_of, scope.county_keys)
    undo = changes.c.undo
    return as_of_select(House, as_of, scope, changes).with_only_columns(
        House.county, House.id, House.building_id,
        value_on(House.region_code, undo).label("region_code"),
        value_on(House.status, undo).label("status"),
        value_on(House.use, undo).label("use")).subquery("h")


def aged_from(day: dt.date, years: int) -> dt.date:
    """The latest birth date of someone aged at least ``years`` on ``day`` (whole years, as
    PostgreSQL's ``age()`` counts them: born 29 February, one is a year older on 1 March).

    >>> aged_from(dt.date(2026, 12, 2), 60), aged_from(dt.date(2028, 2, 29), 1)
    (datetime.date(1966, 12, 2), datetime.date(2027, 2, 28))
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def compute_statistics(session: Session, scope: Scope, region_code: str | None,
                       estate_code: str | None, as_of: dt.date) -> Statistics:
    """Statistics of the houses that existed on ``as_of`` (values of that day) and of the
    persons whose relations were valid then (docs/feed.md, "Time travel").

    One statement rewinding the houses once (a CTE read twice, so PostgreSQL materialises
    it): the houses grouped by (status, use), from which every house figure is summed here,
    next to the living persons grouped by age band and the count of occupied houses. It
    used to be two statements, each rewinding every house (and before that six).
    """
    h = houses_on(scope, as_of)
    houses = select(h.c.county, h.c.id, h.c.status, h.c.use).where(
        _target(h, region_code, estate_code)).cte("houses_then")
    living = (select(PersonHouse.person_id, PersonHouse.county, PersonHouse.house_id)
              .join(houses, (houses.c.county == PersonHouse.county)
                    & (houses.c.id == PersonHouse.house_id))
              .where(PersonHouse.relation.in_(LIVING), valid_on(as_of))
              .cte("living"))
    # "aged lo up to hi" as birth dates, compared as dates (age() per person cost more
    # than the rest of the statement)
    born = Person.birth_date
    band = case(*[(and_(born <= aged_from(as_of, lo), born > aged_from(as_of, hi)), label)
                  for label, lo, hi in AGE_BANDS], else_="unknown")
    people = select(band.label("band")).where(
        Person.id.in_(select(living.c.person_id))).subquery()
    houses_lived_in = select(living.c.county, living.c.house_id).distinct().subquery()
    pairs: list[tuple[str, str, int]] = []
    band_rows: dict[str, int] = {}
    for kind, key, use, n in session.execute(
            select(literal("house"), cast(houses.c.status, String),
                   cast(houses.c.use, String), func.count())
            .group_by(houses.c.status, houses.c.use)
            .union_all(select(literal("band"), people.c.band, literal(None, String),
                              func.count()).group_by(people.c.band),
                       select(literal("occupied"), literal(None, String),
                              literal(None, String), func.count())
                       .select_from(houses_lived_in))):
        if kind == "house":
            pairs.append((str(key), str(use), int(n)))
        elif kind == "band":
            band_rows[str(key)] = int(n)
        else:
            band_rows["occupied"] = int(n)
    occupied = band_rows.pop("occupied", 0)
    persons = sum(band_rows.values())
    in_use_residential = sum(n for status, use, n in pairs
                             if use == "residential" and status == "in_use")
    return Statistics(
        as_of=as_of, houses=sum(n for _, _, n in pairs),
        houses_by_status=_sum_by(pairs, 0), houses_by_use=_sum_by(pairs, 1),
        occupied_houses=occupied,
        occupancy_rate=round(occupied / in_use_residential, 4) if in_use_residential else None,
        persons=persons,
        persons_by_age_band=[KeyCount(key=label, count=int(band_rows.get(label, 0)))
                             for label, _, _ in AGE_BANDS],
        persons_unknown_age=int(band_rows.get("unknown", 0)),
        elderly_60_plus=int(band_rows.get("60-79", 0)) + int(band_rows.get("80+", 0)),
        elderly_80_plus=int(band_rows.get("80+", 0)),
        children_0_to_3=int(band_rows.get("0-2", 0)),
        children_3_to_6=int(band_rows.get("3-5", 0)))


def _sum_by(pairs: list[tuple[str, str, int]], index: int) -> list[KeyCount]:
    """Counts per status (index 0) or use (1), ordered by key, from the (status, use) groups."""
    sums: dict[str, int] = {}
    for pair in pairs:
        key = str(pair[index])
        sums[key] = sums.get(key, 0) + int(pair[2])
    return [KeyCount(key=k, count=n) for k, n in sorted(sums.items())]


def resolve_statistics(info: Info[RequestContext, None], region_code: str | None = None,
                       estate_code: str | None = None,
                       as_of: dt.date | None = None) -> Statistics:
    ctx = info.context
    ctx.require(Role.READER)
    if (region_code is None) == (estate_code is None):
        raise InvalidInput(_("give exactly one of regionCode and estateCode"))
    return compute_statistics(ctx.session, ctx.scope, region_code, estate_code,
                              as_of or dt.date.today())


@strawberry.type
class StatisticsQuery:
    statistics: Statistics = strawberry.field(
        resolver=resolve_statistics,
        description="Aggregates for one region (any level) or one estate, inside your scope.")
