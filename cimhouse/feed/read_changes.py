"""Read the change feed: the changes after a position, in position order, for one scope.

Positions (``seq``) are given after commit by :mod:`cimhouse.feed.stamp_changes`; a reader
never reads past ``change_feed_mark``, so storing the last position it got and asking again
returns every later change exactly once. Scope and roles are applied in SQL: a region scope
compares the entry's community (``feed_region``), an estate scope its estate code
(``feed_estate``); persons and households need ``person_reader``. Values are masked like
everywhere else (ID numbers and phones masked, stored hashes and ciphertexts never leave).

Example::

    >>> page = read_changes(session, scope=parse_scope("330402"), after=0, first=100)
    >>> [(c.seq, c.kind, c.operation) for c in page.changes][:2]
    [(1, 'house', 'update'), (2, 'code', 'issue')]
    >>> page.end_cursor  # store it; pass it as ``after`` next time
    '2'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.feed.stamp_changes import feed_mark
from cimhouse.i18n import _
from cimhouse.idnumber import mask_id_number
from cimhouse.pii import mask_phone
from cimhouse.schema import ChangeLog, CodeLineage
from cimhouse.scope import Scope, prefix_range

# Every kind the feed carries: objects, codes (issue/retire/split/merge/relabel and region
# changes), relations (households), persons, facilities, regions (boundaries and names).
KINDS = ("estate", "building", "house", "facility", "person_house", "person", "household",
         "household_member", "region", "code")
PERSON_KINDS = frozenset({"person", "person_house", "household", "household_member"})
MAX_PAGE = 1000
_DROPPED = ("_hash", "_enc", "_cipher")


class Change(NamedTuple):
    """One feed entry (a named tuple: built once per change on a catch-up, a frozen
    dataclass's ``__init__`` cost more than reading the row)."""

    seq: int
    kind: str
    object_id: str
    operation: str  # insert / update / delete, or the code event (issue, retire, split ...)
    at: dt.datetime
    actor: str | None
    source: str | None
    region_code: str | None
    previous: dict[str, Any] | None
    current: dict[str, Any] | None

    @property
    def cursor(self) -> str:
        return str(self.seq)

    def as_json(self) -> dict[str, Any]:
        return {"cursor": self.cursor, "kind": self.kind, "objectId": self.object_id,
                "operation": self.operation, "at": self.at.isoformat(), "actor": self.actor,
                "source": self.source, "regionCode": self.region_code,
                "previous": self.previous, "current": self.current}


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    end_cursor: str  # the position to resume after (the last change's, or ``after`` if none)
    has_more: bool


def parse_cursor(raw: str | None) -> int:
    """A feed cursor is the decimal position; ``None`` or ``''`` is the start (0)."""
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(_("not a change feed cursor: {raw!r} (expected a position like '42')",
                             raw=raw))
    return int(raw)


def mask_values(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Mask ID numbers and phones; drop stored hashes and ciphertexts (never shown)."""
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key.endswith(_DROPPED):
            continue
        if isinstance(value, str) and key in ("id_number", "id_no"):
            value = mask_id_number(value)
        elif isinstance(value, str) and key in ("phone", "mobile"):
            value = mask_phone(value)
        elif isinstance(value, dict):
            value = mask_values(value)
        out[key] = value
    return out


def _scope_clause(model: Any, scope: Scope | None) -> ColumnElement[bool]:
    if scope is None:
        return true()
    if scope.is_estate:
        clause: ColumnElement[bool] = model.feed_estate == scope.code
    else:
        clause = and_(model.feed_region.is_not(None), prefix_range(model.feed_region, scope.code))
    if scope.county_keys:
        clause = and_(model.county.in_(scope.county_keys), clause)
    return clause


def read_changes(session: Session, *, scope: Scope | None, after: int, first: int = 100,
                 kinds: Sequence[str] | None = None, with_persons: bool = False) -> ChangePage:
    """Up to ``first`` changes with a position after ``after``, oldest first.

    ``scope`` None means everything (an unscoped principal); ``with_persons`` admits the
    person and household kinds (the caller checked ``person_reader``)."""
    first = max(1, min(first, MAX_PAGE))
    wanted = set(kinds or KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise InvalidInput(_("unknown change kinds {unknown}; known: {kinds}",
                             unknown=sorted(unknown), kinds=list(KINDS)))
    if not with_persons:
        wanted -= PERSON_KINDS
    mark = feed_mark(session)
    found: list[Change] = []
    log_kinds = sorted(wanted - {"code"})
    upper = mark
    if log_kinds:
        c = ChangeLog
        rows = session.execute(select(
            c.seq, c.object_kind, c.object_id, c.operation, c.changed_at, c.actor, c.source,
            c.feed_region, c.previous, c.current).where(
            c.seq > after, c.seq <= mark, c.object_kind.in_(log_kinds),
            _scope_clause(c, scope)).order_by(c.seq).limit(first + 1)).all()
        found.extend(Change(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                            mask_values(r[8]), mask_values(r[9])) for r in rows)
        if len(rows) > first:  # the page ends before this: no need to read lineage past it
            upper = rows[-1][0]
    if "code" in wanted:
        # plain columns, not ORM entities (building one per entry cost most of a catch-up)
        lineage = session.execute(select(*_LINEAGE).where(
            CodeLineage.seq > after, CodeLineage.seq <= upper,
            _scope_clause(CodeLineage, scope)).order_by(CodeLineage.seq).limit(first + 1))
        found.extend(_code_change(r, scope) for r in lineage)
    found.sort(key=lambda c: c.seq)
    page = found[:first]
    return ChangePage(page, page[-1].cursor if page else str(after), len(found) > first)


def _code_within(code: str | None, scope: Scope | None) -> str | None:
    """``code`` when it lies in ``scope`` by its own digits (community, estate), else None.

    An entry is in scope by the object it names; the other side of a merge or split may lie
    in another county, and its code is not shown outside that county's scopes (as in
    GraphQL ``lineage``, where such an edge is left out)."""
    if code is None or scope is None:
        return code
    if scope.is_estate:
        return code if code[:15] == scope.code[:15] else None
    return code if code[:12].startswith(scope.code) else None


_LINEAGE = (CodeLineage.seq, CodeLineage.event, CodeLineage.parent_code,
            CodeLineage.child_code, CodeLineage.recorded_at, CodeLineage.actor,
            CodeLineage.job_id, CodeLineage.feed_region, CodeLineage.effective_date,
            CodeLineage.note)


def _code_change(row: Any, scope: Scope | None) -> Change:
    """A lineage entry (a row of the :data:`_LINEAGE` columns) as a feed change."""
    seq, event, parent_code, child_code, at, actor, job_id, region, effective, note = row
    # the entry lies where its object (the child, else the retired parent) lies
    parent = parent_code if child_code is None else _code_within(parent_code, scope)
    return Change(seq or 0, "code", child_code or parent_code or "", event, at, actor,
                  f"job:{job_id}" if job_id else None, region,
                  {"code": parent} if parent_code else None,
                  {"code": child_code, "effectiveDate": effective.isoformat(), "note": note})


def position_at(session: Session, when: dt.datetime) -> int:
    """The cursor to start from to get every change recorded at or after ``when``.

    Positions follow commits, times follow transaction starts: the result is one before the
    first position whose change was recorded at or after ``when`` (a few earlier changes may
    follow it, none later is skipped)."""
    firsts: Iterable[int | None] = (
        session.execute(select(func.min(ChangeLog.seq)).where(
            ChangeLog.changed_at >= when, ChangeLog.seq.is_not(None))).scalar(),
        session.execute(select(func.min(CodeLineage.seq)).where(
            CodeLineage.recorded_at >= when, CodeLineage.seq.is_not(None))).scalar())
    present = [f for f in firsts if f is not None]
    return min(present) - 1 if present else feed_mark(session)
