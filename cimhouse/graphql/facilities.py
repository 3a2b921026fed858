"""Public-service facilities: by category and region, within N metres, nearest to an estate."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from geoalchemy2 import WKBElement
from sqlalchemy import Select, func, select
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.graphql.common import (
    Connection,
    Crs,
    NearInput,
    Node,
    after_county_id,
    county_key,
    global_id,
    make_connection,
    near_clause,
    page_size,
    to_geojson,
)
from cimhouse.graphql.context import RequestContext
from cimhouse.schema import Building, Estate, Facility
from cimhouse.schema.vocab import Role
from cimhouse.scope import prefix_range, scope_filter
from cimhouse.timetravel.rewind_rows import existed_on, rewind, undo_changes

MAX_NEAREST = 50


@strawberry.type(name="Facility", description="A public-service facility.")
class FacilityType(Node):
    row: strawberry.Private[Facility]
    name: str
    category: str
    subtype: str | None
    capacity: int | None
    address: str | None
    status: str
    region_code: str | None

    @classmethod
    def from_row(cls, row: Facility) -> FacilityType:
        return cls(row=row, id=global_id("Facility", county_key(row.county, row.id)),
                   name=row.name, category=row.category, subtype=row.subtype,
                   capacity=row.capacity, address=row.address, status=row.status,
                   region_code=row.region_code)

    @strawberry.field(description="Location as GeoJSON in the requested CRS.")
    def geometry(self, crs: Crs = Crs.CGCS2000) -> JSON | None:
        return to_geojson(self.row.geom, crs)


@strawberry.type
class FacilityDistance:
    facility: FacilityType
    distance_m: float = strawberry.field(description="Geodesic distance in metres.")


def _base(info: Info[RequestContext, None], category: list[str] | None,
          region_code: str | None) -> Select[Any]:
    ctx = info.context
    ctx.require(Role.READER)
    query = select(Facility).where(scope_filter(Facility, ctx.scope))
    if category:
        query = query.where(Facility.category.in_(category))
    if region_code:
        from cimhouse.graphql.built_queries import _region_clause

        query = query.where(_region_clause(Facility, region_code))
    return query


def resolve_facilities(info: Info[RequestContext, None], category: list[str] | None = None,
                       region_code: str | None = None, near: NearInput | None = None,
                       first: int | None = 50, after: str | None = None,
                       as_of: Annotated[dt.date | None, strawberry.argument(
                           description="The facilities that existed on this day, with "
                                       "their values then (docs/feed.md, Time travel).")
                       ] = None) -> Connection[FacilityType]:
    ctx = info.context
    query = _base(info, category, region_code)
    if near is not None:
        query = query.where(near_clause(Facility.geom, near))
    if as_of is not None:
        # category and region filter by today's values: facilities rarely change them
        undo = undo_changes(Facility, as_of, ctx.scope.county_keys)
        query = query.add_columns(undo.c.undo).outerjoin(
            undo, (undo.c.county == Facility.county) & (undo.c.id == Facility.id)).where(
            existed_on(Facility, undo.c.undo, as_of))
    limit = page_size(first, ctx.settings)
    keyset = after_county_id(Facility, after, "facility")
    paged = query if keyset is None else query.where(keyset)
    found = ctx.session.execute(paged.order_by(Facility.county, Facility.id)
                                .limit(limit + 1)).all()
    rows = [row[0] if as_of is None else rewind(row[0], row[1]) for row in found]

    def count() -> int:
        return int(ctx.session.scalar(select(func.count()).select_from(
            query.with_only_columns(Facility.id).subquery())) or 0)

    return make_connection(rows, limit, "facility", lambda r: county_key(r.county, r.id),
                           FacilityType.from_row, count_query=count)


def estate_location(info: Info[RequestContext, None], estate_code: str) -> WKBElement | None:
    """A point for an estate in scope: its boundary's, else its buildings' centroid."""
    ctx = info.context
    estate = ctx.session.scalar(select(Estate).where(Estate.code == estate_code.strip().upper(),
                                                     scope_filter(Estate, ctx.scope)))
    if estate is None:
        return None
    if estate.boundary is not None:
        return ctx.session.scalar(select(func.ST_PointOnSurface(Estate.boundary)).where(
            Estate.county == estate.county, Estate.id == estate.id))
    return ctx.session.scalar(select(func.ST_Centroid(func.ST_Collect(Building.footprint)))
                              .where(Building.county == estate.county,
                                     Building.estate_id == estate.id,
                                     Building.footprint.is_not(None)))


def resolve_nearest(info: Info[RequestContext, None], estate_code: str,
                    category: list[str] | None = None, region_code: str | None = None,
                    first: int = 5) -> list[FacilityDistance]:
    """Facilities in scope nearest to an estate (empty when the estate is unknown/unlocated)."""
    ctx = info.context
    query = _base(info, category, region_code).where(Facility.geom.is_not(None))
    point = estate_location(info, estate_code)
    if point is None:
        return []
    limit = max(1, min(first, MAX_NEAREST))
    target = func.ST_GeomFromEWKB(point)
    distance = func.ST_Distance(func.geography(Facility.geom), func.geography(target))
    # KNN on the degree index narrows the candidates; exact metres then decide the order.
    candidates = query.order_by(Facility.geom.op("<->")(target)).limit(limit * 4 + 20) \
        .subquery()
    fac = select(Facility, distance.label("d")).join(
        candidates, (candidates.c.county == Facility.county) & (candidates.c.id == Facility.id))
    rows = ctx.session.execute(fac.order_by("d", Facility.id).limit(limit)).all()
    return [FacilityDistance(facility=FacilityType.from_row(f), distance_m=round(float(d), 2))
            for f, d in rows]


@strawberry.type
class FacilityQuery:
    facilities: Connection[FacilityType] = strawberry.field(
        resolver=resolve_facilities,
        description="Facilities in scope by category, region and distance from a point.")
    nearest_facilities: list[FacilityDistance] = strawberry.field(
        resolver=resolve_nearest, description="Facilities nearest to an estate, in metres.")


__all__ = ["FacilityQuery", "FacilityType", "prefix_range"]
