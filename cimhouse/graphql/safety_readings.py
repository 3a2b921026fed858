"""``safetyReadings``: readings per hour or day (``date_bin``) in your scope, with filters.

Example::

    { safetyReadings(bucket: HOUR, since: "2026-12-01T00:00:00+08:00",
                     until: "2026-12-02T00:00:00+08:00", metric: "gas_lel") {
        start metric readings minimum maximum average total } }
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.types import Info

from cimhouse.graphql.context import RequestContext
from cimhouse.safety.aggregate_readings import aggregate_readings
from cimhouse.schema.vocab import DeviceKind, Role


@strawberry.enum(name="ReadingBucket", description="The width of an aggregation bucket.")
class Bucket(Enum):
    HOUR = "hour"
    DAY = "day"


@strawberry.type(name="ReadingAggregate", description="Readings of one bucket and metric.")
class ReadingAggregateType:
    start: dt.datetime
    metric: str
    readings: int
    minimum: float
    maximum: float
    average: float
    total: float


@strawberry.type
class SafetyReadingsQuery:
    @strawberry.field(description="Readings of the devices in your scope per hour or day "
                                  "(China time), at most 1,488 buckets per request.")
    def safety_readings(self, info: Info[RequestContext, None], bucket: Bucket,
                        since: dt.datetime, until: dt.datetime, metric: str | None = None,
                        device_kind: DeviceKind | None = None, house_code: str | None = None,
                        device_uid: str | None = None) -> list[ReadingAggregateType]:
        ctx = info.context
        ctx.require(Role.READER)
        rows = aggregate_readings(
            ctx.session, ctx.scope, bucket=bucket.value, since=since, until=until,
            metric=metric, device_kind=device_kind.value if device_kind else None,
            house_code=house_code, device_uid=device_uid)
        return [ReadingAggregateType(start=r.start, metric=r.metric, readings=r.readings,
                                     minimum=r.minimum, maximum=r.maximum, average=r.average,
                                     total=r.total) for r in rows]
