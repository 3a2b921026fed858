"""One batch of readings from a gateway (HTTP) or the broker (MQTT): the one batch writer.

Every reading ends in exactly one count of :class:`IngestResult`: ``stored``,
``malformed`` (not an object, no device, no timezone, unknown metric, a metric this kind of
device does not send, a value that is no finite number, a time in the future), ``unknown_device``
(no such device in the caller's scope, or not in the county the MQTT topic names: outside
the scope is unknown too, nothing leaks) or ``duplicate`` (the same device, metric and time
again, in the batch or already stored). ``out_of_order`` counts stored readings older than
what the device had sent before: they are kept (a gateway's backlog), never dropped. Bad
readings never spoil good ones; each refused one is a :class:`Reject` with a reason code of
:data:`REASONS` (Chinese / English), which :mod:`cimhouse.safety.ingest_log` records; the
checks of a reading are in :mod:`cimhouse.safety.check_readings`.

Writing (profiled: parameter arrays of datetimes cost more than the database's work): the
good readings are COPied straight into ``device_reading`` under a savepoint; only when that
meets a stored duplicate (a redelivered MQTT batch, a gateway resending) does the batch go
the staged way: COPY into a temporary table, ``INSERT ... SELECT ... ON CONFLICT DO NOTHING
RETURNING`` the keys that were new. Then the devices' ``last_seen_at`` / battery (only when
``last_seen_at`` moves by :func:`seen_resolution` or the battery changes: a device reporting
every minute would otherwise rewrite its row every batch) and the immediate rules.

Example::

    result = ingest_readings(session, [{"device": "GAS-1", "ts": "2026-12-02T08:00:00+08:00",
                                        "metric": "gas_lel", "value": 35}], scope=None)
    result.stored, result.alerts_opened   # (1, 1)
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Text, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from cimhouse.db.bulk import copy_rows, create_staging, driver_connection
from cimhouse.db.integrity import is_unique_violation
from cimhouse.safety.check_readings import (
    REASONS,
    Columns,
    Reading,
    Reject,
    Times,
    parse_columns,
    parse_item,
    reason_text,
)
from cimhouse.safety.rules import IMMEDIATE, METRICS_BY_KIND, AlertEvidence, raise_alerts
from cimhouse.schema import Device, House
from cimhouse.scope import Scope, scope_filter

#: ``last_seen_at`` is rewritten when it moves by this much (or a quarter heartbeat if less)
SEEN_RESOLUTION = dt.timedelta(minutes=5)
#: the checks live in check_readings; these names are part of this module's interface
__all__ = ["REASONS", "Columns", "DeviceCache", "IngestResult", "Reject", "ensure_partitions",
           "ingest_readings", "reason_text", "seen_resolution", "text_array"]


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    malformed: int = 0
    unknown_device: int = 0
    duplicate: int = 0
    out_of_order: int = 0
    alerts_opened: int = 0
    rejects: list[Reject] = field(default_factory=list)
    #: (county, count name) -> n: the counts per county ('' = none known), for the log
    by_county: dict[tuple[str, str], int] = field(default_factory=dict)

    COUNTS = ("received", "stored", "malformed", "unknown_device", "duplicate",
              "out_of_order", "alerts_opened")

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}

    def summary(self) -> dict[str, Any]:
        """The counts and the first 20 reasons (English, for the gateway's log)."""
        problems = [f"#{r.index}: {reason_text(r.reason, 'en')}"
                    + (f" ({r.detail})" if r.detail else "") for r in self.rejects[:20]]
        return {**self.counts(), "problems": problems}

    def count(self, county: str, name: str, n: int = 1) -> None:
        """Add to a count, in total and for ``county`` (``received`` follows the outcome)."""
        setattr(self, name, getattr(self, name) + n)
        self.by_county[county, name] = self.by_county.get((county, name), 0) + n
        if name in ("stored", "malformed", "unknown_device", "duplicate"):
            self.by_county[county, "received"] = self.by_county.get((county, "received"),
                                                                    0) + n

    def reject(self, reject: Reject) -> None:
        self.count(reject.county, "unknown_device" if reject.reason == "unknown_device"
                   else "malformed")
        self.rejects.append(reject)


@dataclass
class _Device:
    county: str
    id: int
    uid: str
    kind: str
    house_id: int
    person_id: int | None
    last_seen_at: dt.datetime | None
    battery_pct: int | None
    heartbeat_s: int
    #: the ``last_seen_at`` the database holds as far as we know (``last_seen_at`` itself is
    #: the newest reading seen, which out-of-order counting compares with)
    written_seen_at: dt.datetime | None = None
    #: the metrics this kind sends (and ``battery``), and the COPY line's first fields
    metrics: frozenset[str] = frozenset()
    copy_prefix: str = ""
    resolution: dt.timedelta = SEEN_RESOLUTION  # seen_resolution(heartbeat_s), once

    def __post_init__(self) -> None:
        self.written_seen_at = self.last_seen_at
        self.metrics = frozenset({"battery", *METRICS_BY_KIND.get(self.kind, ())})
        # county digits and an id: nothing to escape in COPY text
        self.copy_prefix = f"{self.county}\t{self.id}\t"
        self.resolution = seen_resolution(self.heartbeat_s)


def text_array(values: Sequence[str]) -> str:
    """A PostgreSQL array literal of strings (one text parameter: psycopg dumps a list of
    thousands element by element in Python).

    >>> text_array(['GAS-1', 'a"b'])
    '{"GAS-1","a\\\\"b"}'
    """
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def _lookup(session: Session, uids: Sequence[str], scope: Scope | None) -> list[_Device]:
    """Devices of these uids in ``scope``."""
    # unnest() in FROM: ``uid = ANY(CAST(:text AS text[]))`` would parse the array again
    # for every row of a sequential scan (array_in is not immutable, nothing folds it)
    wanted = func.unnest(cast(bindparam("uids", type_=Text), ARRAY(Text))).table_valued(
        "uid").render_derived()
    rows = session.connection().execute(
        select(Device.county, Device.id, Device.uid, Device.kind, Device.house_id,
               Device.person_id, Device.last_seen_at, Device.battery_pct, Device.heartbeat_s)
        .join(wanted, wanted.c.uid == Device.uid)
        .join(House, (House.county == Device.county) & (House.id == Device.house_id))
        .where(scope_filter(House, scope)), {"uids": text_array(sorted(uids))}).all()
    return [_Device(*row) for row in rows]


class DeviceCache:
    """The devices of one scope by uid, kept for ``ttl`` seconds (a long-running ingester
    looks a device up once, not once per batch: with thousands of devices per batch the
    lookup cost as much as the write).

    A uid not in the cache is looked up at once, so a device imported a second ago is
    known; what may lag by up to ``ttl`` is a device moved to another house or removed.
    ``last_seen_at`` and the battery level are kept current by the writer.
    """

    def __init__(self, scope: Scope | None, ttl: float = 60.0) -> None:
        self.scope, self.ttl = scope, ttl
        self._devices: dict[str, list[_Device]] = {}
        self._loaded_at = 0.0

    def get(self, session: Session, uids: set[str]) -> dict[str, list[_Device]]:
        if time.monotonic() - self._loaded_at > self.ttl:
            self._devices, self._loaded_at = {}, time.monotonic()
        missing = [uid for uid in uids if uid not in self._devices]
        if missing:
            for device in _lookup(session, missing, self.scope):
                self._devices.setdefault(device.uid, []).append(device)
        return self._devices


def _months(good: list[tuple[_Device, Reading]]) -> set[dt.date]:
    """Every month (UTC) from the earliest reading's to the latest's."""
    times = {r[4] for _, r in good}  # a batch holds few distinct times: min/max over those
    first, last = min(times).astimezone(dt.UTC), max(times).astimezone(dt.UTC)
    months, month = set(), dt.date(first.year, first.month, 1)
    while month <= last.date():
        months.add(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def ensure_partitions(session: Session, months: set[dt.date]) -> None:
    """Create the monthly partitions these months need (a no-op when they exist)."""
    for month in sorted(months):
        name = f"device_reading_{month:%Y%m}"
        if session.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is None:
            session.execute(text("SELECT cimhouse_reading_partition(:m)"), {"m": month})


def _sort(parsed: list[Reading], devices: dict[str, list[_Device]],
          result: IngestResult) -> list[tuple[_Device, Reading]]:
    """Each reading's device (in the topic's county when it names one), its metric checked
    against the device's kind, duplicates within the batch counted."""
    seen: set[tuple[int, str, dt.datetime]] = set()
    good: list[tuple[_Device, Reading]] = []
    for reading in parsed:
        position, uid, county, metric, ts = reading[:5]
        candidates = devices.get(uid)
        device = None
        if candidates:
            if county is None:
                device = candidates[0]
            elif len(candidates) == 1:  # a uid is nearly always registered once
                device = candidates[0] if candidates[0].county == county else None
            else:
                device = next((d for d in candidates if d.county == county), None)
        if device is None:
            result.reject(Reject(position, uid, "unknown_device", county=county or ""))
        elif metric not in device.metrics:
            result.reject(Reject(position, uid, "metric_not_for_kind",
                                 f"{device.kind}: {metric}", device.county))
        # id(device): one object per (county, id) in the cache, so it stands for the key
        elif (key := (id(device), metric, ts)) in seen:
            result.count(device.county, "duplicate")
        else:
            seen.add(key)
            good.append((device, reading))
    return good


def ingest_readings(session: Session, items: Sequence[Any], *, scope: Scope | None,
                    now: dt.datetime | None = None, devices: DeviceCache | None = None,
                    columns: Columns | None = None) -> IngestResult:
    """Store a batch; count every reading; raise the immediate alerts. Flushes, no commit.

    An item is ``{"device", "metric", "ts", "value"}`` and, from MQTT, the topic's
    ``"county"`` (the device must be registered there). ``columns``: more readings in the
    columnar shape (positions after ``items``'). ``devices``: a cache of ``scope``'s devices
    kept by a long-running caller (the MQTT ingester, the API per token scope).
    """
    now = now or dt.datetime.now(dt.UTC)
    result = IngestResult(received=len(items) + (len(columns) if columns else 0))
    parsed: list[Reading] = []
    times = Times(now)
    for index, item in enumerate(items):
        outcome = parse_item(index, item, times)
        if isinstance(outcome, Reject):
            result.reject(outcome)
        else:
            parsed.append(outcome)
    if columns:
        more, rejects = parse_columns(columns, times, offset=len(items))
        parsed += more
        for reject in rejects:
            result.reject(reject)
    cache = devices if devices is not None else DeviceCache(scope)
    known = cache.get(session, {r[1] for r in parsed}) if parsed else {}
    good = _sort(parsed, known, result)
    if not good:
        return result
    ensure_partitions(session, _months(good))
    stored = _write(session, good)
    for county, n in Counter(d.county for d, _ in stored).items():
        result.count(county, "stored", n)
    if len(stored) < len(good):
        kept = {id(r) for _, r in stored}
        for county, n in Counter(d.county for d, r in good if id(r) not in kept).items():
            result.count(county, "duplicate", n)
    changed, alerts = _digest(stored, result)
    _update_devices(session, changed)
    result.alerts_opened = raise_alerts(session, alerts, now=now)
    return result


COLUMNS = ("county", "device_id", "metric", "ts", "value")


def _write(session: Session, good: list[tuple[_Device, Reading]]
           ) -> list[tuple[_Device, Reading]]:
    """COPY straight in; on a stored duplicate, the staged way. Returns what was new."""
    # COPY text built here: every field is ours (county digits, id, a known metric, an ISO
    # time, a finite float), so nothing needs escaping; row-by-row write_row cost 2x as much
    lines = "".join([f"{d.copy_prefix}{r[3]}\t{r[5]}\t{r[6]!r}\n" for d, r in good])
    conn = driver_connection(session)
    conn.execute("SAVEPOINT reading_copy")
    try:
        with conn.cursor() as cur, cur.copy(
                "COPY device_reading (county, device_id, metric, ts, value) FROM STDIN") as copy:
            copy.write(lines)
    except psycopg.Error as exc:
        if not is_unique_violation(exc):
            raise
        conn.execute("ROLLBACK TO SAVEPOINT reading_copy")  # nothing of the batch is in
    else:
        conn.execute("RELEASE SAVEPOINT reading_copy")
        return good
    create_staging(session, "stage_reading",
                   "county text, device_id bigint, metric text, ts timestamptz, value float8")
    copy_rows(session, "stage_reading", COLUMNS,
              [(d.county, d.id, r[3], r[4], r[6]) for d, r in good])
    new = session.execute(text("""
        INSERT INTO device_reading (county, device_id, metric, ts, value)
        SELECT county, device_id, metric, ts, value FROM stage_reading
        ON CONFLICT DO NOTHING
        RETURNING county, device_id, metric, ts""")).all()
    kept = {(r.county, r.device_id, r.metric, r.ts) for r in new}
    return [(d, r) for d, r in good if (d.county, d.id, r[3], r[4]) in kept]


def _digest(stored: list[tuple[_Device, Reading]], result: IngestResult
            ) -> tuple[list[_Device], list[AlertEvidence]]:
    """One pass over the stored readings: ``out_of_order`` (older than what the device sent
    before, in an earlier batch or earlier in this one), each device's newest time and
    battery level (kept on the device: the devices whose row must change are returned), the
    immediate rules' evidence."""
    state: dict[int, list[Any]] = {}  # id(device) -> [device, newest ts, battery ts, level]
    alerts: list[AlertEvidence] = []
    for device, (_position, _uid, _county, metric, ts, iso, value) in stored:
        entry = state.get(id(device))
        if entry is None:
            entry = state[id(device)] = [device, device.last_seen_at, None, None]
        newest = entry[1]
        if newest is None or ts > newest:
            entry[1] = ts
        elif ts < newest:
            result.count(device.county, "out_of_order")
        if metric == "battery" and (entry[2] is None or ts >= entry[2]):
            entry[2], entry[3] = ts, round(min(100.0, max(0.0, value)))
        rule = IMMEDIATE.get(metric)
        if rule is not None and value >= rule[0]:
            alerts.append(AlertEvidence(
                county=device.county, house_id=device.house_id, person_id=device.person_id,
                device_id=device.id, kind=rule[1].value, severity=rule[2].value, at=ts,
                evidence={"device": device.uid, "metric": metric, "ts": iso,
                          "value": value}))
    changed = []
    for device, seen, _at, level in state.values():
        device.last_seen_at = seen
        old = device.written_seen_at
        if (old is None or seen - old >= device.resolution
                or (level is not None and level != device.battery_pct)):
            device.written_seen_at = seen
            device.battery_pct = level if level is not None else device.battery_pct
            changed.append(device)
    return changed, alerts


def seen_resolution(heartbeat_s: int) -> dt.timedelta:
    """How far ``last_seen_at`` may lag: 5 minutes, or a quarter heartbeat if that is less
    (a silent-device rule must never see a live device as silent).

    >>> seen_resolution(3600), seen_resolution(60)
    (datetime.timedelta(seconds=300), datetime.timedelta(seconds=15))
    """
    return min(SEEN_RESOLUTION, dt.timedelta(seconds=heartbeat_s / 4))


def _update_devices(session: Session, changed: list[_Device]) -> None:
    """last_seen_at (never backwards: another writer may have gone further) and battery."""
    if not changed:
        return
    # one order for every writer (the rows are locked until commit): concurrent ingesters
    # (--processes, several HTTP requests) wait for each other here, never deadlock
    changed = sorted(changed, key=lambda d: (d.county, d.id))
    session.execute(text("""
        UPDATE device d SET last_seen_at = greatest(d.last_seen_at, u.seen),
               battery_pct = coalesce(u.battery, d.battery_pct), updated_at = now()
        FROM unnest(CAST(:county AS text[]), CAST(:id AS bigint[]),
                    CAST(:seen AS timestamptz[]), CAST(:battery AS smallint[]))
             AS u(county, id, seen, battery)
        WHERE d.county = u.county AND d.id = u.id"""), {
        "county": text_array([d.county for d in changed]),
        "id": "{" + ",".join(str(d.id) for d in changed) + "}",
        "seen": text_array([d.last_seen_at.isoformat() if d.last_seen_at else "" for d in changed]),
        "battery": "{" + ",".join("NULL" if d.battery_pct is None else str(d.battery_pct)
                                  for d in changed) + "}"})
