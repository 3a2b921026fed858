"""Region queries: browse by level and parent, search by name, one page at a time.

Only regions inside the caller's scope are visible (an estate-scoped caller sees none).
"""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import (
    Connection,
    Node,
    decode_cursor,
    global_id,
    like_pattern,
    make_connection,
    page_size,
)
from cimhouse.graphql.context import RequestContext
from cimhouse.i18n import _
from cimhouse.schema import Region
from cimhouse.schema.vocab import Role
from cimhouse.scope import scope_filter


@strawberry.type(name="Region", description="An administrative region, levels 1-5.")
class RegionType(Node):
    code: str = strawberry.field(description="Native statistical code (2/4/6/9/12 digits).")
    code12: str = strawberry.field(description="The code right-padded with 0 to 12 digits.")
    name: str
    level: int = strawberry.field(description="1 province, 2 city, 3 county, 4 town, "
                                              "5 community/village.")
    parent_code: str | None

    @classmethod
    def from_row(cls, row: Region) -> RegionType:
        return cls(id=global_id("Region", row.code), code=row.code, code12=row.code12,
                   name=row.name, level=row.level, parent_code=row.parent_code)


def resolve_regions(info: Info[RequestContext, None], level: int | None = None,
                    parent_code: str | None = None, name_contains: str | None = None,
                    first: int | None = 50, after: str | None = None
                    ) -> Connection[RegionType]:
    ctx = info.context
    ctx.require(Role.READER)
    limit = page_size(first, ctx.settings)
    query = select(Region).where(Region.valid_to.is_(None), scope_filter(Region, ctx.scope))
    if level is not None:
        if not 1 <= level <= 5:
            raise InvalidInput(_("level must be 1-5"))
        query = query.where(Region.level == level)
    if parent_code is not None:
        query = query.where(Region.parent_code == parent_code)
    if name_contains:
        query = query.where(Region.name.like(like_pattern(name_contains), escape="\\"))
    counted = query
    if after:
        query = query.where(Region.code > decode_cursor(after, "region"))
    rows = ctx.session.scalars(query.order_by(Region.code).limit(limit + 1)).all()

    def count() -> int:
        return int(ctx.session.scalar(select(func.count()).select_from(
            counted.with_only_columns(Region.code).subquery())) or 0)

    return make_connection(rows, limit, "region", lambda r: r.code, RegionType.from_row,
                           count_query=count)


def resolve_region(info: Info[RequestContext, None], code: str) -> RegionType | None:
    ctx = info.context
    ctx.require(Role.READER)
    row = ctx.session.scalar(select(Region).where(Region.code == code.strip(),
                                                  scope_filter(Region, ctx.scope)))
    return RegionType.from_row(row) if row else None


@strawberry.type
class RegionQuery:
    regions: Connection[RegionType] = strawberry.field(
        resolver=resolve_regions, description="Current regions in scope, paged by code.")
    region: RegionType | None = strawberry.field(
        resolver=resolve_region, description="One region by its native code.")
