"""Record what a batch of readings came to: counts per county and day, refused readings.

Called by both ingesters (HTTP and MQTT) inside the batch's transaction, so the log agrees
with what was stored: a batch killed before its commit leaves neither readings nor counts,
and the redelivered batch is counted once more (its readings then as duplicates, the truth
on the wire). Reads for ``cimhouse safety ingest-status``: :func:`ingest_status`.

Example::

    result = ingest_readings(session, items, scope=None)
    record_batch(session, "mqtt", result, context=lambda i: (topics[i], payloads[i]))
    ingest_status(session, since=dt.date(2026, 12, 1))
    # {"counts": [{"county": "330402", "source": "mqtt", "received": 12, ...}],
    #  "rejects": [{"reason": "unknown_device", "n": 2, "reason_text": "...", ...}]}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.safety.ingest_readings import REASONS, IngestResult

#: refused readings written per batch (a flood of garbage must not flood the table)
MAX_REJECTS_PER_BATCH = 100
PAYLOAD_CHARS = 500
COUNTS = ("received", "stored", "malformed", "unknown_device", "duplicate", "out_of_order")

Context = Callable[[int], tuple[str | None, str | None]]  # item index -> (topic, payload)


def record_batch(session: Session, source: str, result: IngestResult, *,
                 context: Context | None = None, now: dt.datetime | None = None) -> None:
    """Add the batch's counts to ``reading_ingest_count`` and write its first rejects."""
    day = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    counties = sorted({county for county, _ in result.by_county})
    if counties:
        rows = [{"county": c, **{n: result.by_county.get((c, n), 0) for n in COUNTS}}
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
        rows.append({"county": reject.county, "source": source, "reason": reject.reason,
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


def ingest_status(session: Session, *, since: dt.date, counties: list[str] | None = None,
                  recent: int = 10) -> dict[str, Any]:
    """Counts per source and county since ``since`` (UTC days), refused readings by reason,
    and the ``recent`` latest refused readings. ``counties`` limits it (county keys)."""
    where = "day >= :since" + (" AND county = ANY(:counties)" if counties else "")
    params: dict[str, Any] = {"since": since, "counties": counties or []}
    counts = session.execute(text(f"""
        SELECT source, county, {", ".join(f"sum({n})::bigint AS {n}" for n in COUNTS)}
        FROM reading_ingest_count WHERE {where}
        GROUP BY source, county ORDER BY source, county"""), params).mappings().all()
    rwhere = "received_at >= :since" + (" AND county = ANY(:counties)" if counties else "")
    reasons = session.execute(text(f"""
        SELECT reason, count(*) AS n FROM reading_reject WHERE {rwhere}
        GROUP BY reason ORDER BY n DESC, reason"""), params).mappings().all()
    latest = session.execute(text(f"""
        SELECT received_at, source, county, reason, device, topic, payload
        FROM reading_reject WHERE {rwhere} ORDER BY received_at DESC, id DESC
        LIMIT :recent"""), {**params, "recent": recent}).mappings().all()
    return {"since": since.isoformat(),
            "counts": [dict(r) for r in counts],
            "rejects": [{**dict(r), "reason_text": REASONS.get(r["reason"], r["reason"])}
                        for r in reasons],
            "latest_rejects": [{**dict(r), "received_at": r["received_at"].isoformat()}
                               for r in latest]}
