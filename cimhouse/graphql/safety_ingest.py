"""``safetyIngestStatistics``: what the ingesters (MQTT, HTTP) received, stored and refused.

The counts are kept per county, source and UTC day (``reading_ingest_count``) with the
refused readings beside them (``reading_reject``), so a caller sees the counties that lie
wholly inside both its scope and ``regionCode``
(:func:`cimhouse.safety.ingest_log.whole_counties`); a street, community or estate scope
sees none. The filter is a ``county = ANY(...)`` in every statement. Not compiled: the
counted fallback of the compiled path (a small operational read).

Example::

    { safetyIngestStatistics(regionCode: "3304", from: "2026-12-01", to: "2026-12-02") {
        counties total { received stored malformed unknownDevice duplicate outOfOrder }
        bySource { source county received stored }
        rejects { reason reasonText count } } }
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from cimhouse.errors import InvalidInput
from cimhouse.graphql.context import RequestContext
from cimhouse.i18n import _
from cimhouse.safety.ingest_log import COUNTS, ingest_status, whole_counties
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope, parse_scope

#: the longest range one request may span (rows grow with the days)
MAX_DAYS = 366


@strawberry.type(name="IngestCounts", description="Readings received and what became of "
                                                   "them: received = stored + malformed + "
                                                   "unknownDevice + duplicate.")
class IngestCounts:
    received: int
    stored: int
    malformed: int
    unknown_device: int
    duplicate: int
    out_of_order: int = strawberry.field(description="Stored, but older than what the "
                                                     "device had sent before.")


@strawberry.type(name="IngestSourceCounts", description="The counts of one source "
                                                        "(mqtt, http) in one county.")
class IngestSourceCounts(IngestCounts):
    source: str
    county: str


@strawberry.type(name="IngestDayCounts", description="The counts of one UTC day.")
class IngestDayCounts(IngestCounts):
    day: dt.date


@strawberry.type(name="IngestRejectReason", description="Refused readings of one reason.")
class IngestRejectReason:
    reason: str
    reason_text: str = strawberry.field(description="中文 / English.")
    count: int


@strawberry.type(name="IngestReject", description="One refused reading.")
class IngestReject:
    received_at: dt.datetime
    source: str
    county: str
    reason: str
    device: str | None
    topic: str | None
    payload: str | None = strawberry.field(description="Its first 500 characters.")


@strawberry.type(name="SafetyIngestStatistics")
class SafetyIngestStatistics:
    since: dt.date = strawberry.field(name="from")
    until: dt.date = strawberry.field(name="to")
    counties: list[str] = strawberry.field(description="The counties counted: those wholly "
                                                       "inside your scope and the region.")
    total: IngestCounts
    by_source: list[IngestSourceCounts]
    by_day: list[IngestDayCounts]
    rejects: list[IngestRejectReason]
    latest_rejects: list[IngestReject]


def _counts(row: dict[str, Any]) -> dict[str, int]:
    return {name: int(row[name] or 0) for name in COUNTS}


def _target(ctx: RequestContext, region_code: str) -> Scope | None:
    """The region inside the caller's scope (None: they lie apart, nothing to count)."""
    wanted = parse_scope(region_code)
    if wanted.is_estate:
        raise InvalidInput(_("regionCode must be a region code"))
    if ctx.scope.covers_scope(wanted):
        return wanted
    if wanted.covers_scope(ctx.scope):
        return ctx.scope
    return None


def resolve_ingest_statistics(
        info: Info[RequestContext, None], region_code: str,
        since: Annotated[dt.date, strawberry.argument(name="from")],
        until: Annotated[dt.date, strawberry.argument(name="to")],
        latest: int = 10) -> SafetyIngestStatistics:
    ctx = info.context
    ctx.require(Role.READER)
    if not dt.timedelta(0) <= until - since < dt.timedelta(days=MAX_DAYS):
        raise InvalidInput(_("from must not be after to, and the range at most {n} days",
                             n=MAX_DAYS))
    if not 0 <= latest <= 100:
        raise InvalidInput(_("latest must be between 0 and 100"))
    target = _target(ctx, region_code)
    counties = whole_counties(ctx.session, target) if target is not None else []
    status = ingest_status(ctx.session, since=since, until=until, counties=counties or [],
                           recent=latest)
    by_source = [IngestSourceCounts(source=r["source"], county=r["county"], **_counts(r))
                 for r in status["counts"]]
    total = {name: sum(getattr(r, name) for r in by_source) for name in COUNTS}
    return SafetyIngestStatistics(
        since=since, until=until, counties=counties or [], total=IngestCounts(**total),
        by_source=by_source,
        by_day=[IngestDayCounts(day=dt.date.fromisoformat(r["day"]), **_counts(r))
                for r in status["days"]],
        rejects=[IngestRejectReason(reason=r["reason"], reason_text=r["reason_text"],
                                    count=int(r["n"])) for r in status["rejects"]],
        latest_rejects=[IngestReject(
            received_at=dt.datetime.fromisoformat(r["received_at"]), source=r["source"],
            county=r["county"], reason=r["reason"], device=r["device"], topic=r["topic"],
            payload=r["payload"]) for r in status["latest_rejects"]])


@strawberry.type
class SafetyIngestQuery:
    safety_ingest_statistics: SafetyIngestStatistics = strawberry.field(
        resolver=resolve_ingest_statistics,
        description="What the readings' ingesters received, stored and refused from one UTC "
                    "day to another (both included), in the counties wholly inside your "
                    "scope and the region (reader).")
