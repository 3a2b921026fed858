"""The FastAPI application serving ``/graphql``; built by :func:`create_app`.

Example::

    app = create_app(Settings.from_env())
    uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from strawberry.fastapi import GraphQLRouter

from cimhouse.db import make_engine
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.schema import build_schema
from cimhouse.settings import Settings


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    db = engine or make_engine(settings, statement_timeout_ms=settings.statement_timeout_ms)

    def request_session() -> Iterator[Session]:
        with Session(db, expire_on_commit=False) as session, session.begin():
            yield session

    async def context(session: Session = Depends(request_session)) -> RequestContext:
        return RequestContext(session=session, settings=settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if engine is None:
            db.dispose()

    app = FastAPI(title="cimhouse", version="0.1.0", lifespan=lifespan)
    router: GraphQLRouter[RequestContext, None] = GraphQLRouter(
        build_schema(), context_getter=context, graphql_ide="graphiql" if settings.dev else None
    )
    app.include_router(router, prefix="/graphql")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
