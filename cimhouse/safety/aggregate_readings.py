"""Readings summed up per hour or per day (``date_bin``), in a scope, with filters.

One grouped statement over the monthly partitions (the time range prunes them; the BRIN
index on ``ts`` finds the blocks). Buckets start at China-time hours and midnights
(``date_bin``'s origin is 2000-01-01 00:00+08). A range is bounded (:data:`MAX_BUCKETS`) so
one request cannot ask for years of hourly buckets. On Citus the partial aggregates run on
the shards and are merged on the coordinator (count, min, max, sum, avg all merge).

Example::

    rows = aggregate_readings(session, scope, bucket="hour", metric="gas_lel",
                              since=dt.datetime(2026, 12, 1, tzinfo=CHINA),
                              until=dt.datetime(2026, 12, 2, tzinfo=CHINA))
    rows[0]   # ReadingBucket(start=..., metric='gas_lel', readings=12, minimum=0.0, ...)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, literal, select, text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.safety.rules import METRICS, READING
from cimhouse.schema import Device, House
from cimhouse.schema.vocab import DeviceKind
from cimhouse.scope import Scope, scope_filter

STEPS = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
MAX_BUCKETS = 24 * 62  # two months of hours, or about four years of days


@dataclass(frozen=True)
class ReadingBucket:
    start: dt.datetime
    metric: str
    readings: int
    minimum: float
    maximum: float
    average: float
    total: float


def aggregate_readings(session: Session, scope: Scope | None, *, bucket: str,
                       since: dt.datetime, until: dt.datetime, metric: str | None = None,
                       device_kind: str | None = None, house_code: str | None = None,
                       device_uid: str | None = None) -> list[ReadingBucket]:
    if bucket not in STEPS:
        raise InvalidInput(_("bucket must be hour or day"))
    if since.tzinfo is None or until.tzinfo is None or until <= since:
        raise InvalidInput(_("since and until need a timezone, and since < until"))
    if (until - since) / STEPS[bucket] > MAX_BUCKETS:
        raise InvalidInput(_("at most {n} buckets per request: narrow the range", n=MAX_BUCKETS))
    if metric is not None and metric not in METRICS:
        raise InvalidInput(_("unknown metric"))
    if device_kind is not None and device_kind not in {k.value for k in DeviceKind}:
        raise InvalidInput(_("unknown device kind"))
    rd = READING.c
    start = func.date_bin(text(f"interval '1 {bucket}'"), rd.ts, literal(ORIGIN)).label("start")
    query = (select(start, rd.metric, func.count().label("readings"),
                    func.min(rd.value), func.max(rd.value), func.avg(rd.value),
                    func.sum(rd.value))
             .join(Device, (Device.county == rd.county) & (Device.id == rd.device_id))
             .join(House, (House.county == Device.county) & (House.id == Device.house_id))
             .where(rd.ts >= since, rd.ts < until, scope_filter(House, scope))
             .group_by(start, rd.metric).order_by(start, rd.metric))
    if metric is not None:
        query = query.where(rd.metric == metric)
    if device_kind is not None:
        query = query.where(Device.kind == device_kind)
    if house_code is not None:
        query = query.where(House.code == house_code.strip().upper())
    if device_uid is not None:
        query = query.where(Device.uid == device_uid.strip())
    return [ReadingBucket(start=r[0], metric=r[1], readings=r[2], minimum=r[3], maximum=r[4],
                          average=float(r[5]), total=r[6])
            for r in session.execute(query)]
