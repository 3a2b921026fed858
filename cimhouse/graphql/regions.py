"""Region queries: browse by level and parent, search by name, one page at a time."""

from __future__ import annotations

import base64

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.context import RequestContext
from cimhouse.schema import Region


@strawberry.type(name="Region", description="An administrative region, levels 1-5.")
class RegionType:
    code: str = strawberry.field(description="Native statistical code (2/4/6/9/12 digits).")
    code12: str = strawberry.field(description="The code right-padded with 0 to 12 digits.")
    name: str
    level: int = strawberry.field(description="1 province, 2 city, 3 county, 4 town, "
                                              "5 community/village.")
    parent_code: str | None

    @classmethod
    def from_row(cls, row: Region) -> RegionType:
        return cls(code=row.code, code12=row.code12, name=row.name, level=row.level,
                   parent_code=row.parent_code)


@strawberry.type
class RegionEdge:
    cursor: str
    node: RegionType


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RegionConnection:
    edges: list[RegionEdge]
    page_info: PageInfo


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(f"region:{value}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        kind, value = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None
    if kind != "region":
        raise InvalidInput("invalid cursor")
    return value


def resolve_regions(info: Info[RequestContext, None], level: int | None = None,
                    parent_code: str | None = None, name_contains: str | None = None,
                    first: int = 50, after: str | None = None) -> RegionConnection:
    ctx = info.context
    limit = max(1, min(first, ctx.settings.max_page_size))
    query = select(Region).where(Region.valid_to.is_(None)).order_by(Region.code)
    if level is not None:
        query = query.where(Region.level == level)
    if parent_code is not None:
        query = query.where(Region.parent_code == parent_code)
    if name_contains:
        query = query.where(Region.name.contains(name_contains, autoescape=True))
    if after:
        query = query.where(Region.code > decode_cursor(after))
    rows = ctx.session.scalars(query.limit(limit + 1)).all()
    page = rows[:limit]
    edges = [RegionEdge(cursor=encode_cursor(r.code), node=RegionType.from_row(r)) for r in page]
    return RegionConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(rows) > limit,
                           end_cursor=edges[-1].cursor if edges else None),
    )


def resolve_region(info: Info[RequestContext, None], code: str) -> RegionType | None:
    row = info.context.session.get(Region, code)
    return RegionType.from_row(row) if row else None
