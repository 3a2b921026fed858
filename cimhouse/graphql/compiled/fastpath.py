"""The compiled read path without strawberry's executor: hash lookups, one statement, bytes.

:class:`CompiledFastPath` is an ASGI middleware in front of the FastAPI app (inside
:class:`~cimhouse.api.hardening.RequestHardening`, so the body cap and security headers
apply). For ``POST /graphql`` with a JSON body it does, in the event loop:

1. token -> principal from :class:`~cimhouse.auth.principal_cache.PrincipalCache` (a miss,
   or an entry older than a minute: the full sign-in, in a worker thread);
2. document -> parsed, validated operation (cached per text), variables coerced, the input
   limits and the cost budget checked (all before any SQL, as on the strawberry path);
3. (document, operation, principal shape) -> compiled plan (cached), parameters bound;
4. ONE autocommit statement on an async connection of the event loop
   (:mod:`~cimhouse.graphql.compiled.connections`, no thread hop): the plan's SQL with the
   token guard appended (revoked, changed or unknown -> no row); its JSON text is sent on
   as bytes.

Plans that reveal full ID numbers or phones run in a transaction instead: statement, audit
rows, commit, then decryption (:func:`cimhouse.graphql.compiled.reveal.reveal`), so no
full number leaves unless its audit row is committed.

Everything else goes to the app unchanged: GET, batches, mutations, invalid documents or
variables, over-budget queries (the strawberry edge words those errors), unknown tokens
(401 from the app), a guard that returned no row (the app signs in again). A query whose
plan does not compile is counted as a fallback here once and marked in the ASGI scope
(:data:`TRIED`) so that the edge goes straight to the resolvers.

Deadline: the statement runs under the connection's ``statement_timeout``,
``settings.statement_timeout_ms``; when the time already spent
before the statement (a sign-in, a plan compiled on a cache miss) exceeds
:data:`SLACK_MS`, the statement runs in a transaction with ``SET LOCAL`` of the time left.

Example::

    app.add_middleware(CompiledFastPath, router=router, engine=engine, settings=settings)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import psycopg
from graphql import GraphQLError
from sqlalchemy import Engine
from sqlalchemy.exc import NotSupportedError, SQLAlchemyError
from sqlalchemy.orm import Session

from cimhouse.auth.principal_cache import CachedPrincipal, PrincipalCache
from cimhouse.auth.tokens import bearer_token, hash_token
from cimhouse.errors import CimhouseError, TimedOut
from cimhouse.graphql.compiled.connections import AsyncConnections, execute
from cimhouse.graphql.compiled.reveal import reveal
from cimhouse.graphql.compiled.service import Bound, CompiledReads
from cimhouse.graphql.input_limits import check_variables
from cimhouse.graphql.protection import TIMEOUT_MESSAGE, safe_error
from cimhouse.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("cimhouse.graphql.compiled")
#: ASGI scope key: the fast path already counted this request's fallback
TRIED = "cimhouse.compiled_fallback_counted"
#: time before the statement tolerated without a transaction of its own (see module doc)
SLACK_MS = 50
JSON_HEADERS = [(b"content-type", b"application/json")]


class CompiledFastPath:
    """ASGI middleware answering compiled queries itself (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, reads: CompiledReads, engine: Engine,
                 settings: Settings, connections: AsyncConnections | None = None,
                 enabled: bool = True, path: str = "/graphql") -> None:
        self.app = app
        self.reads = reads
        self.engine = engine
        self.settings = settings
        self.enabled = enabled
        self.path = path
        self.principals = PrincipalCache()
        self.connections = connections or AsyncConnections(
            engine, statement_timeout_ms=settings.statement_timeout_ms)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.enabled and scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"].rstrip("/") == self.path):
            await self.app(scope, receive, send)
            return
        body, message = await _read_body(receive)
        answer = None
        if message is None:
            answer = await self._answer(scope, body)
        if answer is not None:
            await send({"type": "http.response.start", "status": 200, "headers": [
                *JSON_HEADERS, (b"content-length", str(len(answer)).encode())]})
            await send({"type": "http.response.body", "body": answer})
            return
        first: Message | None = message or {"type": "http.request", "body": body,
                                            "more_body": False}

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                pending, first = first, None
                return pending
            return await receive()

        await self.app(scope, replay, send)

    async def _answer(self, scope: Scope, body: bytes) -> bytes | None:
        """The response body, or None: the app answers (see the module docstring)."""
        started = time.monotonic()
        headers = dict(scope.get("headers") or [])
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            return None
        try:
            request = json.loads(body)
            token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        except (ValueError, CimhouseError):
            return None
        if not isinstance(request, dict):
            return None
        query, name, raw = (request.get("query"), request.get("operationName"),
                            request.get("variables"))
        if not (isinstance(query, str) and isinstance(name, str | None)
                and isinstance(raw, dict | None)):
            return None
        prepared = self.reads.document(query, name)
        if prepared is None or prepared.operation.operation.value != "query":
            return None
        variables = self.reads.variables(prepared, raw)
        if variables is None:
            return None
        try:
            check_variables(self.reads.schema, prepared.document, name, raw)
            self.reads.check_cost(prepared, variables)
        except CimhouseError:
            return None
        entry = self.principals.get(hash_token(token))
        if entry is None:
            entry = await anyio.to_thread.run_sync(self._sign_in, token)
            if entry is None:
                return None
        bound = self.reads.bind(query, prepared, variables, entry.principal)
        if bound is None:
            scope[TRIED] = True
            return None
        return await self._answer_bound(scope, bound, entry, started)

    async def _answer_bound(self, scope: Scope, bound: Bound, entry: CachedPrincipal,
                            started: float) -> bytes | None:
        try:
            data = await self._run(bound, entry, started)
        except (psycopg.errors.FeatureNotSupported, NotSupportedError) as exc:
            if not await anyio.to_thread.run_sync(self.reads.on_citus, self.engine):
                raise
            # Citus could not plan it (nested pages over shards of several counties):
            # counted once, the resolvers answer
            self.reads.citus_refused(getattr(exc, "orig", None) or exc)
            scope[TRIED] = True
            return None
        except (SQLAlchemyError, psycopg.Error, CimhouseError) as exc:
            log.warning("compiled query failed: %s", type(exc).__name__)
            cause: Exception = exc
            if isinstance(exc, psycopg.errors.QueryCanceled):  # the request's deadline
                cause = TimedOut(TIMEOUT_MESSAGE)
            error = safe_error(GraphQLError("failed", original_error=cause))
            return json.dumps({"data": None, "errors": [error.formatted]}).encode()
        if data is None:  # the guard refused the cached principal: sign in again
            self.principals.drop(entry.digest)
            return None
        return b'{"data":' + data.encode() + b"}"

    def _sign_in(self, token: str) -> CachedPrincipal | None:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                return self.principals.sign_in(session, token)
            except (CimhouseError, SQLAlchemyError):
                return None  # the app answers (401, or database unavailable)

    async def _run(self, bound: Bound, entry: CachedPrincipal, started: float) -> str | None:
        guard, guard_params = self.principals.guard(entry)
        sql, params = bound.plan.sql + guard, {**bound.params, **guard_params}
        timeout = self.settings.statement_timeout_ms
        left = timeout - int((time.monotonic() - started) * 1000)
        if bound.plan.reveals_pii:  # audit rows committed before any number leaves
            return await anyio.to_thread.run_sync(self._run_revealing, sql, params, bound,
                                                  left)
        async with self.connections.connection() as conn:
            if left >= timeout - SLACK_MS:
                row = await (await execute(conn, sql, params)).fetchone()
            else:
                async with conn.transaction():
                    await execute(conn, "SELECT set_config('statement_timeout', %s, true)",
                                  (str(max(1, left)),))
                    row = await (await execute(conn, sql, params)).fetchone()
        return None if row is None else str(row[0])

    def _run_revealing(self, sql: str, params: dict[str, Any], bound: Bound,
                       left: int) -> str | None:
        with Session(self.engine, expire_on_commit=False) as session:
            found = self.reads.run_sql(sql, params, session, left)
            return None if found is None else reveal(found, bound.env, session)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; a non-body message (disconnect) is returned for the app to see."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


