"""Mutations of the code engine: code-assignment jobs and the house lifecycle. Needs ``coder``.

A scope, job or code outside the caller's scope gives the same ``NotFoundError`` as one that
does not exist. The work itself is done by :mod:`cimhouse.coding`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from cimhouse.coding.jobs import cancel_job, enqueue_code_assignment
from cimhouse.errors import NotFound
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.operations import JobType, load_job
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.schema import Estate, Region
from cimhouse.schema.vocab import Role
from cimhouse.scope import parse_scope, scope_filter


@strawberry.type
class JobPayload:
    job: JobType


JobResult = Annotated[
    JobPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("JobResult")]


def _scope_exists(ctx: RequestContext, raw: str) -> str:
    wanted = parse_scope(raw)
    if not ctx.scope.covers_scope(wanted):
        raise NotFound("scope not found")
    if wanted.is_estate:
        query = select(Estate.code).where(Estate.code == wanted.code,
                                          scope_filter(Estate, ctx.scope))
    else:
        query = select(Region.code).where(Region.code == wanted.code,
                                          Region.valid_to.is_(None))
    if ctx.session.scalar(query) is None:
        raise NotFound("scope not found")
    return wanted.code


def start_assignment(ctx: RequestContext, scope: str) -> JobPayload:
    ctx.require(Role.CODER)
    job = enqueue_code_assignment(ctx.session, _scope_exists(ctx, scope), actor=ctx.actor)
    return JobPayload(job=JobType.from_row(job))


def cancel(info: Info[RequestContext, None], job_id: int) -> JobPayload:
    ctx = info.context
    ctx.require(Role.CODER)
    if load_job(info, job_id) is None:
        raise NotFound(f"job {job_id} not found")
    return JobPayload(job=JobType.from_row(cancel_job(ctx.session, job_id, actor=ctx.actor)))


@strawberry.type
class CodeMutation:
    @strawberry.mutation(description="Queue a code assignment for every uncoded estate, "
                                      "building and house in a scope inside yours.")
    def start_code_assignment(self, info: Info[RequestContext, None],
                              scope: str) -> JobResult:
        return run_mutation(info.context.session, lambda: start_assignment(info.context, scope))

    @strawberry.mutation(description="Cancel a queued job, or ask a running one to stop.")
    def cancel_job(self, info: Info[RequestContext, None], job_id: int) -> JobResult:
        return run_mutation(info.context.session, lambda: cancel(info, job_id))
