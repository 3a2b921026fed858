"""DataLoaders of households (户): one statement per batch, inside the principal's scope.

A household is in scope when the house it is registered at is (``scope_filter(House)``).
Its members are shown only when the person is visible too, by the one rule of the API: a
relation to a house of the scope (``person_in_scope``). The register import gives every
member a 户籍 relation at the household's house, so this hides only members registered
nowhere in the scope; a count never includes a hidden member.

Example (in a resolver)::

    rows = await info.context.loaders.households.of_house.load(("330402", 17))
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, or_, select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from cimhouse.graphql.loaders import _any, _loader, _pairs
from cimhouse.schema import House, Household, HouseholdMember, Person, PersonHouse
from cimhouse.scope import Scope, scope_filter
from cimhouse.timetravel.rewind_households import (
    household_of_persons_on,
    households_of_houses_on,
    houses_existing_on,
)
from cimhouse.timetravel.rewind_rows import as_of_select, rewind

#: (county, house_id) / (county, house or household id, as_of) / (person_id, as_of) /
#: (county, household_id, as_of or None: all)
HouseKey = tuple[str, int]
HouseDayKey = tuple[str, int, dt.date]
PersonKey = tuple[int, dt.date]
MembersKey = tuple[str, int, dt.date | None]
Member = tuple[HouseholdMember, Person]


def member_valid_on(as_of: dt.date | None) -> ColumnElement[bool]:
    """Memberships valid on ``as_of`` (``valid_to`` exclusive); None: all of them."""
    if as_of is None:
        return and_(True)
    return and_(or_(HouseholdMember.valid_from.is_(None), HouseholdMember.valid_from <= as_of),
                or_(HouseholdMember.valid_to.is_(None), HouseholdMember.valid_to > as_of))


def household_house_in_scope(scope: Scope | None) -> ColumnElement[bool]:
    """Join condition from :class:`Household` to its house, the house inside ``scope`` (the
    one rule for households: the loaders and ``node(id)`` use it)."""
    return and_(House.county == Household.county, House.id == Household.house_id,
                scope_filter(House, scope))


def _any_of(column: Any, values: list[Any]) -> ColumnElement[bool]:
    return _any(column, values, BigInteger)


class HouseholdLoaders:
    """The household loaders of one request (``RequestContext.loaders.households``)."""

    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope
        self.of_house: DataLoader[HouseKey, list[Household]] = _loader(self._of_house)
        self.of_house_on: DataLoader[HouseDayKey, list[Household]] = _loader(
            self._of_house_on)
        self.on_day: DataLoader[HouseDayKey, Household | None] = _loader(self._on_day)
        self.of_person: DataLoader[PersonKey, Household | None] = _loader(self._of_person)
        self.members: DataLoader[MembersKey, list[Member]] = _loader(self._members)

    def _of_house(self, keys: list[HouseKey]) -> list[list[Household]]:
        rows = self.session.scalars(
            select(Household).join(House, household_house_in_scope(self.scope))
            .where(_pairs(Household.county, Household.house_id, keys))
            .order_by(Household.county, Household.number, Household.id))
        found: dict[HouseKey, list[Household]] = defaultdict(list)
        for row in rows:
            found[(row.county, row.house_id)].append(row)
        return [found.get(k, []) for k in keys]

    def _of_house_on(self, keys: list[HouseDayKey]) -> list[list[Household]]:
        """The households registered at each house on the key's day (rewound to it)."""
        found: dict[HouseDayKey, list[Household]] = defaultdict(list)
        by_date: dict[dt.date, list[HouseKey]] = defaultdict(list)
        for county, house_id, as_of in keys:
            by_date[as_of].append((county, house_id))
        for as_of, houses in by_date.items():
            existing = {(c, i) for c, i in self.session.execute(
                houses_existing_on(as_of, self.scope, houses))}
            rows = self.session.execute(households_of_houses_on(as_of, self.scope, houses))
            for household, undo, house_then in rows:
                if (household.county, house_then) in existing:
                    found[(household.county, house_then, as_of)].append(
                        rewind(household, undo))
        return [found.get(k, []) for k in keys]

    def _on_day(self, keys: list[HouseDayKey]) -> list[Household | None]:
        """Each household (county, id) as it was on the key's day; None: it did not exist."""
        found: dict[HouseDayKey, Household] = {}
        by_date: dict[dt.date, list[HouseKey]] = defaultdict(list)
        for county, household_id, as_of in keys:
            by_date[as_of].append((county, household_id))
        for as_of, pairs in by_date.items():
            rows = self.session.execute(as_of_select(Household, as_of, self.scope).where(
                _pairs(Household.county, Household.id, pairs)))
            for household, undo in rows:
                found[(household.county, household.id, as_of)] = rewind(household, undo)
        return [found.get(k) for k in keys]

    def _of_person(self, keys: list[PersonKey]) -> list[Household | None]:
        """The household of each person on the key's day, with its values then."""
        found: dict[PersonKey, Household] = {}
        by_date: dict[dt.date, list[int]] = defaultdict(list)
        for person_id, as_of in keys:
            by_date[as_of].append(person_id)
        for as_of, ids in by_date.items():
            rows = self.session.execute(household_of_persons_on(as_of, self.scope, ids))
            for household, undo, person_id in rows:  # one per county at most; the first
                if (person_id, as_of) not in found:
                    found[(person_id, as_of)] = rewind(household, undo)
        return [found.get(k) for k in keys]

    def _members(self, keys: list[MembersKey]) -> list[list[Member]]:
        found: dict[MembersKey, list[Member]] = defaultdict(list)
        by_date: dict[dt.date | None, list[MembersKey]] = defaultdict(list)
        for key in keys:
            by_date[key[2]].append(key)
        for as_of, group in by_date.items():
            rows = self.session.execute(
                select(HouseholdMember, Person)
                .join(Household, (Household.county == HouseholdMember.county)
                      & (Household.id == HouseholdMember.household_id))
                .join(House, household_house_in_scope(self.scope))
                .join(Person, Person.id == HouseholdMember.person_id)
                .where(_pairs(HouseholdMember.county, HouseholdMember.household_id,
                              [(k[0], k[1]) for k in group]), member_valid_on(as_of))
                .order_by(HouseholdMember.county, HouseholdMember.household_id,
                          HouseholdMember.relation != "head", HouseholdMember.valid_from,
                          HouseholdMember.id)).all()
            visible = self._visible({m.person_id for m, _p in rows})
            for member, person in rows:
                if member.person_id in visible:
                    found[(member.county, member.household_id, as_of)].append((member, person))
        return [found.get(k, []) for k in keys]

    def _visible(self, person_ids: set[int]) -> set[int]:
        """Those of ``person_ids`` with a relation (any date) to a house of the scope."""
        if not person_ids:
            return set()
        return set(self.session.scalars(
            select(PersonHouse.person_id).distinct().where(
                _any_of(PersonHouse.person_id, sorted(person_ids)),
                scope_filter(PersonHouse, self.scope))))


__all__ = ["HouseholdLoaders", "Member", "household_house_in_scope", "member_valid_on"]
