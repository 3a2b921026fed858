"""Estates, buildings and houses as GraphQL types, with their nested traversals.

Nested fields go through the per-request DataLoaders (:mod:`cimhouse.graphql.loaders`), which
apply the principal's scope; the top-level lists live in :mod:`cimhouse.graphql.built_queries`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.graphql.common import Crs, Node, county_key, global_id, to_geojson
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.regions import RegionType
from cimhouse.schema import Building, Estate, House
from cimhouse.schema.vocab import RelationKind, Role
from cimhouse.timetravel.rewind_rows import as_of_select, rewind

if TYPE_CHECKING:
    from cimhouse.graphql.codes import ChangeEntry
    from cimhouse.graphql.households import HouseholdType
    from cimhouse.graphql.people import PersonHouseRelationType

Relation = Annotated["PersonHouseRelationType", strawberry.lazy("cimhouse.graphql.people")]
Change = Annotated["ChangeEntry", strawberry.lazy("cimhouse.graphql.codes")]
HouseholdRef = Annotated["HouseholdType", strawberry.lazy("cimhouse.graphql.households")]
MAX_NESTED = 500


# the vocabulary enum itself, exposed under its GraphQL name (declared once, in schema.vocab)
strawberry.enum(RelationKind, name="RelationKind", description="How a person relates to a house.")
RelationKindEnum = RelationKind


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _nested_limit(first: int | None) -> int:
    return MAX_NESTED if first is None else max(0, min(first, MAX_NESTED))


def _history(info: Info[RequestContext, None], row: Any, kind: str) -> list[Any]:
    from cimhouse.graphql.codes import history_of

    keys = [str(row.id)] + ([row.code] if row.code else [])
    return history_of(info.context.session, row.county, kind, keys)


def rows_on(info: Info[RequestContext, None], model: Any, as_of: dt.date, limit: int,
            *where: Any) -> list[Any]:
    """Rows of ``model`` in scope that existed on ``as_of``, rewound to that day (nested
    fields under an ``asOf`` list; the resolver path, not the batching loaders)."""
    query = as_of_select(model, as_of, info.context.scope).where(*where)
    found = info.context.session.execute(query.order_by(model.county, model.id).limit(limit))
    return [rewind(row, undo) for row, undo in found]


async def _region(info: Info[RequestContext, None], code: str | None) -> RegionType | None:
    if code is None:
        return None
    row = await info.context.loaders.region.load(code)
    return RegionType.from_row(row) if row else None


@strawberry.type(name="Estate", description="A residential estate (小区) or natural village.")
class EstateType(Node):
    row: strawberry.Private[Estate]
    # the asOf of the list that returned it: nested fields default to that day
    as_of: strawberry.Private[dt.date | None] = None
    code: str | None
    name: str
    aliases: list[str]
    kind: str
    address: str | None
    property_company: str | None
    status: str
    region_code: str = strawberry.field(description="Current community (12 digits).")

    @classmethod
    def from_row(cls, row: Estate, as_of: dt.date | None = None) -> EstateType:
        return cls(row=row, as_of=as_of,
                   id=global_id("Estate", county_key(row.county, row.id)),
                   code=row.code, name=row.name, aliases=list(row.aliases or []),
                   kind=row.kind, address=row.address, property_company=row.property_company,
                   status=row.status, region_code=row.region_code)

    @strawberry.field(description="Change history (change_log), oldest first.")
    def history(self, info: Info[RequestContext, None]) -> list[Change]:
        return _history(info, self.row, "estate")

    @strawberry.field(description="Boundary as GeoJSON in the requested CRS.")
    def geometry(self, crs: Crs = Crs.CGCS2000) -> JSON | None:
        return to_geojson(self.row.boundary, crs)

    @strawberry.field
    async def region(self, info: Info[RequestContext, None]) -> RegionType | None:
        return await _region(info, self.row.region_code)

    @strawberry.field(description="Buildings of the estate in scope (at most 500).")
    async def buildings(self, info: Info[RequestContext, None],
                        first: int | None = None) -> list[BuildingType]:
        if self.as_of is not None:
            return [BuildingType.from_row(r, self.as_of) for r in rows_on(
                info, Building, self.as_of, _nested_limit(first),
                Building.county == self.row.county, Building.estate_id == self.row.id)]
        rows = await info.context.loaders.buildings_of_estate.load(
            (self.row.county, self.row.id, _nested_limit(first)))
        return [BuildingType.from_row(r) for r in rows]


@strawberry.type(name="Building", description="A building (幢).")
class BuildingType(Node):
    row: strawberry.Private[Building]
    # the asOf of the list that returned it: nested fields default to that day
    as_of: strawberry.Private[dt.date | None] = None
    code: str | None
    region_code: str
    road: str | None
    door_number: str | None
    building_label: str | None
    address: str | None
    floors_above: int | None
    floors_below: int | None
    height_m: float | None
    structure: str | None
    use: str | None
    year_built: int | None
    status: str

    @classmethod
    def from_row(cls, row: Building, as_of: dt.date | None = None) -> BuildingType:
        return cls(row=row, as_of=as_of,
                   id=global_id("Building", county_key(row.county, row.id)),
                   code=row.code, region_code=row.region_code, road=row.road,
                   door_number=row.door_number, building_label=row.building_label,
                   address=row.address_norm, floors_above=row.floors_above,
                   floors_below=row.floors_below, height_m=_num(row.height_m),
                   structure=row.structure, use=row.use, year_built=row.year_built,
                   status=row.status)

    @strawberry.field(description="Change history (change_log), oldest first.")
    def history(self, info: Info[RequestContext, None]) -> list[Change]:
        return _history(info, self.row, "building")

    @strawberry.field(description="Footprint as GeoJSON in the requested CRS.")
    def geometry(self, crs: Crs = Crs.CGCS2000) -> JSON | None:
        return to_geojson(self.row.footprint, crs)

    @strawberry.field
    async def estate(self, info: Info[RequestContext, None]) -> EstateType | None:
        if self.row.estate_id is None:
            return None
        if self.as_of is not None:
            return next((EstateType.from_row(r, self.as_of) for r in rows_on(
                info, Estate, self.as_of, 1, Estate.county == self.row.county,
                Estate.id == self.row.estate_id)), None)
        row = await info.context.loaders.estate.load((self.row.county, self.row.estate_id))
        return EstateType.from_row(row) if row else None

    @strawberry.field
    async def region(self, info: Info[RequestContext, None]) -> RegionType | None:
        return await _region(info, self.row.region_code)

    @strawberry.field(description="Houses of the building in scope (at most 500).")
    async def houses(self, info: Info[RequestContext, None],
                     first: int | None = None) -> list[HouseType]:
        if self.as_of is not None:
            return [HouseType.from_row(r, self.as_of) for r in rows_on(
                info, House, self.as_of, _nested_limit(first),
                House.county == self.row.county, House.building_id == self.row.id)]
        rows = await info.context.loaders.houses_of_building.load(
            (self.row.county, self.row.id, _nested_limit(first)))
        return [HouseType.from_row(r) for r in rows]


@strawberry.type(name="House", description="A house (户): a dwelling or another unit.")
class HouseType(Node):
    row: strawberry.Private[House]
    # the asOf of the list that returned it: nested fields default to that day
    as_of: strawberry.Private[dt.date | None] = None
    code: str | None
    region_code: str
    unit_label: str | None
    floor_label: str | None
    floor_number: int | None
    room_label: str | None
    area_m2: float | None
    area_source: str | None
    use: str
    status: str
    address: str | None
    realestate_unit_no: str | None

    @classmethod
    def from_row(cls, row: House, as_of: dt.date | None = None) -> HouseType:
        return cls(row=row, as_of=as_of,
                   id=global_id("House", county_key(row.county, row.id)),
                   code=row.code, region_code=row.region_code, unit_label=row.unit_label,
                   floor_label=row.floor_label, floor_number=row.floor_number,
                   room_label=row.room_label, area_m2=_num(row.area_m2),
                   area_source=row.area_source, use=row.use, status=row.status,
                   address=row.address_norm, realestate_unit_no=row.realestate_unit_no)

    @strawberry.field(description="Change history (change_log), oldest first.")
    def history(self, info: Info[RequestContext, None]) -> list[Change]:
        return _history(info, self.row, "house")

    @strawberry.field(description="The register's point for the house (its entrance or "
                                  "building) as GeoJSON in the requested CRS.")
    def location(self, crs: Crs = Crs.CGCS2000) -> JSON | None:
        return to_geojson(self.row.location, crs)

    @strawberry.field
    async def building(self, info: Info[RequestContext, None]) -> BuildingType | None:
        if self.as_of is not None:
            return next((BuildingType.from_row(r, self.as_of) for r in rows_on(
                info, Building, self.as_of, 1, Building.county == self.row.county,
                Building.id == self.row.building_id)), None)
        row = await info.context.loaders.building.load((self.row.county, self.row.building_id))
        return BuildingType.from_row(row) if row else None

    @strawberry.field
    async def region(self, info: Info[RequestContext, None]) -> RegionType | None:
        return await _region(info, self.row.region_code)

    @strawberry.field(description="Relations valid on `asOf` (default today; null date = "
                                  "all, past ones included). Needs person_reader.")
    async def relations(self, info: Info[RequestContext, None],
                        kinds: list[RelationKindEnum] | None = None,
                        as_of: dt.date | None = strawberry.UNSET,
                        all_dates: bool = False) -> list[Relation]:
        return await house_relations(info, self.row, kinds,
                                     self.as_of if as_of is strawberry.UNSET else as_of,
                                     all_dates)

    @strawberry.field(description="Owners (产权人) on `asOf` (default today).")
    async def owners(self, info: Info[RequestContext, None],
                     as_of: dt.date | None = None) -> list[Relation]:
        return await house_relations(info, self.row, [RelationKindEnum.OWNER],
                                     as_of or self.as_of, False)

    @strawberry.field(description="Residents (常住, 户籍) on `asOf` (default today).")
    async def residents(self, info: Info[RequestContext, None],
                        as_of: dt.date | None = None) -> list[Relation]:
        kinds = [RelationKindEnum.RESIDENT, RelationKindEnum.REGISTERED]
        return await house_relations(info, self.row, kinds, as_of or self.as_of, False)

    @strawberry.field(description="Tenants (租住) on `asOf` (default today).")
    async def tenants(self, info: Info[RequestContext, None],
                      as_of: dt.date | None = None) -> list[Relation]:
        return await house_relations(info, self.row, [RelationKindEnum.TENANT],
                                     as_of or self.as_of, False)

    @strawberry.field(description="Households (户) registered at the house (户籍) on `asOf`, "
                                  "with their kind then (docs/feed.md, Time travel; default: "
                                  "the day of the list, else the current registrations). "
                                  "Needs person_reader.")
    async def households(self, info: Info[RequestContext, None],
                         as_of: dt.date | None = None) -> list[HouseholdRef]:
        from cimhouse.graphql.households import households_of_house

        return await households_of_house(info, self.row.county, self.row.id,
                                         as_of or self.as_of)


async def house_relations(info: Info[RequestContext, None], house: House,
                          kinds: list[RelationKindEnum] | None, as_of: Any,
                          all_dates: bool) -> list[Any]:
    from cimhouse.graphql.people import PersonHouseRelationType

    info.context.require(Role.PERSON_READER)
    date = None if all_dates else (as_of or dt.date.today())
    kind_values = tuple(sorted({RelationKind(k.value).value for k in kinds or []}))
    rows = await info.context.loaders.relations_of_house.load(
        (house.county, house.id, date, kind_values))
    return [PersonHouseRelationType.from_row(r) for r in rows]
