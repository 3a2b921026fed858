"""``searchAddresses``: houses by an address as people type it, ranked, within the scope.

The search itself is :func:`cimhouse.addressing.search_addresses.search_addresses`; both of
its statements carry ``scope_filter`` (estates, then houses), so a candidate outside the
caller's scope is never read. ``house`` goes through the scoped house loader.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from cimhouse.addressing.search_addresses import MAX_FIRST, AddressCandidate, search_addresses
from cimhouse.graphql.built import HouseType
from cimhouse.graphql.common import county_key, global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.schema.vocab import Role


@strawberry.enum(description="A part of a typed address that agrees with the candidate.")
class AddressPart(Enum):
    REGION = "region"
    ESTATE = "estate"
    ESTATE_ALIAS = "estate_alias"
    ESTATE_FUZZY = "estate_fuzzy"
    BUILDING = "building"
    UNIT = "unit"
    FLOOR = "floor"
    ROOM = "room"


@strawberry.type(name="AddressCandidate",
                 description="A house the typed text may mean, with how well it matches.")
class AddressCandidateType:
    candidate: strawberry.Private[AddressCandidate]
    id: strawberry.ID = strawberry.field(description="The house's node id.")
    code: str | None = strawberry.field(
        description="The house code (null until codes are assigned).")
    score: float = strawberry.field(
        description="0-1: the weighted share of the typed parts that agree (1 = all).")
    matched: list[AddressPart] = strawberry.field(
        description="Typed parts that agree. ESTATE_ALIAS: an alias or former name; "
                    "ESTATE_FUZZY: a near spelling (a typo).")
    address: str | None = strawberry.field(description="The stored normalised address.")
    region_code: str
    estate_name: str
    estate_code: str | None
    building: str | None = strawberry.field(description="Building label as stored (3幢).")
    unit: str | None
    floor: int | None
    room: str | None

    @classmethod
    def from_candidate(cls, found: AddressCandidate) -> AddressCandidateType:
        return cls(candidate=found, id=global_id("House", county_key(found.county,
                                                                      found.house_id)),
                   code=found.code, score=found.score,
                   matched=[AddressPart(p) for p in found.matched], address=found.address,
                   region_code=found.region_code, estate_name=found.estate_name,
                   estate_code=found.estate_code, building=found.building, unit=found.unit,
                   floor=found.floor, room=found.room)

    @strawberry.field(description="The house itself.")
    async def house(self, info: Info[RequestContext, None]) -> HouseType | None:
        row = await info.context.loaders.house.load((self.candidate.county,
                                                     self.candidate.house_id))
        return HouseType.from_row(row) if row else None


def resolve_search_addresses(info: Info[RequestContext, None], text: str,
                             first: int = 10) -> list[AddressCandidateType]:
    ctx = info.context
    ctx.require(Role.READER)
    found = search_addresses(ctx.session, text, scope=ctx.scope, first=first)
    return [AddressCandidateType.from_candidate(c) for c in found.candidates]


@strawberry.type
class SearchQuery:
    search_addresses: list[AddressCandidateType] = strawberry.field(
        resolver=resolve_search_addresses,
        description="Houses in scope matching a typed address (怡景府1-1-201, 恰景府1幢, "
                    f"南湖区梅花苑三栋二单元五〇一室), best first; `first` 1-{MAX_FIRST}.")
