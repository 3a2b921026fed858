"""Persons and person-house relations (needs ``person_reader``; full numbers ``pii_reader``).

ID numbers and phones are shown masked (``330402********123X``); a ``pii_reader`` sees them
in full and every such read appends an ``audit_log`` row naming the person id and the field,
never the number. A person is visible only through a relation in the principal's scope.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import any_, func, select
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import (
    Connection,
    Node,
    decode_cursor,
    encode_cursor,
    global_id,
    like_pattern,
    make_connection,
    page_size,
)
from cimhouse.graphql.context import RequestContext
from cimhouse.i18n import _
from cimhouse.idnumber import normalize_id_number
from cimhouse.schema import Person, PersonHouse
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope, scope_filter

if TYPE_CHECKING:
    from cimhouse.graphql.built import HouseType, RelationKindEnum
    from cimhouse.graphql.households import HouseholdType

House = Annotated["HouseType", strawberry.lazy("cimhouse.graphql.built")]
RelationKindArg = Annotated["RelationKindEnum", strawberry.lazy("cimhouse.graphql.built")]
HouseholdRef = Annotated["HouseholdType", strawberry.lazy("cimhouse.graphql.households")]


#: scope levels (community 5, estate 6) whose persons are collected from the house side first
NARROW_LEVELS = 5


def person_in_scope(scope: Scope) -> Any:
    """Persons with at least one relation (past or present) to a house in ``scope``.

    An uncorrelated ``IN`` (semi-join): Citus plans the relations of the scope first, where a
    correlated EXISTS from the ``person`` reference table is refused. A community or estate
    scope (a few thousand relations) collects the ids first, ``= ANY(ARRAY(...))``, so that
    a page is read by primary key instead of walking ``pk_person`` (16.9 s at 1M houses;
    the compiled path does the same, ``compiled.node.person_in_scope``)."""
    ids = select(PersonHouse.person_id).where(scope_filter(PersonHouse, scope))
    if scope.level >= NARROW_LEVELS:
        return Person.id == any_(func.array(ids.scalar_subquery()))
    return Person.id.in_(ids)


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@strawberry.type(name="Person", description="A natural person (needs person_reader).")
class PersonType(Node):
    row: strawberry.Private[Person]
    name: str
    gender: str | None
    birth_date: dt.date | None

    @classmethod
    def from_row(cls, row: Person) -> PersonType:
        return cls(row=row, id=global_id("Person", str(row.id)), name=row.name,
                   gender=row.gender, birth_date=row.birth_date)

    @strawberry.field(description="Age in whole years on `asOf` (default today).")
    def age(self, as_of: dt.date | None = None) -> int | None:
        return _age(self.row.birth_date, as_of or dt.date.today())

    @strawberry.field(description="ID number, masked unless the caller is a pii_reader "
                                  "(each full read is audited).")
    def id_number(self, info: Info[RequestContext, None]) -> str:
        ctx = info.context
        if not ctx.can(Role.PII_READER):
            return self.row.id_masked
        ctx.audit("pii.read", "person", str(self.row.id), {"field": "id_number"})
        return ctx.vault.decrypt(self.row.id_cipher)

    @strawberry.field(description="Phone, masked unless the caller is a pii_reader "
                                  "(each full read is audited).")
    def phone(self, info: Info[RequestContext, None]) -> str | None:
        ctx = info.context
        if self.row.phone_cipher is None or not ctx.can(Role.PII_READER):
            return self.row.phone_masked
        ctx.audit("pii.read", "person", str(self.row.id), {"field": "phone"})
        return ctx.vault.decrypt(self.row.phone_cipher)

    @strawberry.field(description="Relations to houses in scope valid on `asOf` "
                                  "(default today); `allDates` includes past ones.")
    async def houses(self, info: Info[RequestContext, None],
                     kinds: list[RelationKindArg] | None = None,
                     as_of: dt.date | None = None,
                     all_dates: bool = False) -> list[PersonHouseRelationType]:
        info.context.require(Role.PERSON_READER)
        date = None if all_dates else (as_of or dt.date.today())
        kind_values = tuple(sorted({k.value for k in kinds or []}))
        rows = await info.context.loaders.relations_of_person.load(
            (self.row.id, date, kind_values))
        return [PersonHouseRelationType.from_row(r) for r in rows]

    @strawberry.field(description="The household (户) the person belongs to on `asOf` "
                                  "(default today), when it is registered in scope.")
    async def household(self, info: Info[RequestContext, None],
                        as_of: dt.date | None = None) -> HouseholdRef | None:
        from cimhouse.graphql.households import household_of_person

        return await household_of_person(info, self.row.id, as_of)

    @strawberry.field(description="Other persons living (resident, registered or tenant) "
                                  "in the same houses on `asOf` (default today).")
    async def co_residents(self, info: Info[RequestContext, None],
                           as_of: dt.date | None = None) -> list[PersonType]:
        ctx = info.context
        ctx.require(Role.PERSON_READER)
        # Batched: one statement for all persons of the request, not one per person.
        rows = await ctx.loaders.co_residents.load((self.row.id, as_of or dt.date.today()))
        return [PersonType.from_row(p) for p in rows]


@strawberry.type(name="PersonHouseRelation",
                 description="A dated relation: valid from validFrom (inclusive) to validTo "
                             "(exclusive; null = still valid).")
class PersonHouseRelationType(Node):
    row: strawberry.Private[PersonHouse]
    relation: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    source: str | None

    @classmethod
    def from_row(cls, row: PersonHouse) -> PersonHouseRelationType:
        return cls(row=row, id=global_id("PersonHouse", f"{row.county}:{row.id}"),
                   relation=row.relation, valid_from=row.valid_from, valid_to=row.valid_to,
                   source=row.source)

    @strawberry.field
    def person(self, info: Info[RequestContext, None]) -> PersonType | None:
        info.context.require(Role.PERSON_READER)
        row = info.context.loaders.person_of(self.row)
        return PersonType.from_row(row) if row else None

    @strawberry.field
    async def house(self, info: Info[RequestContext, None]) -> House | None:
        from cimhouse.graphql.built import HouseType

        row = await info.context.loaders.house.load((self.row.county, self.row.house_id))
        return HouseType.from_row(row) if row else None


def resolve_person(info: Info[RequestContext, None], id_number: str) -> PersonType | None:
    """A person by ID number, when related to a house in scope (audited, number not kept)."""
    ctx = info.context
    ctx.require(Role.PERSON_READER)
    try:
        digest = ctx.vault.lookup_hash(normalize_id_number(id_number))
    except (ValueError, InvalidInput):
        raise InvalidInput(_("not a valid ID number")) from None
    row = ctx.session.scalar(select(Person).where(Person.id_hash == digest,
                                                  person_in_scope(ctx.scope)))
    ctx.audit("person.lookup", "person", str(row.id) if row else None,
              {"found": row is not None})
    return PersonType.from_row(row) if row else None


def resolve_persons(info: Info[RequestContext, None], name_contains: str | None = None,
                    first: int | None = 50, after: str | None = None
                    ) -> Connection[PersonType]:
    """Persons related to houses in scope, optionally by a name substring, paged by id."""
    ctx = info.context
    ctx.require(Role.PERSON_READER)
    limit = page_size(first, ctx.settings)
    query = select(Person).where(person_in_scope(ctx.scope))
    if name_contains:
        query = query.where(Person.name.ilike(like_pattern(name_contains), escape="\\"))
    counted = query
    if after:
        key = decode_cursor(after, "person")
        if not key.isdigit():
            raise InvalidInput(_("malformed cursor"))
        query = query.where(Person.id > int(key))
    rows = ctx.session.scalars(query.order_by(Person.id).limit(limit + 1)).all()

    def count() -> int:
        return int(ctx.session.scalar(select(func.count()).select_from(
            counted.with_only_columns(Person.id).subquery())) or 0)

    return make_connection(rows, limit, "person", lambda r: str(r.id), PersonType.from_row,
                           count_query=count)


@strawberry.type
class PeopleQuery:
    person: PersonType | None = strawberry.field(
        resolver=resolve_person, description="A person by ID number (in scope).")
    persons: Connection[PersonType] = strawberry.field(
        resolver=resolve_persons, description="Persons related to houses in scope.")


__all__ = ["PeopleQuery", "PersonHouseRelationType", "PersonType", "encode_cursor"]
