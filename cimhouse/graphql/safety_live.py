"""The alert subscription: new and changed alerts in the caller's scope, over WebSocket.

``subscription { safetyAlertChanges(kind: GAS) { id kind state severity houseCode ... } }``
over graphql-transport-ws at ``/graphql``. The token comes in the WebSocket request's
``Authorization`` header or in ``connection_init``'s payload
(``{"Authorization": "Bearer ..."}``, what browsers can send).

How an alert reaches a subscriber:

1. whoever changes an alert (a rule, the escalation, acknowledge / resolve) sends
   ``NOTIFY cimhouse_safety_alert, 'county:id'`` in its transaction, so it is heard at commit
   and never for a rolled-back change (:func:`cimhouse.safety.escalate.notify_changed`);
2. one :class:`AlertHub` per process LISTENs on one connection and hands each payload to
   every subscriber's queue (the payload names an alert, nothing more);
3. each subscriber re-reads the alerts *through its principal's scope filter in SQL*
   (and checks in the same transaction that its token is still valid, with the same scope):
   an alert of another community is simply not found, so it never reaches the subscriber.

A notification while a subscriber's queue is full (:data:`QUEUE_SIZE`, a stalled client)
is dropped for that subscriber only; changes while a client is disconnected are not
replayed: a client re-reads ``safetyAlerts`` after reconnecting.

Example (Python, the ``websockets`` package)::

    async with websockets.connect("ws://127.0.0.1:8000/graphql",
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send('{"type": "connection_init", "payload": {"Authorization": "Bearer T"}}')
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator

import anyio
import psycopg
import strawberry
from sqlalchemy import Engine, select, tuple_
from sqlalchemy.orm import Session
from strawberry.types import Info

from cimhouse.auth.principal import Principal
from cimhouse.auth.tokens import authenticate, bearer_token, hash_token
from cimhouse.errors import Unauthenticated
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.safety import SafetyAlertType, alert_query, alert_type
from cimhouse.i18n import _
from cimhouse.safety.escalate import ALERT_CHANNEL
from cimhouse.schema import ApiPrincipal, House
from cimhouse.schema.safety import SafetyAlert
from cimhouse.schema.vocab import AlertKind, AlertState, Role
from cimhouse.scope import scope_filter

log = logging.getLogger(__name__)
QUEUE_SIZE = 1000
BATCH = 200  # alerts re-read in one statement
RECONNECT_S = 1.0


def libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class AlertHub:
    """One LISTEN connection of this process, fanned out to the subscribers' queues."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.queues: set[asyncio.Queue[str]] = set()
        self.listening = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def subscribe(self) -> asyncio.Queue[str]:
        """A new queue; returns once LISTEN is in force (nothing committed later is missed)."""
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._listen())
        await self.listening.wait()
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        self.queues.discard(queue)
        if not self.queues and self.task is not None:
            self.task.cancel()  # nobody listens: give the connection back
            self.task = None
            self.listening.clear()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {ALERT_CHANNEL}")
                    self.listening.set()
                    async for note in conn.notifies():
                        for queue in list(self.queues):
                            with contextlib.suppress(asyncio.QueueFull):
                                queue.put_nowait(note.payload)
            except asyncio.CancelledError:
                raise
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("alert listener lost its connection (%s); reconnecting",
                            type(exc).__name__)
                await asyncio.sleep(RECONNECT_S)


_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AlertHub]] = (
    weakref.WeakKeyDictionary())


def hub_for(engine: Engine) -> AlertHub:
    """The hub of this event loop and database (one LISTEN connection each)."""
    conninfo = libpq_url(engine)
    hubs = _HUBS.setdefault(asyncio.get_running_loop(), {})
    if conninfo not in hubs:
        hubs[conninfo] = AlertHub(conninfo)
    return hubs[conninfo]


def _token(ctx: RequestContext) -> str:
    params = ctx.connection_params if isinstance(ctx.connection_params, dict) else {}
    raw = params.get("Authorization") or params.get("authorization")
    if raw is None and ctx.request is not None:
        raw = ctx.request.headers.get("authorization")
    return bearer_token(raw if isinstance(raw, str) else None)


def _sign_in(engine: Engine, token: str) -> Principal:
    with Session(engine) as session, session.begin():
        return authenticate(session, token)


def _read(engine: Engine, principal: Principal, token_hash: bytes, keys: list[tuple[str, int]],
          kind: AlertKind | None, state: AlertState | None) -> list[SafetyAlertType]:
    """The changed alerts the principal may see, re-read in SQL through its scope."""
    with Session(engine) as session, session.begin():
        valid = session.scalar(select(ApiPrincipal.id).where(
            ApiPrincipal.id == principal.id, ApiPrincipal.token_hash == token_hash,
            ApiPrincipal.scope_code == principal.scope.code,
            ApiPrincipal.revoked_at.is_(None)))
        if valid is None:
            raise Unauthenticated(_("invalid or revoked token"))
        query = alert_query().where(scope_filter(House, principal.scope),
                                    tuple_(SafetyAlert.county, SafetyAlert.id).in_(keys))
        if kind is not None:
            query = query.where(SafetyAlert.kind == kind.value)
        if state is not None:
            query = query.where(SafetyAlert.state == state.value)
        rows = session.execute(query.order_by(SafetyAlert.county, SafetyAlert.id)).all()
        show = principal.has(Role.PERSON_READER)
        return [alert_type(r, show) for r in rows]


def _keys(payloads: list[str]) -> list[tuple[str, int]]:
    keys = []
    for payload in payloads:
        county, _sep, raw = payload.partition(":")
        if raw.isdigit():
            keys.append((county, int(raw)))
    return sorted(set(keys))


@strawberry.type
class SafetySubscription:
    @strawberry.subscription(description=(
        "New and changed safety alerts in your scope (graphql-transport-ws). Each message "
        "is the alert as it is now; alerts outside your scope never arrive."))
    async def safety_alert_changes(
            self, info: Info[RequestContext, None], kind: AlertKind | None = None,
            state: AlertState | None = None) -> AsyncGenerator[SafetyAlertType, None]:
        ctx = info.context
        engine = ctx.session.get_bind()
        assert isinstance(engine, Engine)
        token = _token(ctx)
        principal = await anyio.to_thread.run_sync(_sign_in, engine, token)
        principal.require(Role.READER)
        digest = hash_token(token)
        hub = hub_for(engine)
        queue = await hub.subscribe()
        try:
            while True:
                payloads = [await queue.get()]
                while not queue.empty() and len(payloads) < BATCH:
                    payloads.append(queue.get_nowait())
                alerts = await anyio.to_thread.run_sync(
                    _read, engine, principal, digest, _keys(payloads), kind, state)
                for alert in alerts:
                    yield alert
        finally:
            hub.unsubscribe(queue)





def subscriber_count() -> int:
    """Subscribers of this process whose LISTEN is in force (tests and the bench wait on it)."""
    return sum(len(hub.queues) for hubs in list(_HUBS.values()) for hub in hubs.values()
               if hub.listening.is_set())
