"""Top-level lists of estates, buildings and houses: filters, spatial predicates, paging.

Every query starts from ``scope_filter(Model, ctx.scope)``; filters only narrow it further.
With ``asOf`` the rows are those that existed on that day, with their values then
(:mod:`cimhouse.timetravel.rewind_rows`); status, use/kind and regionCode filter by the
values on that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import aliased
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.built import BuildingType, EstateType, HouseType
from cimhouse.graphql.common import (
    BBoxInput,
    Connection,
    Crs,
    NearInput,
    after_county_id,
    bbox_clause,
    county_key,
    like_pattern,
    make_connection,
    near_clause,
    page_size,
    polygon_clause,
)
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.loaders import lean_options
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, House
from cimhouse.schema.vocab import Role
from cimhouse.scope import REGION_LEVEL_BY_LENGTH, prefix_range, scope_filter
from cimhouse.timetravel.rewind_rows import existed_on, rewind, undo_changes, value_on


@strawberry.input(description="Narrow a list; every field is optional and they combine "
                              "with AND. Spatial inputs are in `crs` (CGCS2000 default).")
class BuiltFilter:
    region_code: str | None = strawberry.field(
        default=None, description="Current region, any level (2/4/6/9/12 digits).")
    code_prefix: str | None = strawberry.field(
        default=None, description="Code starts with these characters.")
    text: str | None = strawberry.field(
        default=None, description="Substring of name, alias or address.")
    status: list[str] | None = None
    use: list[str] | None = strawberry.field(
        default=None, description="House/building use (estates: kind).")
    estate_code: str | None = None
    building_code: str | None = None
    bbox: BBoxInput | None = None
    polygon: JSON | None = strawberry.field(
        default=None, description="GeoJSON Polygon/MultiPolygon the object intersects.")
    polygon_crs: Crs = Crs.CGCS2000
    near: NearInput | None = None


def _region_clause(model: Any, code: str, undo: Any = None) -> ColumnElement[bool]:
    if not code.isdigit() or len(code) not in REGION_LEVEL_BY_LENGTH:
        raise InvalidInput(_("regionCode must be a 2, 4, 6, 9 or 12-digit region code"))
    return prefix_range(_on(model.region_code, undo), code)


def _on(column: Any, undo: Any) -> Any:
    """``column`` now, or on the ``asOf`` day when ``undo`` (the undo JSON column) is given."""
    return column if undo is None else value_on(column, undo)


def _code_prefix(model: Any, prefix: str) -> ColumnElement[bool]:
    from cimhouse.coding.house_code import normalize

    clean = normalize(prefix)
    if not clean or len(clean) > 25 or not clean.replace("X", "").isdigit():
        raise InvalidInput(_("codePrefix must be 1-25 digits (X only as a check character)"))
    return model.code.startswith(clean, autoescape=True)  # type: ignore[no-any-return]


def _spatial(query: Select[Any], column: Any, flt: BuiltFilter) -> Select[Any]:
    if flt.bbox is not None:
        query = query.where(bbox_clause(column, flt.bbox))
    if flt.polygon is not None:
        query = query.where(polygon_clause(column, flt.polygon, flt.polygon_crs))
    if flt.near is not None:
        query = query.where(near_clause(column, flt.near))
    return query


def _common(query: Select[Any], model: Any, flt: BuiltFilter, undo: Any) -> Select[Any]:
    if flt.region_code:
        query = query.where(_region_clause(model, flt.region_code, undo))
    if flt.code_prefix:
        query = query.where(_code_prefix(model, flt.code_prefix))
    if flt.status:
        query = query.where(_on(model.status, undo).in_(flt.status))
    return query


def _estate_of(model: Any, code: str) -> ColumnElement[bool]:
    est = aliased(Estate)
    return exists(select(1).where(est.county == model.county, est.id == model.estate_id,
                                  est.code == code.strip().upper()))


def _building_of(model: Any, code: str) -> ColumnElement[bool]:
    bld = aliased(Building)
    return exists(select(1).where(bld.county == model.county, bld.id == model.building_id,
                                  bld.code == code.strip().upper()))


def estate_query(flt: BuiltFilter, undo: Any = None) -> Select[Any]:
    """The estates matching ``flt`` (``undo``: filter by the values on the ``asOf`` day)."""
    query = _common(select(Estate), Estate, flt, undo)
    if flt.text:
        pattern = like_pattern(flt.text)
        query = query.where(or_(Estate.name.ilike(pattern, escape="\\"),
                                Estate.address.ilike(pattern, escape="\\"),
                                func.array_to_string(Estate.aliases, " ").ilike(
                                    pattern, escape="\\")))
    if flt.use:
        query = query.where(_on(Estate.kind, undo).in_(flt.use))
    if flt.estate_code:
        query = query.where(Estate.code == flt.estate_code.strip().upper())
    return _spatial(query, Estate.boundary, flt)


def building_query(flt: BuiltFilter, undo: Any = None) -> Select[Any]:
    """The buildings matching ``flt`` (``undo``: filter by the values on the ``asOf`` day)."""
    query = _common(select(Building), Building, flt, undo)
    if flt.text:
        pattern = like_pattern(flt.text)
        query = query.where(or_(Building.address_norm.ilike(pattern, escape="\\"),
                                Building.road.ilike(pattern, escape="\\")))
    if flt.use:
        query = query.where(_on(Building.use, undo).in_(flt.use))
    if flt.estate_code:
        query = query.where(_estate_of(Building, flt.estate_code))
    return _spatial(query, Building.footprint, flt)


def house_query(flt: BuiltFilter, undo: Any = None) -> Select[Any]:
    """The houses matching ``flt`` (``undo``: filter by the values on the ``asOf`` day)."""
    query = _common(select(House), House, flt, undo)
    if flt.text:
        query = query.where(House.address_norm.ilike(like_pattern(flt.text), escape="\\"))
    if flt.use:
        query = query.where(_on(House.use, undo).in_(flt.use))
    if flt.building_code:
        query = query.where(_building_of(House, flt.building_code))
    if flt.estate_code:
        bld = aliased(Building)
        query = query.where(exists(select(1).where(
            bld.county == House.county, bld.id == House.building_id,
            _estate_of(bld, flt.estate_code))))
    if flt.bbox or flt.polygon or flt.near:
        # Houses are located by their building's footprint.
        bld = aliased(Building)
        located = _spatial(select(1).where(bld.county == House.county,
                                           bld.id == House.building_id), bld.footprint, flt)
        query = query.where(exists(located))
    return query


def _page(info: Info[RequestContext, None], model: Any, build: Callable[..., Select[Any]],
          kind: str, first: int | None, after: str | None, node: Callable[..., Any],
          as_of: dt.date | None) -> Connection[Any]:
    ctx = info.context
    ctx.require(Role.READER)
    undo = None if as_of is None else undo_changes(model, as_of, ctx.scope.county_keys)
    query = build(None if undo is None else undo.c.undo)
    query = query.where(scope_filter(model, ctx.scope)).options(*lean_options(model))
    if undo is not None and as_of is not None:
        query = query.add_columns(undo.c.undo).outerjoin(
            undo, (undo.c.county == model.county) & (undo.c.id == model.id)).where(
            existed_on(model, undo.c.undo, as_of))
    limit = page_size(first, ctx.settings)
    keyset = after_county_id(model, after, kind)
    paged = query if keyset is None else query.where(keyset)
    found = ctx.session.execute(paged.order_by(model.county, model.id).limit(limit + 1)).all()
    rows = [row[0] if undo is None else rewind(row[0], row[1]) for row in found]

    def count() -> int:
        return int(ctx.session.scalar(select(func.count()).select_from(
            query.with_only_columns(model.id).subquery())) or 0)

    def typed(row: Any) -> Any:
        return node(row) if as_of is None else node(row, as_of=as_of)

    return make_connection(rows, limit, kind, lambda r: county_key(r.county, r.id), typed,
                           count_query=count)


AS_OF = "The state valid on this day (docs/feed.md, Time travel); default: now, unfiltered."


def resolve_estates(info: Info[RequestContext, None], filter: BuiltFilter | None = None,
                    first: int | None = 50, after: str | None = None,
                    as_of: Annotated[dt.date | None, strawberry.argument(
                        description=AS_OF)] = None) -> Connection[EstateType]:
    flt = filter or BuiltFilter()
    return _page(info, Estate, lambda undo: estate_query(flt, undo), "estate", first, after,
                 EstateType.from_row, as_of)


def resolve_buildings(info: Info[RequestContext, None], filter: BuiltFilter | None = None,
                      first: int | None = 50, after: str | None = None,
                      as_of: Annotated[dt.date | None, strawberry.argument(
                          description=AS_OF)] = None) -> Connection[BuildingType]:
    flt = filter or BuiltFilter()
    return _page(info, Building, lambda undo: building_query(flt, undo), "building", first,
                 after, BuildingType.from_row, as_of)


def resolve_houses(info: Info[RequestContext, None], filter: BuiltFilter | None = None,
                   first: int | None = 50, after: str | None = None,
                   as_of: Annotated[dt.date | None, strawberry.argument(
                       description=AS_OF)] = None) -> Connection[HouseType]:
    flt = filter or BuiltFilter()
    return _page(info, House, lambda undo: house_query(flt, undo), "house", first, after,
                 HouseType.from_row, as_of)


@strawberry.type
class BuiltQuery:
    estates: Connection[EstateType] = strawberry.field(
        resolver=resolve_estates, description="Estates in scope, paged by id.")
    buildings: Connection[BuildingType] = strawberry.field(
        resolver=resolve_buildings, description="Buildings in scope, paged by id.")
    houses: Connection[HouseType] = strawberry.field(
        resolver=resolve_houses, description="Houses in scope, paged by id.")
