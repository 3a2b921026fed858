"""Async psycopg connections of the compiled fast path, made from the app's engine.

The fast path's one statement runs on the event loop's own connections (psycopg's async
API), so a request costs no worker-thread hop and one worker serves concurrent requests
while PostgreSQL works. The connections are made from the engine that ``make_engine``
built (same URL, same adapters) and set up as its ``connect`` hook sets its own: UTC,
``plan_cache_mode = force_custom_plan`` and the statement timeout; they run in autocommit
(one statement = one transaction, no BEGIN/COMMIT round trips).

Connections belong to one event loop: when a request arrives on another loop (tests start
one per client), the idle ones of the old loop are closed and new ones are made.
A connection whose statement failed for a reason other than the statement itself is closed
rather than reused.

Example::

    conns = AsyncConnections(engine, statement_timeout_ms=5000)
    async with conns.connection() as conn:
        row = await (await conn.execute("SELECT 1")).fetchone()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine

#: idle connections kept per process (a worker rarely runs more statements at once)
MAX_IDLE = 8
#: called with each statement's SQL and parameters before it is sent (tests capture
#: statements with it, as with SQLAlchemy's ``before_cursor_execute`` for the engine's)
LISTENERS: list[Callable[[str, Any], None]] = []


async def execute(conn: psycopg.AsyncConnection[Any], sql: str,
                  params: Any = None) -> psycopg.AsyncCursor[Any]:
    """``conn.execute`` that tells :data:`LISTENERS` first."""
    for listener in LISTENERS:
        listener(sql, params)
    return await conn.execute(sql, params)


class AsyncConnections:
    def __init__(self, engine: Engine, *, statement_timeout_ms: int) -> None:
        _, params = engine.dialect.create_connect_args(engine.url)
        self._params: dict[str, Any] = dict(params)
        self.statement_timeout_ms = statement_timeout_ms
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(**self._params, autocommit=True)
        await conn.execute(f"SET TIME ZONE 'UTC'; SET plan_cache_mode = force_custom_plan; "
                           f"SET statement_timeout = {int(self.statement_timeout_ms)}")
        return conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop = loop
        conn = self._idle.pop() if self._idle else await self._connect()
        try:
            yield conn
        except psycopg.errors.QueryCanceled:
            self._keep(conn)  # the deadline cancelled the statement: the connection is fine
            raise
        except BaseException:
            await conn.close()
            raise
        self._keep(conn)

    def _keep(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if (len(self._idle) < MAX_IDLE and not conn.closed
                and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE):
            self._idle.append(conn)
        else:
            conn.pgconn.finish()

    def close(self) -> None:
        """Close the idle connections (synchronously: their loop may be gone)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.pgconn.finish()
