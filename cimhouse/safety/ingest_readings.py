"""One batch of readings from a gateway (HTTP) or the broker (MQTT), in set-based SQL.

Every reading ends in exactly one count of :class:`IngestResult`: ``stored``,
``malformed`` (not an object, no device, no timezone, unknown metric, a metric this kind of
device does not send, a value that is no finite number, a time in the future), ``unknown_device``
(no such device in the caller's scope: outside the scope is unknown too, nothing leaks) or
``duplicate`` (the same device, metric and time again, in the batch or already stored).
``out_of_order`` counts stored readings older than what the device had sent before: they
are kept (a gateway's backlog), never dropped. Bad readings never spoil good ones.

Example::

    result = ingest_readings(session, [{"device": "GAS-1", "ts": "2026-12-02T08:00:00+08:00",
                                        "metric": "gas_lel", "value": 35}], scope=None)
    result.stored, result.alerts_opened   # (1, 1)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Text, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from cimhouse.safety.rules import IMMEDIATE, METRICS, METRICS_BY_KIND, AlertEvidence, raise_alerts
from cimhouse.schema import Device, House
from cimhouse.scope import Scope, scope_filter

#: readings from further ahead than this are refused (a gateway with a wrong clock)
MAX_FUTURE = dt.timedelta(minutes=10)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    malformed: int = 0
    unknown_device: int = 0
    duplicate: int = 0
    out_of_order: int = 0
    alerts_opened: int = 0
    problems: list[str] = field(default_factory=list)  # first few, for the gateway's log

    def summary(self) -> dict[str, Any]:
        return asdict(self)

    def note(self, problem: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(problem)


@dataclass(frozen=True)
class _Reading:
    uid: str
    metric: str
    ts: dt.datetime
    value: float


def _parse(item: Any, now: dt.datetime) -> _Reading | str:
    """A valid reading, or why not (English, for the gateway's log)."""
    if not isinstance(item, dict):
        return "not an object"
    uid, metric, raw_ts, value = (item.get(k) for k in ("device", "metric", "ts", "value"))
    if not isinstance(uid, str) or not uid.strip() or len(uid) > 100:
        return "device missing"
    if metric not in METRICS:
        return f"unknown metric {str(metric)[:20]!r}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "value is not a finite number"
    if isinstance(raw_ts, int | float) and not isinstance(raw_ts, bool):
        ts = dt.datetime.fromtimestamp(raw_ts, dt.UTC) if 0 < raw_ts < 1e11 else None
    elif isinstance(raw_ts, str):
        try:
            ts = dt.datetime.fromisoformat(raw_ts)
        except ValueError:
            ts = None
    else:
        ts = None
    if ts is None or ts.tzinfo is None:
        return "ts is not an ISO time with offset or epoch seconds"
    if not EARLIEST <= ts <= now + MAX_FUTURE:
        return "ts out of range (future or before 2000)"
    return _Reading(uid.strip(), str(metric), ts, float(value))


@dataclass(frozen=True)
class _Device:
    county: str
    id: int
    uid: str
    kind: str
    house_id: int
    person_id: int | None
    last_seen_at: dt.datetime | None


def _devices(session: Session, uids: list[str], scope: Scope | None) -> dict[str, _Device]:
    """The batch's devices in ``scope``: plain rows, one ``uid = ANY(array)`` parameter
    (an expanded IN of thousands of parameters and ORM objects cost most of a batch)."""
    rows = session.execute(
        select(Device.county, Device.id, Device.uid, Device.kind, Device.house_id,
               Device.person_id, Device.last_seen_at)
        .join(House, (House.county == Device.county) & (House.id == Device.house_id))
        .where(Device.uid == any_(bindparam("uids", type_=ARRAY(Text))),
               scope_filter(House, scope)), {"uids": uids}).all()
    # a uid in two counties would be ambiguous: the importer refuses it
    return {row.uid: _Device(*row) for row in rows}


def _months(readings: list[tuple[_Device, _Reading]]) -> set[dt.date]:
    return {dt.date(r.ts.astimezone(dt.UTC).year, r.ts.astimezone(dt.UTC).month, 1)
            for _, r in readings}


def ensure_partitions(session: Session, months: set[dt.date]) -> None:
    """Create the monthly partitions these months need (a no-op when they exist)."""
    for month in sorted(months):
        name = f"device_reading_{month:%Y%m}"
        if session.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is None:
            session.execute(text("SELECT cimhouse_reading_partition(:m)"), {"m": month})


def ingest_readings(session: Session, items: Sequence[Any], *, scope: Scope | None,
                    now: dt.datetime | None = None) -> IngestResult:
    """Store a batch; count every reading; raise the immediate alerts. Flushes, no commit."""
    now = now or dt.datetime.now(dt.UTC)
    result = IngestResult(received=len(items))
    parsed: list[_Reading] = []
    for index, item in enumerate(items):
        outcome = _parse(item, now)
        if isinstance(outcome, str):
            result.malformed += 1
            result.note(f"#{index}: {outcome}")
        else:
            parsed.append(outcome)
    devices = _devices(session, sorted({r.uid for r in parsed}), scope) if parsed else {}
    seen: set[tuple[str, str, dt.datetime]] = set()
    good: list[tuple[_Device, _Reading]] = []
    for reading in parsed:
        device = devices.get(reading.uid)
        if device is None:
            result.unknown_device += 1
            result.note(f"unknown device {reading.uid[:40]!r}")
        elif reading.metric != "battery" and reading.metric not in METRICS_BY_KIND[device.kind]:
            result.malformed += 1
            result.note(f"a {device.kind} device does not send {reading.metric}")
        elif (reading.uid, reading.metric, reading.ts) in seen:
            result.duplicate += 1
        else:
            seen.add((reading.uid, reading.metric, reading.ts))
            good.append((device, reading))
    if not good:
        return result
    ensure_partitions(session, _months(good))
    stored = session.execute(text("""
        INSERT INTO device_reading (county, device_id, metric, ts, value)
        SELECT * FROM unnest(CAST(:county AS text[]), CAST(:device AS bigint[]),
                             CAST(:metric AS text[]), CAST(:ts AS timestamptz[]),
                             CAST(:value AS float8[]))
        ON CONFLICT DO NOTHING
        RETURNING county, device_id, metric, ts, value"""), {
        "county": [d.county for d, _ in good], "device": [d.id for d, _ in good],
        "metric": [r.metric for _, r in good], "ts": [r.ts for _, r in good],
        "value": [r.value for _, r in good]}).all()
    result.stored = len(stored)
    result.duplicate += len(good) - len(stored)
    by_key = {(d.county, d.id): d for d, _ in good}
    _count_out_of_order(good, stored, result)
    _update_devices(session, stored)
    result.alerts_opened = raise_alerts(session, _immediate(stored, by_key), now=now)
    return result


def _count_out_of_order(good: list[tuple[_Device, _Reading]], stored: Sequence[Any],
                        result: IngestResult) -> None:
    """Stored readings older than one the device sent before (earlier batch or earlier in
    this one, in arrival order)."""
    kept = {(r.county, r.device_id, r.metric, r.ts) for r in stored}
    latest: dict[tuple[str, int], dt.datetime | None] = {}
    for device, reading in good:
        key = (device.county, device.id)
        previous = latest.get(key, device.last_seen_at)
        if (device.county, device.id, reading.metric, reading.ts) not in kept:
            continue
        if previous is not None and reading.ts < previous:
            result.out_of_order += 1
        latest[key] = reading.ts if previous is None else max(previous, reading.ts)


def _update_devices(session: Session, stored: Sequence[Any]) -> None:
    """last_seen_at (the later of stored and new) and the latest battery level."""
    latest: dict[tuple[str, int], dt.datetime] = {}
    battery: dict[tuple[str, int], tuple[dt.datetime, float]] = {}
    for row in sorted(stored, key=lambda r: r.ts):
        key = (row.county, row.device_id)
        latest[key] = row.ts
        if row.metric == "battery":
            battery[key] = (row.ts, row.value)
    session.execute(text("""
        UPDATE device d SET last_seen_at = greatest(d.last_seen_at, u.seen),
               battery_pct = coalesce(u.battery, d.battery_pct), updated_at = now()
        FROM unnest(CAST(:county AS text[]), CAST(:id AS bigint[]),
                    CAST(:seen AS timestamptz[]), CAST(:battery AS smallint[]))
             AS u(county, id, seen, battery)
        WHERE d.county = u.county AND d.id = u.id"""), {
        "county": [k[0] for k in latest], "id": [k[1] for k in latest],
        "seen": list(latest.values()),
        "battery": [round(min(100.0, max(0.0, battery[k][1]))) if k in battery else None
                    for k in latest]})


def _immediate(stored: Sequence[Any], by_key: dict[tuple[str, int], _Device]
               ) -> list[AlertEvidence]:
    items = []
    for row in stored:
        rule = IMMEDIATE.get(row.metric)
        if rule is None or row.value < rule[0]:
            continue
        device = by_key[(row.county, row.device_id)]
        items.append(AlertEvidence(
            county=row.county, house_id=device.house_id, person_id=device.person_id,
            device_id=device.id, kind=rule[1].value, severity=rule[2].value, at=row.ts,
            evidence={"device": device.uid, "metric": row.metric, "ts": row.ts.isoformat(),
                      "value": row.value}))
    return items
