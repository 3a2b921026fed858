"""The root GraphQL schema."""

from __future__ import annotations

import strawberry
from strawberry.extensions import QueryDepthLimiter

from cimhouse.graphql.regions import RegionConnection, RegionType, resolve_region, resolve_regions


@strawberry.type
class Query:
    regions: RegionConnection = strawberry.field(
        resolver=resolve_regions, description="Current regions, filtered and paged by code.")
    region: RegionType | None = strawberry.field(
        resolver=resolve_region, description="One region by its native code.")


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, extensions=[lambda: QueryDepthLimiter(max_depth=10)])
