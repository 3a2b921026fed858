"""Number committed changes: the feed positions (``seq``) of ``change_log`` and ``code_lineage``.

Writers insert history rows with ``seq`` NULL. One stamper at a time (a session advisory lock
on the coordinator) reads the rows that are *already committed* and still unnumbered, gives
them the next positions, fixes their scope (the object's community and estate at that moment,
``feed_region`` / ``feed_estate``), commits, and only then raises ``change_feed_mark``. A
transaction that commits late is numbered by a later run, after everything already numbered,
so a reader that remembers its last position and never reads past the mark misses nothing and
sees nothing twice (docs/feed.md has the argument and an example).

Each batch is one county, hence one shard on Citus: its UPDATE commits on one node at once.
The mark is written in a later transaction, so every position up to it is visible on every
node before any reader can use it. A stamper killed between a batch and the mark leaves
numbered rows above the mark; the next run starts from the highest ``seq`` and publishes them.

Example::

    >>> stamp_changes(engine)            # numbers what committed since the last run
    StampResult(numbered=42, last_seq=1042)
    >>> stamp_changes(engine, wait=False)  # another stamper is running: returns at once
    StampResult(numbered=0, last_seq=None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from cimhouse.feed.resolve_scope import resolve_scopes

LOCK_KEY = 0x63_69_6D_66  # 'cimf': one stamper per database
BATCH = 5000
# (table, time column, kind, object, region hint for objects no longer found)
FED_TABLES = (
    ("change_log", "changed_at", "object_kind", "object_id",
     "COALESCE(current, previous)->>'region_code'"),
    ("code_lineage", "recorded_at", "'code'", "COALESCE(child_code, parent_code)", "NULL"),
)


@dataclass
class StampResult:
    numbered: int
    last_seq: int | None  # None: another stamper held the lock (``wait=False``)


def stamp_changes(engine: Engine, *, wait: bool = True, batch: int = BATCH,
                  limit: int | None = None) -> StampResult:
    """Number committed, unnumbered history rows; returns how many and the new mark.

    ``limit`` stops after the batch that reaches it (a request numbers a bounded amount;
    the rest waits for the next reader), the mark is raised for what was numbered."""
    with engine.connect() as lock_conn:
        if wait:
            lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        elif not lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                   {"k": LOCK_KEY}).scalar():
            lock_conn.rollback()
            return StampResult(0, None)
        lock_conn.commit()
        try:
            with engine.connect() as conn:
                return _stamp(conn, batch, limit)
        finally:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            lock_conn.commit()


def feed_mark(conn: Connection | Any) -> int:
    """The highest position every reader may see (all rows up to it are committed)."""
    return int(conn.execute(text(
        "SELECT last_seq FROM change_feed_mark WHERE id = 1")).scalar_one())


def _stamp(conn: Connection, batch: int, limit: int | None) -> StampResult:
    mark = feed_mark(conn)
    top = max([mark, *(int(conn.execute(text(
        f"SELECT COALESCE(max(seq), 0) FROM {table}")).scalar_one())
        for table, *_ in FED_TABLES)])
    conn.commit()
    numbered = 0
    for table, time_col, kind_expr, object_expr, hint_expr in FED_TABLES:
        counties = conn.execute(text(
            f"SELECT DISTINCT county FROM {table} WHERE seq IS NULL ORDER BY county"
        )).scalars().all()
        conn.commit()
        for county in counties:
            while limit is None or numbered < limit:
                # Committed rows only (READ COMMITTED): a later commit gets later positions.
                rows = conn.execute(text(f"""
                    SELECT id, {kind_expr} AS kind, {object_expr} AS object_id,
                           {hint_expr} AS hint
                    FROM {table} WHERE county = :c AND seq IS NULL
                    ORDER BY {time_col}, id LIMIT :n"""), {"c": county, "n": batch}).all()
                if not rows:
                    conn.commit()
                    break
                scopes = resolve_scopes(conn, county, [(r.kind, r.object_id, r.hint)
                                                       for r in rows])
                conn.execute(text(f"""
                    UPDATE {table} t SET seq = u.seq, feed_region = u.region,
                                         feed_estate = u.estate
                    FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]),
                                CAST(:regions AS text[]), CAST(:estates AS text[]))
                         AS u(id, seq, region, estate)
                    WHERE t.county = :c AND t.id = u.id"""), {
                    "c": county, "ids": [r.id for r in rows],
                    "seqs": list(range(top + 1, top + 1 + len(rows))),
                    "regions": [s[0] for s in scopes], "estates": [s[1] for s in scopes]})
                conn.commit()
                top += len(rows)
                numbered += len(rows)
    if top != mark:
        conn.execute(text("UPDATE change_feed_mark SET last_seq = :s, stamped_at = now() "
                          "WHERE id = 1"), {"s": top})
    conn.commit()
    return StampResult(numbered, top)
