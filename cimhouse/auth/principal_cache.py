"""Principals remembered per token hash, re-checked by the database inside every read.

The compiled GraphQL fast path (:mod:`cimhouse.graphql.compiled.fastpath`) must know the
principal before it can pick a plan (roles and scope level shape the SQL, the scope's codes
are parameters), but a token check of its own would cost a transaction per request. So:

- :meth:`PrincipalCache.sign_in` runs the full :func:`~cimhouse.auth.tokens.authenticate`
  (which also writes ``last_used_at``) and remembers what it found: the principal id, the
  stored scope and roles, and a signature of the region changes its county keys came from;
- :meth:`PrincipalCache.guard` turns a remembered entry into a ``WHERE EXISTS (...)`` that the
  fast path appends to its one statement. PostgreSQL evaluates it before the select list
  (a one-time filter), so when the token was revoked, or its scope or roles changed, or a
  region change moved county keys since, the statement returns **no row** and computes no
  data; the fast path then forgets the entry and hands the request to the full path, which
  authenticates again (and refuses a revoked token). Revocation is therefore immediate:
  nothing is trusted from the cache that the same statement does not re-check.
- an entry older than :data:`~cimhouse.auth.tokens.LAST_USED_RESOLUTION` is not used, so
  ``last_used_at`` keeps its one-minute resolution.

Example::

    cache = PrincipalCache()
    entry = cache.get(hash_token(token)) or cache.sign_in(session, token)
    suffix, params = cache.guard(entry)   # sql + suffix, {**plan_params, **params}
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.auth.principal import Principal
from cimhouse.auth.tokens import LAST_USED_RESOLUTION, authenticate, hash_token
from cimhouse.schema import ApiPrincipal

MAX_ENTRIES = 4096

#: one text per set of applied region changes (``with_county_keys`` reads the same rows)
MOVES_SIGNATURE = ("SELECT coalesce(md5(string_agg((options -> 'mapping')::text, '|' "
                   "ORDER BY id)), '') FROM job WHERE kind = 'region_change'")

GUARD = (" WHERE EXISTS (SELECT 1 FROM api_principal WHERE id = %(guard_id)s"
         " AND token_hash = %(guard_hash)s AND revoked_at IS NULL"
         " AND scope_code = %(guard_scope)s AND roles @> %(guard_roles)s::text[]"
         " AND roles <@ %(guard_roles)s::text[])")
GUARD_MOVES = f" AND ({MOVES_SIGNATURE}) = %(guard_moves)s"


@dataclass(frozen=True)
class CachedPrincipal:
    principal: Principal
    digest: bytes
    scope_code: str
    roles: tuple[str, ...]
    #: region-change signature the county keys were resolved under (None: keys unused)
    moves: str | None
    signed_in: float


class PrincipalCache:
    """Token hash -> principal of one process, each use re-checked in SQL (module doc)."""

    def __init__(self, max_age_s: float = LAST_USED_RESOLUTION.total_seconds()) -> None:
        self.max_age_s = max_age_s
        self._entries: dict[bytes, CachedPrincipal] = {}
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> CachedPrincipal | None:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry.signed_in > self.max_age_s:
            return None
        return entry

    def drop(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def sign_in(self, session: Session, token: str) -> CachedPrincipal:
        """Authenticate (raises ``Unauthenticated``), commit ``last_used_at``, remember."""
        # Read before authenticate: a region change landing in between leaves an older
        # signature with newer keys, which the next guard refuses (never the other way).
        moves = str(session.execute(text(MOVES_SIGNATURE)).scalar_one())
        principal = authenticate(session, token)
        row = session.get(ApiPrincipal, principal.id)
        assert row is not None  # authenticate just loaded it
        entry = CachedPrincipal(
            principal=principal, digest=hash_token(token), scope_code=row.scope_code,
            roles=tuple(sorted(row.roles)),
            moves=moves if principal.scope.county_keys else None,
            signed_in=time.monotonic())
        session.commit()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[entry.digest] = entry
        return entry

    @staticmethod
    def guard(entry: CachedPrincipal) -> tuple[str, dict[str, Any]]:
        """The ``WHERE`` to append to a FROM-less ``SELECT`` and its parameters."""
        params: dict[str, Any] = {"guard_id": entry.principal.id, "guard_hash": entry.digest,
                                  "guard_scope": entry.scope_code,
                                  "guard_roles": list(entry.roles)}
        if entry.moves is None:
            return GUARD, params
        params["guard_moves"] = entry.moves
        return GUARD + GUARD_MOVES, params
