"""Code lookup (any form the parser accepts), validation, lineage and change history.

A code whose object lies outside the caller's scope looks exactly like an unknown code:
``lookup`` returns null and lineage leaves it out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.coding.house_code import HouseCode, decode, normalize, problem
from cimhouse.errors import InvalidInput
from cimhouse.graphql.built import BuildingType, EstateType, HouseType
from cimhouse.graphql.context import RequestContext
from cimhouse.i18n import _
from cimhouse.schema import Building, ChangeLog, CodeLineage, CodeRegistry, Estate, House
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope, code_county_keys, scope_filter

MODELS: dict[str, Any] = {"estate": Estate, "building": Building, "house": House}
MAX_LINEAGE_DEPTH = 20
MAX_HISTORY = 200


@strawberry.type(description="The parts of a house code.")
class CodeDecoding:
    code: str
    display: str
    object_kind: str
    region_code_at_issue: str = strawberry.field(
        description="Community where the object lay when the code was issued.")
    province: str
    city: str
    county: str
    town: str
    community: str
    estate_number: int
    building_number: int
    house_number: int
    check_character: str
    estate_code: str | None
    building_code: str | None

    @classmethod
    def from_code(cls, parsed: HouseCode) -> CodeDecoding:
        path = parsed.region_path
        return cls(code=parsed.code, display=parsed.display, object_kind=parsed.object_kind,
                   region_code_at_issue=parsed.region_code, province=path["province"],
                   city=path["city"], county=path["county"], town=path["town"],
                   community=path["community"], estate_number=parsed.estate_number,
                   building_number=parsed.building_number, house_number=parsed.house_number,
                   check_character=parsed.check, estate_code=parsed.estate_code,
                   building_code=parsed.building_code)


@strawberry.type(description="Whether a typed code is well-formed (no database lookup).")
class CodeValidation:
    input: str
    valid: bool
    code: str | None = strawberry.field(description="Canonical form when valid.")
    problem: str | None = strawberry.field(description="What is wrong, and where.")
    decoding: CodeDecoding | None


@strawberry.type(description="A registered code whose object lies in scope.")
class CodeLookup:
    code: str
    status: str = strawberry.field(description="active or retired.")
    issued_at: dt.datetime
    retired_at: dt.datetime | None
    retire_reason: str | None
    decoding: CodeDecoding
    estate: EstateType | None
    building: BuildingType | None
    house: HouseType | None


@strawberry.type(description="One lineage edge: parentCode -> childCode by an event.")
class LineageEdge:
    event: str
    parent_code: str | None
    child_code: str | None
    effective_date: dt.date
    depth: int = strawberry.field(description="1 = direct parent/child.")


@strawberry.type
class Lineage:
    code: str
    ancestors: list[LineageEdge]
    descendants: list[LineageEdge]


@strawberry.type(description="One change of an object, with the values before and after.")
class ChangeEntry:
    operation: str
    changed_at: dt.datetime
    actor: str | None
    source: str | None
    previous: JSON | None
    current: JSON | None


def canonical_code(raw: str) -> str:
    """Canonical code or InvalidInput naming the problem (never echoing internals)."""
    reason = problem(raw)
    if reason is not None:
        raise InvalidInput(_("not a valid house code: {reason}", reason=reason))
    return normalize(raw)


def scoped_registry(session: Session, scope: Scope, codes: list[str]) -> dict[str, Any]:
    """Registry rows of ``codes`` whose objects lie in ``scope``, with the objects.

    A valid code says what it names (estate, building or house), so only that table is read.
    """
    by_kind: dict[str, list[str]] = {}
    for code in codes:
        by_kind.setdefault(decode(code).object_kind, []).append(code)
    found: dict[str, Any] = {}
    counties = code_county_keys(session, codes)  # on Citus: only the shards of these counties
    for kind, wanted in by_kind.items():
        model = MODELS[kind]
        rows = session.execute(
            select(CodeRegistry, model)
            .join(model, (model.county == CodeRegistry.county)
                  & (model.id == CodeRegistry.object_id))
            .where(CodeRegistry.county.in_(counties), CodeRegistry.code.in_(wanted),
                   CodeRegistry.object_kind == kind,
                   scope_filter(model, scope)))
        for registry, obj in rows:
            found[registry.code] = (registry, obj)
    return found


def resolve_lookup(info: Info[RequestContext, None], code: str) -> CodeLookup | None:
    ctx = info.context
    ctx.require(Role.READER)
    canonical = canonical_code(code)
    hit = scoped_registry(ctx.session, ctx.scope, [canonical]).get(canonical)
    if hit is None:
        return None
    registry, obj = hit
    kind = registry.object_kind
    return CodeLookup(
        code=registry.code, status=registry.status, issued_at=registry.issued_at,
        retired_at=registry.retired_at, retire_reason=registry.retire_reason,
        decoding=CodeDecoding.from_code(decode(canonical)),
        estate=EstateType.from_row(obj) if kind == "estate" else None,
        building=BuildingType.from_row(obj) if kind == "building" else None,
        house=HouseType.from_row(obj) if kind == "house" else None)


def resolve_validate(code: str) -> CodeValidation:
    reason = problem(code)
    if reason is not None:
        return CodeValidation(input=code, valid=False, code=None, problem=reason, decoding=None)
    canonical = normalize(code)
    return CodeValidation(input=code, valid=True, code=canonical, problem=None,
                          decoding=CodeDecoding.from_code(decode(canonical)))


def _walk(session: Session, code: str, up: bool) -> list[tuple[Any, int]]:
    """Lineage edges reachable from ``code`` (breadth first, bounded depth).

    One query per level rather than a recursive CTE: edges of a merge may lie in several
    counties, and Citus runs a recursive CTE only inside one shard."""
    near, far = (CodeLineage.child_code, CodeLineage.parent_code) if up else \
        (CodeLineage.parent_code, CodeLineage.child_code)
    seen: set[int] = set()
    out: list[tuple[Any, int]] = []
    frontier, depth = [code], 1
    while frontier and depth <= MAX_LINEAGE_DEPTH:
        edges = session.scalars(select(CodeLineage).where(near.in_(frontier))
                                .order_by(CodeLineage.id)).all()
        reached: set[str] = set()
        for edge in edges:
            if edge.id not in seen:
                seen.add(edge.id)
                out.append((edge, depth))
                if getattr(edge, far.key):
                    reached.add(getattr(edge, far.key))
        frontier, depth = sorted(reached), depth + 1
    return out


def resolve_lineage(info: Info[RequestContext, None], code: str) -> Lineage | None:
    """Ancestors and descendants of a code; codes outside scope are left out entirely."""
    ctx = info.context
    ctx.require(Role.READER)
    canonical = canonical_code(code)
    if canonical not in scoped_registry(ctx.session, ctx.scope, [canonical]):
        return None
    up, down = _walk(ctx.session, canonical, True), _walk(ctx.session, canonical, False)
    mentioned = {c for edge, _ in up + down for c in (edge.parent_code, edge.child_code) if c}
    visible = set(scoped_registry(ctx.session, ctx.scope, sorted(mentioned)))

    def shown(edges: list[tuple[Any, int]]) -> list[LineageEdge]:
        return [LineageEdge(event=e.event, parent_code=e.parent_code,
                            child_code=e.child_code, effective_date=e.effective_date, depth=d)
                for e, d in edges
                if all(c is None or c in visible for c in (e.parent_code, e.child_code))]

    return Lineage(code=canonical, ancestors=shown(up), descendants=shown(down))


def history_of(session: Session, county: str, kind: str, keys: list[str]) -> list[ChangeEntry]:
    """change_log rows of one object (keyed by its code and/or its id), oldest first."""
    rows = session.scalars(select(ChangeLog).where(
        ChangeLog.county == county, ChangeLog.object_kind == kind,
        ChangeLog.object_id.in_(keys)).order_by(ChangeLog.changed_at, ChangeLog.id)
        .limit(MAX_HISTORY))
    return [ChangeEntry(operation=r.operation, changed_at=r.changed_at, actor=r.actor,
                        source=r.source, previous=cast(JSON, r.previous),
                        current=cast(JSON, r.current)) for r in rows]


def resolve_history(info: Info[RequestContext, None], code: str) -> list[ChangeEntry] | None:
    """The change history of the estate, building or house holding ``code`` (null if none)."""
    ctx = info.context
    ctx.require(Role.READER)
    canonical = canonical_code(code)
    hit = scoped_registry(ctx.session, ctx.scope, [canonical]).get(canonical)
    if hit is None:
        return None
    registry, obj = hit
    return history_of(ctx.session, obj.county, registry.object_kind, [canonical, str(obj.id)])


@strawberry.type
class CodeQuery:
    lookup: CodeLookup | None = strawberry.field(
        resolver=resolve_lookup, description="A code in any typed form (spaces, hyphens, "
                                             "full-width digits), with its decoding.")
    validate_code: CodeValidation = strawberry.field(
        resolver=resolve_validate, description="Check a code's form and check character.")
    lineage: Lineage | None = strawberry.field(
        resolver=resolve_lineage, description="Ancestors and descendants of a code.")
    history: list[ChangeEntry] | None = strawberry.field(
        resolver=resolve_history, description="Change history of the object with a code.")


__all__ = ["CodeQuery", "history_of"]
