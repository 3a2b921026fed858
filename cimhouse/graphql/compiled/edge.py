"""The HTTP edge of the compiled path: a strawberry router that tries it first.

:class:`CompiledRouter` is strawberry's FastAPI router with ``execute_single`` replaced:

1. the request deadline starts (:data:`REQUEST_DEADLINE`, see :func:`install_deadline`);
2. the document is parsed and validated once (cached) and its cost estimated
   (:mod:`cimhouse.graphql.compiled.cost`); over budget: ``QUERY_TOO_EXPENSIVE``, no SQL;
3. a query that compiles runs as one statement in a worker thread; the body is
   ``{"data":`` + PostgreSQL's JSON text + ``}``, never parsed into Python objects;
4. anything else (mutations, fields not compiled yet, inputs the resolvers refuse, invalid
   documents) takes strawberry's resolver path, run in a worker thread with its own event
   loop so that its synchronous SQLAlchemy session never blocks the server's loop.

Example::

    router = CompiledRouter(schema, settings, context_getter=context)
    app.include_router(router, prefix="/graphql")
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import weakref
from typing import Any

import anyio
from fastapi import Response, status
from graphql import GraphQLError
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionResult

from cimhouse.errors import CimhouseError, DeadlineExceeded, error_code
from cimhouse.graphql.compiled.fastpath import TRIED
from cimhouse.graphql.compiled.service import CompiledReads
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.input_limits import check_variables
from cimhouse.graphql.protection import TIMEOUT_MESSAGE, safe_error
from cimhouse.settings import Settings

log = logging.getLogger("cimhouse.graphql.compiled")

#: monotonic time by which the current request's SQL must have finished
REQUEST_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "cimhouse_request_deadline", default=None)
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def install_deadline(engine: Engine) -> None:
    """Before each statement of a request, cap it at the time left (one request budget)."""
    if engine in _ENGINES:
        return
    _ENGINES.add(engine)

    @event.listens_for(engine, "before_cursor_execute")
    def _cap(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
             executemany: bool) -> None:
        deadline = REQUEST_DEADLINE.get()
        if deadline is None:
            return
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise DeadlineExceeded(TIMEOUT_MESSAGE)
        cursor.execute(f"SET LOCAL statement_timeout = {left_ms}")


class RawData(str):
    """The ``data`` member as JSON text from PostgreSQL."""


class CompiledResult(ExecutionResult):
    body: str = ""


class CompiledRouter(GraphQLRouter[RequestContext, None]):
    def __init__(self, schema: Any, settings: Settings, *, compiled: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.reads = CompiledReads(schema._schema, settings)
        self.settings = settings
        self.compiled = compiled

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL with its scripts from this app's ``/vendor/`` (no CDN: works offline)."""
        from cimhouse.web.graphiql import offline_graphiql_html

        return offline_graphiql_html()

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any,
                             context: Any, root_value: Any, request_data: Any
                             ) -> ExecutionResult:
        if isinstance(context, RequestContext):
            REQUEST_DEADLINE.set(context.deadline)
        counted = getattr(request, "scope", {}).get(TRIED, False)
        if (request_adapter.method == "POST" and isinstance(context, RequestContext)
                and not counted):  # counted: the fast path found no plan, skip to resolvers
            early = await self._compiled(context, request_data)
            if early is not None:
                return early

        def resolve() -> ExecutionResult:
            return asyncio.run(GraphQLRouter.execute_single(
                self, request, request_adapter, sub_response, context, root_value,
                request_data))

        return await anyio.to_thread.run_sync(resolve)

    async def _compiled(self, context: RequestContext, request_data: Any
                        ) -> ExecutionResult | None:
        prepared = self.reads.document(request_data.query, request_data.operation_name)
        if prepared is None:
            return None
        variables = self.reads.variables(prepared, request_data.variables)
        if variables is None:
            return None
        try:  # the string limits of InputLimits; a refused value: the resolvers report it
            check_variables(self.reads.schema, prepared.document, request_data.operation_name,
                            request_data.variables)
        except CimhouseError:
            return None
        try:
            self.reads.check_cost(prepared, variables)
        except CimhouseError as exc:
            return ExecutionResult(data=None, errors=[GraphQLError(
                exc.message, extensions={"code": error_code(exc)[1]})])
        if not self.compiled:
            return None
        bound = self.reads.bind(request_data.query, prepared, variables, context.principal)
        if bound is None:
            return None
        session = context.session
        try:
            body = await anyio.to_thread.run_sync(
                self.reads.run, bound, session, context.remaining_ms())
        except (SQLAlchemyError, CimhouseError) as exc:
            await anyio.to_thread.run_sync(session.rollback)
            log.warning("compiled query failed: %s", type(exc).__name__)
            error = safe_error(GraphQLError("failed", original_error=exc))
            return ExecutionResult(data=None, errors=[error])
        if body is None:  # Citus could not plan it: counted fallback to the resolvers
            return None
        result = CompiledResult(data=None, errors=None)
        result.body = body
        return result

    async def process_result(self, request: Any, result: ExecutionResult) -> Any:
        if isinstance(result, CompiledResult):
            return RawData(result.body)
        return await super().process_result(request, result)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        if not isinstance(response_data, RawData):
            return super().create_response(response_data, sub_response)
        response = Response(b'{"data":' + response_data.encode() + b"}",
                            media_type="application/json",
                            status_code=sub_response.status_code or status.HTTP_200_OK)
        response.headers.raw.extend(sub_response.headers.raw)
        return response
