"""Households (户) in GraphQL: ``House.households``, ``Person.household``, ``Household``
with its members, head and house, and ``householdStatistics`` for a region or an estate.

Households, members and heads need ``person_reader`` (they name persons); a member's ID
number and phone are ``Person`` fields, masked unless the caller is a ``pii_reader`` (each
full read audited). A household is visible when the house it is registered at is in scope;
its members when they are persons of the scope (:mod:`.household_loaders`). The statistics
are counts (``reader``) over the houses of the region or estate inside the caller's scope:
a region outside it reports zeros, like ``statistics``.

These fields take the resolver path (a counted fallback of the compiled path, reason
``House.households``, ``Person.household`` or ``Query.householdStatistics``).

Example::

    { houses(first: 5) { edges { node { code households { number kind
        head { name } members { relation validFrom person { name idNumber } } } } } }
      householdStatistics(regionCode: "330402") { households elderlyOnly
        singleElderlyLivingAlone withChildren0To3 bySize { size households } } }
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import Node, county_key, global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.i18n import _
from cimhouse.schema import Household, HouseholdMember, Person
from cimhouse.schema.vocab import HeadRelation, HouseholdKind, Role
from cimhouse.scope import Scope, parse_scope, with_county_keys
from cimhouse.services.households import HouseholdStatistics as Figures
from cimhouse.services.households import household_statistics

if TYPE_CHECKING:
    from cimhouse.graphql.built import HouseType
    from cimhouse.graphql.people import PersonType

HouseRef = Annotated["HouseType", strawberry.lazy("cimhouse.graphql.built")]
PersonRef = Annotated["PersonType", strawberry.lazy("cimhouse.graphql.people")]

# the vocabulary enums themselves, under their GraphQL names (declared once, in schema.vocab)
strawberry.enum(HouseholdKind, name="HouseholdKind", description="户别: 家庭户 or 集体户.")
strawberry.enum(HeadRelation, name="HeadRelation", description="与户主关系.")


@strawberry.type(name="HouseholdMember",
                 description="A dated membership: valid from validFrom (inclusive) to validTo "
                             "(exclusive; null = still valid).")
class HouseholdMemberType(Node):
    row: strawberry.Private[HouseholdMember]
    person_row: strawberry.Private[Person]
    relation: HeadRelation = strawberry.field(description="Relation to the head (与户主关系).")
    valid_from: dt.date | None
    valid_to: dt.date | None

    @classmethod
    def from_row(cls, row: HouseholdMember, person: Person) -> HouseholdMemberType:
        return cls(row=row, person_row=person,
                   id=global_id("HouseholdMember", county_key(row.county, row.id)),
                   relation=HeadRelation(row.relation), valid_from=row.valid_from,
                   valid_to=row.valid_to)

    @strawberry.field(description="The member (ID number and phone masked unless pii_reader).")
    def person(self) -> PersonRef:
        from cimhouse.graphql.people import PersonType

        return PersonType.from_row(self.person_row)


@strawberry.type(name="Household", description="A household (户) registered at a house "
                                               "(needs person_reader).")
class HouseholdType(Node):
    row: strawberry.Private[Household]
    # the day it was read on (``asOf`` of House.households / Person.household): its kind and
    # house are those of that day, and its nested fields default to that day
    as_of: strawberry.Private[dt.date | None] = None
    number: str = strawberry.field(description="户号, unique in its county.")
    kind: HouseholdKind = strawberry.field(
        description="户别 (on the day the household was read on, when one was given).")

    @classmethod
    def from_row(cls, row: Household, as_of: dt.date | None = None) -> HouseholdType:
        return cls(row=row, as_of=as_of,
                   id=global_id("Household", county_key(row.county, row.id)),
                   number=row.number, kind=HouseholdKind(row.kind))

    def _day(self, as_of: dt.date | None) -> dt.date:
        return as_of or self.as_of or dt.date.today()

    async def _members(self, info: Info[RequestContext, None], as_of: dt.date | None
                       ) -> list[HouseholdMemberType]:
        info.context.require(Role.PERSON_READER)
        rows = await info.context.loaders.households.members.load(
            (self.row.county, self.row.id, as_of))
        return [HouseholdMemberType.from_row(m, p) for m, p in rows]

    @strawberry.field(description="Members on `asOf` (default: the day the household was "
                                  "read on, else today), the head first; `allDates` includes "
                                  "past memberships.")
    async def members(self, info: Info[RequestContext, None], as_of: dt.date | None = None,
                      all_dates: bool = False) -> list[HouseholdMemberType]:
        return await self._members(info, None if all_dates else self._day(as_of))

    @strawberry.field(description="The head (户主) on `asOf` (default: the day the household "
                                  "was read on, else today).")
    async def head(self, info: Info[RequestContext, None],
                   as_of: dt.date | None = None) -> PersonRef | None:
        from cimhouse.graphql.people import PersonType

        members = await self._members(info, self._day(as_of))
        head = next((m for m in members if m.relation is HeadRelation.HEAD), None)
        return PersonType.from_row(head.person_row) if head else None

    @strawberry.field(description="Members on `asOf` (default: the day the household was "
                                  "read on, else today).")
    async def size(self, info: Info[RequestContext, None], as_of: dt.date | None = None) -> int:
        return len(await self._members(info, self._day(as_of)))

    @strawberry.field(description="The house the household is registered at (户籍) on `asOf` "
                                  "(default: the day the household was read on, else the "
                                  "current registration), as it was then; null when that "
                                  "house did not exist on that day (e.g. demolished).")
    async def house(self, info: Info[RequestContext, None],
                    as_of: dt.date | None = None) -> HouseRef | None:
        from cimhouse.graphql.built import HouseType, rows_on
        from cimhouse.schema import House

        day = as_of or self.as_of
        if day is None:
            row = await info.context.loaders.house.load((self.row.county, self.row.house_id))
            return HouseType.from_row(row) if row else None
        house_id = self.row.house_id
        if day != self.as_of:  # another day than it was read on: its house on that day
            then = await info.context.loaders.households.on_day.load(
                (self.row.county, self.row.id, day))
            if then is None:
                return None
            house_id = then.house_id
        found = rows_on(info, House, day, 1, House.county == self.row.county,
                        House.id == house_id)
        return HouseType.from_row(found[0], day) if found else None


async def households_of_house(info: Info[RequestContext, None], county: str,
                              house_id: int, as_of: dt.date | None) -> list[HouseholdType]:
    """The households registered at the house: on ``as_of`` (time travel, the households
    of that day with their values then), else the current registrations."""
    info.context.require(Role.PERSON_READER)
    loaders = info.context.loaders.households
    if as_of is None:
        return [HouseholdType.from_row(r) for r in await loaders.of_house.load((county, house_id))]
    rows = await loaders.of_house_on.load((county, house_id, as_of))
    return [HouseholdType.from_row(r, as_of) for r in rows]


async def household_of_person(info: Info[RequestContext, None], person_id: int,
                              as_of: dt.date | None) -> HouseholdType | None:
    """The person's household on ``as_of`` (default today), with its kind and house then."""
    info.context.require(Role.PERSON_READER)
    row = await info.context.loaders.households.of_person.load(
        (person_id, as_of or dt.date.today()))
    return HouseholdType.from_row(row, as_of) if row else None


@strawberry.type
class HouseholdSizeCount:
    size: int = strawberry.field(description="Members.")
    households: int


@strawberry.type(description="Households registered at the houses of a region or estate "
                             "(docs/services.md, Households).")
class HouseholdStatistics:
    as_of: dt.date
    min_age: int = strawberry.field(description="The age that counts as elderly.")
    households: int
    by_size: list[HouseholdSizeCount]
    elderly_only: int = strawberry.field(
        description="纯老户: every current member is at least minAge.")
    single_elderly_living_alone: int = strawberry.field(
        description="One-member households aged minAge+ whose member is the only person "
                    "living in their house (a house of the scope).")
    with_children_0_3: int = strawberry.field(
        name="withChildren0To3", description="Households with a member under 3.")


def _target(ctx: RequestContext, region_code: str | None, estate_code: str | None
            ) -> Scope | None:
    """Where the figures count: the region or estate inside the caller's scope (None:
    they lie apart, nothing to count)."""
    if (region_code is None) == (estate_code is None):
        raise InvalidInput(_("give exactly one of regionCode and estateCode"))
    wanted = parse_scope(region_code if region_code is not None else estate_code or "")
    if (region_code is not None) == wanted.is_estate:
        raise InvalidInput(_("regionCode must be a region code, estateCode an estate code"))
    if ctx.scope.covers_scope(wanted):
        return with_county_keys(ctx.session, wanted)
    if wanted.covers_scope(ctx.scope):
        return ctx.scope
    return None


def resolve_household_statistics(info: Info[RequestContext, None],
                                 region_code: str | None = None,
                                 estate_code: str | None = None, as_of: dt.date | None = None,
                                 min_age: int = 60) -> HouseholdStatistics:
    ctx = info.context
    ctx.require(Role.READER)
    if not 0 <= min_age <= 150:
        raise InvalidInput(_("minAge must be between 0 and 150"))
    date = as_of or dt.date.today()
    scope = _target(ctx, region_code, estate_code)
    stats = (household_statistics(ctx.session, scope, as_of=date, min_age=min_age)
             if scope is not None else Figures())  # apart: zeros, like `statistics`
    return HouseholdStatistics(
        as_of=date, min_age=min_age, households=stats.households,
        by_size=[HouseholdSizeCount(size=s, households=n)
                 for s, n in sorted(stats.by_size.items())],
        elderly_only=stats.elderly_only,
        single_elderly_living_alone=stats.elderly_living_alone,
        with_children_0_3=stats.with_children_0_3)


@strawberry.type
class HouseholdQuery:
    household_statistics: HouseholdStatistics = strawberry.field(
        resolver=resolve_household_statistics,
        description="Households of one region (any level) or one estate, inside your scope "
                    "(reader): sizes, 纯老户, elderly living alone, children 0-3.")
