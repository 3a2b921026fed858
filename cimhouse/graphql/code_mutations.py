"""Mutations of the code engine: code-assignment jobs and the house lifecycle. Needs ``coder``.

A scope, job or code outside the caller's scope gives the same ``NotFoundError`` as one that
does not exist. The work itself is done by :mod:`cimhouse.coding`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from cimhouse.coding import merge_houses, retire_house, split_house
from cimhouse.coding.jobs import cancel_job, enqueue_code_assignment
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.graphql.built import HouseType
from cimhouse.graphql.codes import canonical_code, scoped_registry
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.operations import JobType, load_job
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.i18n import _
from cimhouse.schema import Estate, Region
from cimhouse.schema.vocab import RetiringStatus, Role
from cimhouse.scope import scope_filter


@strawberry.type
class JobPayload:
    job: JobType


JobResult = Annotated[
    JobPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("JobResult")]


@strawberry.type
class HousePayload:
    house: HouseType


@strawberry.type
class CodesPayload:
    codes: list[str] = strawberry.field(description="The new house codes, in order.")
    houses: list[HouseType]


strawberry.enum(RetiringStatus, name="RetireStatus", description="Why a house leaves the register.")
RetireStatus = RetiringStatus


HouseResult = Annotated[
    HousePayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("HouseResult")]
CodesResult = Annotated[
    CodesPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CodesResult")]


def _code_in_scope(ctx: RequestContext, raw: str) -> str:
    """The canonical code when its object lies in scope; else the 'never issued' NotFound."""
    canonical = canonical_code(raw)
    if canonical not in scoped_registry(ctx.session, ctx.scope, [canonical]):
        raise NotFound(_("code {code} has never been issued", code=canonical))
    return canonical


def _houses(ctx: RequestContext, codes: list[str]) -> CodesPayload:
    found = scoped_registry(ctx.session, ctx.scope, codes)
    return CodesPayload(codes=codes, houses=[HouseType.from_row(found[c][1]) for c in codes
                                             if c in found])


def retire(ctx: RequestContext, code: str, status: RetireStatus, reason: str) -> HousePayload:
    ctx.require(Role.CODER)
    house = retire_house(ctx.session, _code_in_scope(ctx, code), status.value,
                         actor=ctx.actor, reason=reason)
    return HousePayload(house=HouseType.from_row(house))


def split(ctx: RequestContext, code: str, parts: int) -> CodesPayload:
    ctx.require(Role.CODER)
    return _houses(ctx, split_house(ctx.session, _code_in_scope(ctx, code), parts,
                                    actor=ctx.actor))


def merge(ctx: RequestContext, codes: list[str]) -> CodesPayload:
    ctx.require(Role.CODER)
    if len(codes) > 50:
        raise InvalidInput(_("merge at most 50 houses at once"))
    canonical = [_code_in_scope(ctx, code) for code in codes]
    return _houses(ctx, [merge_houses(ctx.session, canonical, actor=ctx.actor)])


def _scope_exists(ctx: RequestContext, raw: str) -> str:
    wanted = ctx.narrow_scope(raw)
    if wanted.is_estate:
        query = select(Estate.code).where(Estate.code == wanted.code,
                                          scope_filter(Estate, ctx.scope))
    else:
        query = select(Region.code).where(Region.code == wanted.code,
                                          Region.valid_to.is_(None))
    if ctx.session.scalar(query) is None:
        raise NotFound(_("scope {code} not found (unknown, or outside your scope)",
                         code=wanted.code))
    return wanted.code


def start_assignment(ctx: RequestContext, scope: str) -> JobPayload:
    ctx.require(Role.CODER)
    job = enqueue_code_assignment(ctx.session, _scope_exists(ctx, scope), actor=ctx.actor)
    return JobPayload(job=JobType.from_row(job))


def cancel(info: Info[RequestContext, None], job_id: int) -> JobPayload:
    ctx = info.context
    ctx.require(Role.CODER)
    if load_job(info, job_id) is None:
        raise NotFound(_("job {job_id} not found", job_id=job_id))
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

    @strawberry.mutation(description="Retire a house (demolished or registered in error); "
                                      "its code is never reused.")
    def retire_house(self, info: Info[RequestContext, None], code: str, status: RetireStatus,
                     reason: str) -> HouseResult:
        return run_mutation(info.context.session,
                            lambda: retire(info.context, code, status, reason))

    @strawberry.mutation(description="Replace a house by 2 or more new houses (new codes, "
                                      "lineage recorded).")
    def split_house(self, info: Info[RequestContext, None], code: str,
                    parts: int) -> CodesResult:
        return run_mutation(info.context.session, lambda: split(info.context, code, parts))

    @strawberry.mutation(description="Replace houses of one building by one new house.")
    def merge_houses(self, info: Info[RequestContext, None],
                     codes: list[str]) -> CodesResult:
        return run_mutation(info.context.session, lambda: merge(info.context, codes))
