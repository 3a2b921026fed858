"""Record what a batch of readings came to: counts per county and day, refused readings.

Called by both ingesters (HTTP and MQTT) inside the batch's transaction, so the log agrees
with what was stored: a batch killed before its commit leaves neither readings nor counts,
and the redelivered batch is counted once more (its readings then as duplicates, the truth
on the wire). Reads for ``cimhouse safety ingest-status`` and GraphQL's
``safetyIngestStatistics``: :func:`ingest_status`, limited to :func:`whole_counties`.

The counts are per county, so a scope sees a county's counts only when the whole county
lies inside it (:func:`whole_counties`): a street or community sees none (its share of a
county's malformed messages is not known), nor does a county that a region change split.

Example::

    result = ingest_readings(session, items, scope=None)
    record_batch(session, "mqtt", result, context=lambda i: (topics[i], payloads[i]))
    ingest_status(session, since=dt.date(2026, 12, 1),
                  counties=whole_counties(session, parse_scope("3304")))
    # {"counts": [{"county": "330402", "source": "mqtt", "received": 12, ...}],
    #  "rejects": [{"reason": "unknown_device", "n": 2, "reason_text": "...", ...}]}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.safety.ingest_readings import REASONS, IngestResult
from cimhouse.scope import Scope, region_moves

#: refused readings written per batch (a flood of garbage must not flood the table)
MAX_REJECTS_PER_BATCH = 100
PAYLOAD_CHARS = 500
COUNTS = ("received", "stored", "malformed", "unknown_device", "duplicate", "out_of_order")

Context = Callable[[int], tuple[str | None, str | None]]  # item index -> (topic, payload)


def record_batch(session: Session, source: str, result: IngestResult, *,
                 context: Context | None = None, now: dt.datetime | None = None,
                 home: str = "") -> None:
    """Add the batch's counts to ``reading_ingest_count`` and write its first rejects.

    ``home``: the county of what names none (a reading refused before its device was
    found), e.g. the county of the HTTP gateway's token scope; else they count under ''.
    """
    day = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    by_county: dict[tuple[str, str], int] = {}
    for (county, name), n in result.by_county.items():
        key = (county or home, name)
        by_county[key] = by_county.get(key, 0) + n
    counties = sorted({county for county, _ in by_county})
    if counties:
        rows = [{"county": c, **{n: by_county.get((c, n), 0) for n in COUNTS}}
                for c in counties]
        # The time in the inserted row, not now() in DO UPDATE SET: Citus refuses functions
        # that are not IMMUTABLE there on a distributed table.
        session.execute(text(f"""
            INSERT INTO reading_ingest_count AS t (county, source, day, {", ".join(COUNTS)},
                                                   updated_at)
            SELECT r.county, :source, :day, {", ".join(f"r.{n}" for n in COUNTS)}, now()
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
                county text, {", ".join(f"{n} bigint" for n in COUNTS)})
            ON CONFLICT (county, source, day) DO UPDATE SET
                {", ".join(f"{n} = t.{n} + excluded.{n}" for n in COUNTS)},
                updated_at = excluded.updated_at"""),
            {"source": source, "day": day, "rows": json.dumps(rows)})
    rejects = result.rejects[:MAX_REJECTS_PER_BATCH]
    if not rejects:
        return
    rows = []
    for reject in rejects:
        topic, payload = context(reject.index) if context else (None, None)
        rows.append({"county": reject.county or home, "source": source,
                     "reason": reject.reason,
                     "reason_text": REASONS[reject.reason]
                     + (f" ({reject.detail})" if reject.detail else ""),
                     "device": reject.device, "topic": topic,
                     "payload": payload[:PAYLOAD_CHARS] if payload else None})
    session.execute(text("""
        INSERT INTO reading_reject (county, source, reason, reason_text, device, topic, payload)
        SELECT r.county, r.source, r.reason, r.reason_text, r.device, r.topic, r.payload
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            county text, source text, reason text, reason_text text, device text, topic text,
            payload text)"""), {"rows": json.dumps(rows, ensure_ascii=False)})


def current_places(county: str, moves: Mapping[str, str]) -> set[str]:
    """The region prefixes where objects registered in ``county`` may lie after the region
    changes ``moves`` (old code -> new code, in the order they were applied).

    >>> sorted(current_places("330482", {"330482101": "330402020"}))
    ['330402020', '330482']
    >>> sorted(current_places("330682", {"330682": "330604"}))
    ['330604']
    """
    places = {county}
    for old, new in moves.items():
        moved: set[str] = set()
        for place in places:
            if place.startswith(old):  # all of it moved
                moved.add(new + place[len(old):])
            else:
                moved.add(place)
                if old.startswith(place):  # a part of it moved
                    moved.add(new)
        places = moved
    return places


def counties_inside(scope: Scope, moves: Mapping[str, str],
                    candidates: Iterable[str]) -> list[str]:
    """The county keys among ``candidates`` whose objects all lie inside ``scope`` now.

    >>> counties_inside(parse_scope("3304"), {}, ["330402", "330106", ""])
    ['330402']
    >>> counties_inside(parse_scope("330402007"), {}, ["330402"])  # a part: not its counts
    []
    """
    if scope.is_estate:
        return []
    return sorted(key for key in set(candidates) if len(key) == 6 and all(
        place.startswith(scope.code) for place in current_places(key, moves)))


def whole_counties(session: Session, scope: Scope | None) -> list[str] | None:
    """The county keys that lie wholly inside ``scope`` (None: no limit), the filter every
    read of the log takes (``county = ANY(...)``), so nothing of a county partly outside
    leaks. Candidates: the counties of the region table and those region changes moved."""
    if scope is None:
        return None
    if scope.is_estate:
        return []
    moves = region_moves(session)
    known = session.execute(text("SELECT code FROM region WHERE level = 3")).scalars().all()
    return counties_inside(scope, moves, [*known, *(old[:6] for old in moves)])


def ingest_status(session: Session, *, since: dt.date, until: dt.date | None = None,
                  counties: list[str] | None = None, recent: int = 10) -> dict[str, Any]:
    """Counts per source and county from ``since`` to ``until`` (UTC days, both included;
    default: no end), the totals per day, refused readings by reason, and the ``recent``
    latest refused readings. ``counties`` limits it to these county keys (None: all, an
    empty list: nothing)."""
    until = until or dt.date(9999, 12, 30)
    limit = "" if counties is None else " AND county = ANY(CAST(:counties AS text[]))"
    where = "day BETWEEN :since AND :until" + limit
    params: dict[str, Any] = {
        "since": since, "until": until, "counties": counties or [],
        # received_at is a time: the UTC days [since, until] are [since 00:00, until+1 00:00)
        "start": dt.datetime.combine(since, dt.time(), dt.UTC),
        "end": dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)}
    sums = ", ".join(f"sum({n})::bigint AS {n}" for n in COUNTS)
    counts = session.execute(text(f"""
        SELECT source, county, {sums}
        FROM reading_ingest_count WHERE {where}
        GROUP BY source, county ORDER BY source, county"""), params).mappings().all()
    days = session.execute(text(f"""
        SELECT day, {sums} FROM reading_ingest_count WHERE {where}
        GROUP BY day ORDER BY day"""), params).mappings().all()
    rwhere = "received_at >= :start AND received_at < :end" + limit
    reasons = session.execute(text(f"""
        SELECT reason, count(*) AS n FROM reading_reject WHERE {rwhere}
        GROUP BY reason ORDER BY n DESC, reason"""), params).mappings().all()
    latest = session.execute(text(f"""
        SELECT received_at, source, county, reason, device, topic, payload
        FROM reading_reject WHERE {rwhere} ORDER BY received_at DESC, id DESC
        LIMIT :recent"""), {**params, "recent": recent}).mappings().all()
    return {"since": since.isoformat(),
            "counts": [dict(r) for r in counts],
            "days": [{**dict(r), "day": r["day"].isoformat()} for r in days],
            "rejects": [{**dict(r), "reason_text": REASONS.get(r["reason"], r["reason"])}
                        for r in reasons],
            "latest_rejects": [{**dict(r), "received_at": r["received_at"].isoformat()}
                               for r in latest]}
