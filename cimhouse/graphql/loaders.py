"""Per-request DataLoaders: one SQL statement per batch of keys, whatever the nesting.

A nested query (estate -> buildings -> houses -> residents) issues one statement per level
instead of one per row. Every loader applies the principal's scope in SQL, so an object
reached by traversal is subject to the same rule as one reached by a list.

Example (in a resolver)::

    houses = await info.context.loaders.houses_of_building.load(("330402", 17, 50))
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    String,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased, defer
from strawberry.dataloader import DataLoader

from cimhouse.schema import Building, Estate, House, Person, PersonHouse, Region
from cimhouse.scope import Scope, scope_filter

if TYPE_CHECKING:
    from cimhouse.graphql.household_loaders import HouseholdLoaders

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
CountyKey = tuple[str, int]
#: (county, parent id, at most this many children)
ChildrenKey = tuple[str, int, int]
#: (county, house_id, as_of, relation kinds) / (person_id, as_of, relation kinds)
HouseRelationKey = tuple[str, int, dt.date | None, tuple[str, ...]]
PersonRelationKey = tuple[int, dt.date | None, tuple[str, ...]]
#: (person_id, as_of)
CoResidentKey = tuple[int, dt.date]
#: relations that mean living in a house, and the most co-residents one person shows
LIVING = ("resident", "registered", "tenant")
MAX_CO_RESIDENTS = 500


def valid_on(as_of: dt.date | None) -> ColumnElement[bool]:
    """Relations valid on ``as_of`` (``valid_to`` is exclusive); None means all of them."""
    if as_of is None:
        return and_(True)
    return and_(or_(PersonHouse.valid_from.is_(None), PersonHouse.valid_from <= as_of),
                or_(PersonHouse.valid_to.is_(None), PersonHouse.valid_to > as_of))


def _any(column: Any, values: Iterable[Any], item: Any) -> ColumnElement[bool]:
    """``column = ANY(:array)``: one bound array instead of one parameter per key."""
    return column == any_(bindparam(None, sorted(set(values)), type_=ARRAY(item)))  # type: ignore[no-any-return]


def _pairs(county_col: Any, id_col: Any, keys: Iterable[tuple[str, int]]) -> ColumnElement[bool]:
    """Rows whose (county, id) may be among ``keys`` (callers keep the exact pairs)."""
    pairs = list(keys)
    return and_(_any(county_col, (k[0] for k in pairs), String),
                _any(id_col, (k[1] for k in pairs), BigInteger))


def lean_options(model: Any) -> list[Any]:
    """Defer the JSON columns the API never shows (their parsing dominates wide batches)."""
    return [defer(getattr(model, name)) for name in ("attributes", "external_ids")
            if hasattr(model, name)]


def _lean(model: Any) -> Any:
    return select(model).options(*lean_options(model))


def _loader(batch: Callable[[list[K]], Sequence[V]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> Sequence[V]:
        return batch(keys)

    return DataLoader(load_fn=load)


def _group(rows: Iterable[Any], key: Callable[[Any], Hashable]) -> dict[Hashable, list[Any]]:
    out: dict[Hashable, list[Any]] = defaultdict(list)
    for row in rows:
        out[key(row)].append(row)
    return out


class Loaders:
    """The DataLoaders of one request (created lazily by ``RequestContext.loaders``): they
    need only the request's session and the principal's scope."""

    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope
        self.estate: DataLoader[CountyKey, Estate | None] = _loader(self._by_key(Estate))
        self.building: DataLoader[CountyKey, Building | None] = _loader(self._by_key(Building))
        self.house: DataLoader[CountyKey, House | None] = _loader(self._by_key(House))
        self.buildings_of_estate: DataLoader[ChildrenKey, list[Building]] = _loader(
            self._children(Building, Building.estate_id))
        self.houses_of_building: DataLoader[ChildrenKey, list[House]] = _loader(
            self._children(House, House.building_id))
        self.relations_of_house: DataLoader[HouseRelationKey, list[PersonHouse]] = _loader(
            self._relations_of_house)
        self.relations_of_person: DataLoader[PersonRelationKey, list[PersonHouse]] = _loader(
            self._relations_of_person)
        self.person: DataLoader[int, Person | None] = _loader(self._persons)
        self.co_residents: DataLoader[CoResidentKey, list[Person]] = _loader(
            self._co_residents)
        #: persons fetched together with their relations (no second round trip per row)
        self.persons: dict[int, Person] = {}
        self.region: DataLoader[str, Region | None] = _loader(self._regions)

    @cached_property
    def households(self) -> HouseholdLoaders:
        """Households, their members, a person's household (made on first use)."""
        from cimhouse.graphql.household_loaders import HouseholdLoaders

        return HouseholdLoaders(self.session, self.scope)

    def _by_key(self, model: Any) -> Callable[[list[CountyKey]], list[Any]]:
        def batch(keys: list[CountyKey]) -> list[Any]:
            rows = self.session.scalars(_lean(model).where(
                _pairs(model.county, model.id, keys), scope_filter(model, self.scope)))
            found = {(r.county, r.id): r for r in rows}
            return [found.get(k) for k in keys]
        return batch

    def _children(self, model: Any, parent: Any
                  ) -> Callable[[list[ChildrenKey]], list[list[Any]]]:
        """Children of many parents, at most ``limit`` each, in one statement per limit."""
        def batch(keys: list[ChildrenKey]) -> list[list[Any]]:
            by_limit: dict[int, list[ChildrenKey]] = defaultdict(list)
            for key in keys:
                by_limit[key[2]].append(key)
            found: dict[ChildrenKey, list[Any]] = {}
            for limit, group in by_limit.items():
                pairs = [(k[0], k[1]) for k in group]
                rank = func.row_number().over(partition_by=(model.county, parent),
                                              order_by=model.id).label("rank")
                ranked = select(model, rank).where(
                    _pairs(model.county, parent, pairs),
                    scope_filter(model, self.scope)).subquery()
                child = aliased(model, ranked)
                rows = self.session.scalars(
                    select(child).options(*lean_options(child))
                    .where(ranked.c.rank <= limit).order_by(child.county, child.id))
                grouped = _group(rows, lambda r: (r.county, getattr(r, parent.key)))
                for key in group:
                    found[key] = grouped.get((key[0], key[1]), [])
            return [found[k] for k in keys]
        return batch

    def _relations_of_house(self, keys: list[HouseRelationKey]) -> list[list[PersonHouse]]:
        found: dict[HouseRelationKey, list[PersonHouse]] = {}
        by_filter: dict[tuple[dt.date | None, tuple[str, ...]], list[HouseRelationKey]] = \
            defaultdict(list)
        for key in keys:
            by_filter[(key[2], key[3])].append(key)
        for (as_of, kinds), group in by_filter.items():
            pairs = list({(k[0], k[1]) for k in group})
            query = select(PersonHouse, Person).join(
                Person, Person.id == PersonHouse.person_id).where(
                _pairs(PersonHouse.county, PersonHouse.house_id, pairs),
                scope_filter(PersonHouse, self.scope), valid_on(as_of))
            if kinds:
                query = query.where(PersonHouse.relation.in_(kinds))
            rows = _group(self._with_persons(query.order_by(PersonHouse.id)),
                          lambda r: (r.county, r.house_id))
            for key in group:
                found[key] = rows.get((key[0], key[1]), [])
        return [found[k] for k in keys]

    def _relations_of_person(self, keys: list[PersonRelationKey]) -> list[list[PersonHouse]]:
        found: dict[PersonRelationKey, list[PersonHouse]] = {}
        by_filter: dict[tuple[dt.date | None, tuple[str, ...]], list[PersonRelationKey]] = \
            defaultdict(list)
        for key in keys:
            by_filter[(key[1], key[2])].append(key)
        for (as_of, kinds), group in by_filter.items():
            ids = list({k[0] for k in group})
            query = select(PersonHouse).where(_any(PersonHouse.person_id, ids, BigInteger),
                                              scope_filter(PersonHouse, self.scope),
                                              valid_on(as_of))
            if kinds:
                query = query.where(PersonHouse.relation.in_(kinds))
            rows = _group(self.session.scalars(query.order_by(PersonHouse.id)),
                          lambda r: r.person_id)
            self.persons.update((p.id, p) for p in self.session.scalars(
                select(Person).where(_any(Person.id, ids, BigInteger))))
            for key in group:
                found[key] = rows.get(key[0], [])
        return [found[k] for k in keys]

    def _with_persons(self, query: Any) -> list[PersonHouse]:
        """Relations of a (PersonHouse, Person) query; the persons are kept for ``person_of``."""
        relations = []
        for relation, person in self.session.execute(query):
            self.persons[person.id] = person
            relations.append(relation)
        return relations

    def person_of(self, relation: PersonHouse) -> Person | None:
        """The person of a relation: loaded with the relation batch, else fetched by key."""
        found = self.persons.get(relation.person_id)
        if found is None:
            found = self.session.get(Person, relation.person_id)
        return found

    def _co_residents(self, keys: list[CoResidentKey]) -> list[list[Person]]:
        """Co-residents of many persons in one statement per date (not one per person)."""
        found: dict[CoResidentKey, list[Person]] = {}
        by_date: dict[dt.date, list[int]] = defaultdict(list)
        for person_id, as_of in keys:
            by_date[as_of].append(person_id)
        for as_of, ids in by_date.items():
            mine = aliased(PersonHouse)
            other = PersonHouse  # scope_filter and valid_on name the unaliased entity
            pairs = (select(mine.person_id.label("me"), other.person_id.label("them"))
                     .join(mine, (mine.county == other.county)
                           & (mine.house_id == other.house_id))
                     .where(_any(mine.person_id, ids, BigInteger), mine.relation.in_(LIVING),
                            other.relation.in_(LIVING), other.person_id != mine.person_id,
                            scope_filter(PersonHouse, self.scope), valid_on(as_of),
                            or_(mine.valid_from.is_(None), mine.valid_from <= as_of),
                            or_(mine.valid_to.is_(None), mine.valid_to > as_of))
                     .distinct().subquery())
            rank = func.row_number().over(partition_by=pairs.c.me,
                                          order_by=pairs.c.them).label("rank")
            ranked = select(pairs.c.me, pairs.c.them, rank).subquery()
            rows = self.session.execute(
                select(ranked.c.me, Person).join(Person, Person.id == ranked.c.them)
                .where(ranked.c.rank <= MAX_CO_RESIDENTS).order_by(ranked.c.me, Person.id))
            grouped = _group(rows, lambda r: r[0])
            for person_id in ids:
                found[(person_id, as_of)] = [r[1] for r in grouped.get(person_id, [])]
        return [found[k] for k in keys]

    def _persons(self, keys: list[int]) -> list[Person | None]:
        # Persons are reached only through scoped relations, so no scope filter here.
        rows = {p.id: p for p in self.session.scalars(select(Person).where(
            _any(Person.id, keys, BigInteger)))}
        return [rows.get(k) for k in keys]

    def _regions(self, keys: list[str]) -> list[Region | None]:
        rows = {r.code: r for r in self.session.scalars(select(Region).where(
            _any(Region.code, keys, String), scope_filter(Region, self.scope)))}
        return [rows.get(k) for k in keys]


def load_many(loader: DataLoader[K, V], keys: list[K]) -> Awaitable[list[V]]:
    return loader.load_many(keys)
