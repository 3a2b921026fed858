"""``changes``: the change feed over GraphQL, resumable by cursor, scoped and masked in SQL.

The resolver numbers what committed since the last poll (:func:`stamp_changes`, skipped when
another stamper is at it) and reads one page with :func:`read_changes`: the principal's scope
(or the narrower ``regionCode``) filters in SQL, persons and households need
``person_reader``. Not compiled: it takes the counted resolver fallback
(cimhouse/graphql/compiled/). Cursor design: docs/feed.md.

Example::

    { changes(after: "1041", first: 100, kinds: [HOUSE, CODE], regionCode: "330402") {
        changes { cursor kind objectId operation at current } endCursor hasMore } }
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import cast

import strawberry
from sqlalchemy import Engine
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.feed.read_changes import Change, parse_cursor, read_changes
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.graphql.context import RequestContext
from cimhouse.schema.vocab import Role
from cimhouse.scope import with_county_keys

STAMP_PER_REQUEST = 20_000


@strawberry.enum(name="FeedKind", description="What a change is about.")
class ChangeKind(Enum):
    ESTATE = "estate"
    BUILDING = "building"
    HOUSE = "house"
    FACILITY = "facility"
    PERSON_HOUSE = "person_house"
    PERSON = "person"
    HOUSEHOLD = "household"
    HOUSEHOLD_MEMBER = "household_member"
    REGION = "region"
    CODE = "code"


@strawberry.type(name="FeedChange", description="One committed change, in feed order.")
class ChangeType:
    cursor: str = strawberry.field(description="Pass as `after` to resume after this change.")
    kind: ChangeKind
    object_id: str = strawberry.field(description="The object's code, or its id if uncoded "
                                                  "(a region: its code).")
    operation: str = strawberry.field(description="insert, update, delete; for CODE the "
                                                  "lineage event: issue, retire, split, merge, "
                                                  "relabel, region_change.")
    at: dt.datetime = strawberry.field(description="When the change was recorded.")
    actor: str | None
    source: str | None
    region_code: str | None = strawberry.field(
        description="The object's community when the change was numbered.")
    previous: JSON | None = strawberry.field(description="Values before (masked).")
    current: JSON | None = strawberry.field(description="Values after (masked).")

    @classmethod
    def from_change(cls, c: Change) -> ChangeType:
        return cls(cursor=c.cursor, kind=ChangeKind(c.kind), object_id=c.object_id,
                   operation=c.operation, at=c.at, actor=c.actor, source=c.source,
                   region_code=c.region_code, previous=cast(JSON, c.previous),
                   current=cast(JSON, c.current))


@strawberry.type(name="FeedPage", description="A page of the change feed.")
class ChangePageType:
    changes: list[ChangeType]
    end_cursor: str = strawberry.field(description="Store it; pass it as `after` next time.")
    has_more: bool


def resolve_changes(info: Info[RequestContext, None], after: str | None = None,
                    first: int = 100, kinds: list[ChangeKind] | None = None,
                    region_code: str | None = None) -> ChangePageType:
    ctx = info.context
    ctx.require(Role.READER)
    scope = ctx.scope
    if region_code:
        scope = with_county_keys(ctx.session, ctx.narrow_scope(region_code))
    start = parse_cursor(after)
    bind = ctx.session.get_bind()
    if isinstance(bind, Engine):
        # Bounded per request (the request's deadline); another stamper at work: read up to
        # its mark.
        stamp_changes(bind, wait=False, limit=STAMP_PER_REQUEST)
    page = read_changes(ctx.session, scope=scope, after=start, first=first,
                        kinds=[k.value for k in kinds] if kinds else None,
                        with_persons=ctx.can(Role.PERSON_READER))
    return ChangePageType(changes=[ChangeType.from_change(c) for c in page.changes],
                          end_cursor=page.end_cursor, has_more=page.has_more)


@strawberry.type
class FeedQuery:
    changes: ChangePageType = strawberry.field(
        resolver=resolve_changes,
        description="Every committed change after `after`, oldest first, in scope: a "
                    "consumer that stores `endCursor` and polls never misses or repeats one "
                    "(docs/feed.md). `first` 1-1000.")
