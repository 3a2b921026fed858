"""A per-process cache of the ``gaps`` layer by scope, so that a map's tiles do not each
recompute the gaps of the whole scope (every ``gaps`` tile used to run ``find_gaps``).

What the gaps depend on, and so what the key holds:

- the **scope** (code and level; ``None`` is everything): the gaps are computed with the
  scope's predicates in SQL, and a scope is a security boundary, so the scope is the first
  part of the key and two scopes never share an entry;
- the **data**: facilities, estates, buildings, houses, residents and their relations, codes.
  Every committed change of them writes a ``change_log`` row (codes: ``code_lineage``) in the
  same transaction (the change feed's contract, docs/feed.md). The key holds the
  :func:`data_version`: per history table, the highest feed position and the number of rows
  not yet numbered. A writer's commit raises the second; the stamper's commit raises the
  first (it numbers upwards from the highest position), so the pair never repeats while the
  data changes, whether or not the stamper has run. The version is read *before* the gaps,
  so an entry can only hold data as new as its key or newer, never older;
- **today** (ages and the facilities in use are computed for today), the **metric CRS**
  distances are measured in.

Labels (language) are added per request, after the cache. Entries are evicted least recently
used (``size`` scopes at most); a process's cache is its own (several uvicorn workers each
keep one: still correct, since each reads the version).

Example::

    >>> cache = GapCache(size=32)
    >>> rows = cache.rows(session, parse_scope("330402"), metric_srid=4549)
    >>> cache.rows(session, parse_scope("330402"), metric_srid=4549) is rows  # same version
    True
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.scope import Scope

#: (max position, rows not yet numbered) of both history tables, read in one snapshot;
#: ``ix_*_seq`` answers the max, ``ix_*_unfed`` (partial, seq IS NULL) the count
VERSION_SQL = text("""
    SELECT (SELECT COALESCE(max(seq), 0) FROM change_log),
           (SELECT count(*) FROM change_log WHERE seq IS NULL),
           (SELECT COALESCE(max(seq), 0) FROM code_lineage),
           (SELECT count(*) FROM code_lineage WHERE seq IS NULL)""")

Key = tuple[Any, ...]


def data_version(session: Session) -> tuple[int, ...]:
    """A value that changes with every committed change of the objects (see the module)."""
    row = session.execute(VERSION_SQL).one()
    return tuple(int(v) for v in row)


def scope_key(scope: Scope | None) -> tuple[str, int]:
    """The scope part of a key: ``("*", 0)`` for everything.

    >>> scope_key(None)
    ('*', 0)
    """
    return ("*", 0) if scope is None else (scope.code, scope.level)


class GapCache:
    """Least recently used cache of a computed layer's rows, keyed as the module says."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Key, list[Any]] = OrderedDict()
        self._computing: dict[Key, threading.Lock] = {}  # one computation per key at a time
        self._lock = threading.Lock()

    def _cached(self, key: Key) -> list[Any] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return found

    def rows(self, session: Session, scope: Scope | None, *, metric_srid: int,
             compute: Callable[[], list[Any]]) -> list[Any]:
        """The rows of ``scope`` at the current data version: cached, else ``compute()``.

        A map asks for several tiles of a scope at once: the first computes, the others
        (same key) wait for it instead of computing the same gaps side by side; other
        scopes' tiles do not wait."""
        key = (scope_key(scope), metric_srid, dt.date.today(), data_version(session))
        found = self._cached(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            found = self._cached(key)
            if found is not None:
                return found
            try:
                computed = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                self.misses += 1
                self._entries[key] = computed
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return computed
