"""The FastAPI application serving ``/graphql``; built by :func:`create_app`.

Every request to ``/graphql`` needs ``Authorization: Bearer <token>`` (see
``cimhouse tokens create``); the token's principal decides the scope and roles. One session
and one transaction per request, with the statement timeout of the settings.

Example::

    app = create_app(Settings.from_env())
    uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from cimhouse.api.hardening import RequestHardening
from cimhouse.api.language import RequestLanguage
from cimhouse.api.ogc import ogc_router
from cimhouse.api.readings import install_readings
from cimhouse.api.tiles import tiles_router
from cimhouse.api.web import add_map_routes, add_vendor_routes
from cimhouse.auth.principal import Principal
from cimhouse.auth.tokens import authenticate, bearer_token
from cimhouse.db import make_engine
from cimhouse.errors import CimhouseError, DatabaseUnavailable, Unauthenticated, error_code
from cimhouse.exports.gap_cache import GapCache
from cimhouse.graphql.compiled.connections import AsyncConnections
from cimhouse.graphql.compiled.edge import CompiledRouter, install_deadline
from cimhouse.graphql.compiled.fastpath import CompiledFastPath
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.protection import both_languages
from cimhouse.graphql.schema import build_schema
from cimhouse.i18n import _, current_language, render
from cimhouse.scope import Scope
from cimhouse.settings import Settings

log = logging.getLogger("cimhouse.api")

#: serves the GraphiQL page only (queries via GET are off); it can read nothing
IDE_VIEWER = Principal(id=0, name="graphiql-page", scope=Scope("99", 1), roles=frozenset())
#: a WebSocket before its subscription signs in (the token may come in connection_init):
#: it can read nothing; the subscription resolver authenticates the token itself
WS_UNSIGNED = Principal(id=0, name="websocket", scope=Scope("99", 1), roles=frozenset())


def _wants_ide(request: HTTPConnection, settings: Settings) -> bool:
    return (settings.dev and request.scope.get("method") == "GET"
            and "text/html" in request.headers.get("accept", ""))


def create_app(settings: Settings, engine: Engine | None = None, *,
               compiled: bool | None = None) -> FastAPI:
    """The app; ``compiled=False`` (default: ``settings.graphql_compiled``) serves every
    query through the resolvers (the oracle of the compiled path)."""
    db = engine or make_engine(settings, statement_timeout_ms=settings.statement_timeout_ms)

    async def request_session() -> AsyncIterator[Session]:
        # The transaction is committed by RequestTransaction (or the compiled path) after
        # the operation; anything left uncommitted (a failed request) is rolled back when
        # the session closes. Async, so that a request costs no extra thread hops: only a
        # session still holding a transaction is closed (rolled back) in a worker thread.
        session = Session(db, expire_on_commit=False)
        try:
            yield session
        finally:
            if session.in_transaction():
                await anyio.to_thread.run_sync(session.close)
            else:
                session.close()

    async def context(request: HTTPConnection, session: Session = Depends(request_session)
                      ) -> RequestContext:
        if _wants_ide(request, settings) and "authorization" not in request.headers:
            return RequestContext(session=session, settings=settings, principal=IDE_VIEWER)
        if request.scope["type"] == "websocket":
            return RequestContext(session=session, settings=settings, principal=WS_UNSIGNED)
        token = bearer_token(request.headers.get("authorization"))

        def sign_in() -> Principal:  # in a worker thread: the event loop never waits on SQL
            try:
                principal = authenticate(session, token)
                session.commit()  # last_used_at; releases the snapshot before the query
            except SQLAlchemyError:
                session.rollback()
                raise DatabaseUnavailable(_("the database is not available")) from None
            return principal

        principal = await anyio.to_thread.run_sync(sign_in)
        return RequestContext(session=session, settings=settings, principal=principal)

    fast_connections = AsyncConnections(db, statement_timeout_ms=settings.statement_timeout_ms)

    warmed = threading.Event()  # set once the start-up's warm-up is over (app.state.warmed)

    def warm_gazetteer() -> None:
        # The first address search of a process would load ~27,000 regions inside its
        # request deadline (over 5 s on a loaded machine): load them in the background as
        # the server starts (a search arriving meanwhile waits for this one load).
        from cimhouse.addressing.gazetteer import Gazetteer

        try:
            with Session(db) as session:
                Gazetteer.cached(session)
        except SQLAlchemyError:  # no database yet: the first search loads it
            log.warning("gazetteer not preloaded: the database is not available")
        finally:
            warmed.set()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=warm_gazetteer, name="gazetteer-warm-up", daemon=True).start()
        yield
        fast_connections.close()
        if engine is None:
            db.dispose()

    # No /docs, /redoc or /openapi.json: the contract is the GraphQL SDL, and those pages
    # would answer without a token and load scripts from a CDN.
    app = FastAPI(title="cimhouse", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.warmed = warmed

    @app.exception_handler(CimhouseError)
    async def cimhouse_error(_: Request, exc: CimhouseError) -> JSONResponse:
        status, code = error_code(exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse({"errors": [{"message": render(exc.message, current_language()),
                                         "extensions": {"code": code,
                                                        **both_languages(exc.message)}}]},
                            status_code=status, headers=headers)

    # Queries compile to one SQL statement where they can; the rest take the resolvers.
    install_deadline(db)
    router = CompiledRouter(
        build_schema(), settings,
        compiled=settings.graphql_compiled if compiled is None else compiled,
        context_getter=context,
        allow_queries_via_get=False, graphql_ide="graphiql" if settings.dev else None)
    app.include_router(router, prefix="/graphql")
    # Compiled queries are answered in front of FastAPI and strawberry (one statement, the
    # token re-checked inside it); the hardening stays outermost (added last).
    app.add_middleware(CompiledFastPath, reads=router.reads, engine=db, settings=settings,
                       connections=fast_connections, enabled=router.compiled)
    app.add_middleware(RequestLanguage)  # Accept-Language -> the language of messages
    app.add_middleware(RequestHardening)  # body size cap, nosniff, no-store

    # OGC API Features and vector tiles, token-scoped (gaps measured in METRIC_CRS)
    app.include_router(ogc_router(db, settings.metric_srid), prefix="/ogc")
    app.state.gap_cache = GapCache()  # a scope's gaps once per data version, not per tile
    app.include_router(tiles_router(db, settings.metric_srid, app.state.gap_cache),
                       prefix="/tiles")

    @app.get("/graphql/stats")
    def graphql_stats() -> dict[str, object]:
        """Compiled and fallback counts of this worker process (no data, no queries)."""
        return router.reads.stats.as_dict()

    add_vendor_routes(app)
    add_map_routes(app, settings, db)
    install_readings(app, db)  # POST /safety/readings for gateways

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several worker processes read the environment)."""
    return create_app(Settings.from_env())
