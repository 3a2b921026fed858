"""Jobs and import runs.

A job is visible when its scope lies inside the caller's scope. Import runs carry no region
(one file may span a province), so they are shown to ``importer`` principals whose scope is
a whole province, plus runs that recorded an ``options.scope`` inside the caller's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import strawberry
from sqlalchemy import ColumnElement, Select, false, func, select, true
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.graphql.common import (
    Connection,
    Node,
    decode_cursor,
    global_id,
    make_connection,
    page_size,
)
from cimhouse.graphql.context import RequestContext
from cimhouse.schema import ImportRun, Job
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope


@strawberry.type(name="Job", description="An administrative job (code assignment, ...).")
class JobType(Node):
    job_id: int
    kind: str
    scope_code: str | None
    status: str
    requested_by: str | None
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: JSON
    error: str | None

    @classmethod
    def from_row(cls, row: Job) -> JobType:
        return cls(id=global_id("Job", str(row.id)), job_id=row.id, kind=row.kind,
                   scope_code=row.scope_code, status=row.status,
                   requested_by=row.requested_by, requested_at=row.requested_at,
                   started_at=row.started_at, finished_at=row.finished_at,
                   counts=cast(JSON, row.counts or {}), error=row.error)


@strawberry.type(name="ImportRun", description="One run of an importer and its row counts.")
class ImportRunType(Node):
    run_id: int
    kind: str
    file_name: str | None
    file_sha256: str | None
    status: str
    dry_run: bool
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    summary: JSON

    @classmethod
    def from_row(cls, row: ImportRun) -> ImportRunType:
        return cls(id=global_id("ImportRun", str(row.id)), run_id=row.id, kind=row.kind,
                   file_name=row.file_name, file_sha256=row.file_sha256, status=row.status,
                   dry_run=row.dry_run, rows_read=row.rows_read,
                   rows_accepted=row.rows_accepted, rows_rejected=row.rows_rejected,
                   started_at=row.started_at, finished_at=row.finished_at,
                   summary=cast(JSON, row.summary or {}))


def job_in_scope(scope: Scope) -> ColumnElement[bool]:
    if scope.is_estate:
        return Job.scope_code == scope.code
    return Job.scope_code.startswith(scope.code, autoescape=True)


def import_run_in_scope(scope: Scope) -> ColumnElement[bool]:
    if scope.level == 1:
        return true()
    if scope.is_estate:
        return cast(ColumnElement[bool], ImportRun.options["scope"].astext == scope.code)
    return cast(ColumnElement[bool],
                ImportRun.options["scope"].astext.startswith(scope.code, autoescape=True))


def _id_after(model: Any, after: str | None, kind: str) -> ColumnElement[bool]:
    if not after:
        return true()
    key = decode_cursor(after, kind)
    if not key.isdigit():
        return false()
    return model.id < int(key)  # type: ignore[no-any-return]


def _counter(ctx: RequestContext, query: Select[Any], column: Any) -> Callable[[], int]:
    def count() -> int:
        return int(ctx.session.scalar(select(func.count()).select_from(
            query.with_only_columns(column).subquery())) or 0)
    return count


def resolve_jobs(info: Info[RequestContext, None], status: list[str] | None = None,
                 kind: str | None = None, first: int | None = 50,
                 after: str | None = None) -> Connection[JobType]:
    """Jobs in scope, newest first."""
    ctx = info.context
    ctx.require(Role.READER)
    limit = page_size(first, ctx.settings)
    query = select(Job).where(job_in_scope(ctx.scope))
    if status:
        query = query.where(Job.status.in_(status))
    if kind:
        query = query.where(Job.kind == kind)
    rows = ctx.session.scalars(query.where(_id_after(Job, after, "job"))
                               .order_by(Job.id.desc()).limit(limit + 1)).all()
    return make_connection(rows, limit, "job", lambda r: str(r.id), JobType.from_row,
                           count_query=_counter(ctx, query, Job.id))


def resolve_import_runs(info: Info[RequestContext, None], kind: str | None = None,
                        first: int | None = 50,
                        after: str | None = None) -> Connection[ImportRunType]:
    """Import runs visible to an importer (see module docstring), newest first."""
    ctx = info.context
    ctx.require(Role.IMPORTER)
    limit = page_size(first, ctx.settings)
    query = select(ImportRun).where(import_run_in_scope(ctx.scope))
    if kind:
        query = query.where(ImportRun.kind == kind)
    rows = ctx.session.scalars(query.where(_id_after(ImportRun, after, "import_run"))
                               .order_by(ImportRun.id.desc()).limit(limit + 1)).all()
    return make_connection(rows, limit, "import_run", lambda r: str(r.id),
                           ImportRunType.from_row, count_query=_counter(ctx, query, ImportRun.id))


def load_job(info: Info[RequestContext, None], job_id: int) -> Job | None:
    ctx = info.context
    return ctx.session.scalar(select(Job).where(Job.id == job_id, job_in_scope(ctx.scope)))


@strawberry.type
class OperationsQuery:
    jobs: Connection[JobType] = strawberry.field(resolver=resolve_jobs)
    import_runs: Connection[ImportRunType] = strawberry.field(resolver=resolve_import_runs)


__all__ = ["ImportRunType", "JobType", "OperationsQuery", "import_run_in_scope"]
