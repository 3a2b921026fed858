"""Mutations on person-house relations; each change writes a change_log row with the values
before (``previous``) and after (``current``). Needs the ``importer`` role.

A person is named by a full ID number or by a global id, and must be known in the caller's
scope (a past or present relation to a house in scope); the house by a code in scope.

Scope rule for persons: a person known only outside the scope (registered by another county)
answers ``NotFoundError`` "person not found in your scope", exactly like an ID number nobody
knows, so the answer's shape never tells whether someone exists elsewhere and never carries
another county's name, ID number, phone or birth date. Persons new to the scope (a move-in
from another county included) come in through a register import.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.types import Info

from cimhouse.coding.house_relations import require_open_house
from cimhouse.errors import Conflict, InvalidInput, NotFound
from cimhouse.graphql.built import RelationKindEnum
from cimhouse.graphql.codes import canonical_code
from cimhouse.graphql.common import parse_county_key, parse_global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.people import PersonHouseRelationType, person_in_scope
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.i18n import _
from cimhouse.idnumber import normalize_id_number
from cimhouse.schema import ChangeLog, House, Person, PersonHouse
from cimhouse.schema.vocab import Role
from cimhouse.scope import scope_filter

SNAPSHOT_FIELDS = ("person_id", "house_id", "relation", "valid_from", "valid_to", "source")


@strawberry.input
class RelationInput:
    house_code: str
    relation: RelationKindEnum
    id_number: str | None = strawberry.field(default=None,
                                             description="Full ID number of the person.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of a person in scope (instead of idNumber).")
    valid_from: dt.date | None = None
    valid_to: dt.date | None = strawberry.field(default=None, description="Exclusive end.")
    source: str | None = None


@strawberry.type
class RelationPayload:
    relation: PersonHouseRelationType
    created: bool


UpsertRelationResult = Annotated[
    RelationPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpsertPersonHouseRelationResult")]
EndRelationResult = Annotated[
    RelationPayload | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("EndPersonHouseRelationResult")]


def snapshot(row: PersonHouse) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in SNAPSHOT_FIELDS}
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def record_change(session: Session, row: PersonHouse, operation: str,
                  previous: dict[str, Any] | None, actor: str) -> None:
    session.add(ChangeLog(county=row.county, object_kind="person_house",
                          object_id=str(row.id), operation=operation, actor=actor,
                          source="graphql", previous=previous, current=snapshot(row)))


#: one answer for "unknown" and "known only outside your scope" (see the module docstring)
PERSON_NOT_FOUND = "person not found in your scope"


def _person(ctx: RequestContext, data: RelationInput) -> Person:
    if (data.id_number is None) == (data.person_id is None):
        raise InvalidInput(_("give exactly one of idNumber and personId"))
    if data.id_number is not None:
        try:
            digest = ctx.vault.lookup_hash(normalize_id_number(data.id_number))
        except (ValueError, InvalidInput):
            raise InvalidInput(_("not a valid ID number")) from None
        person = ctx.session.scalar(select(Person).where(Person.id_hash == digest,
                                                         person_in_scope(ctx.scope)))
    else:
        kind, key = parse_global_id(str(data.person_id))
        person = None if kind != "Person" or not key.isdigit() else ctx.session.scalar(
            select(Person).where(Person.id == int(key), person_in_scope(ctx.scope)))
    if person is None:
        raise NotFound(_("person not found in your scope"))
    return person


def _check_dates(valid_from: dt.date | None, valid_to: dt.date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidInput(_("validTo must not be before validFrom"))


def upsert_relation(ctx: RequestContext, data: RelationInput) -> RelationPayload:
    ctx.require(Role.IMPORTER)
    _check_dates(data.valid_from, data.valid_to)
    house = ctx.session.scalar(select(House).where(
        House.code == canonical_code(data.house_code), scope_filter(House, ctx.scope)))
    if house is None:
        raise NotFound(_("house not found"))
    require_open_house(ctx.session, house)  # the same rule as the register import
    person = _person(ctx, data)
    existing = ctx.session.scalar(select(PersonHouse).where(
        PersonHouse.county == house.county, PersonHouse.house_id == house.id,
        PersonHouse.person_id == person.id, PersonHouse.relation == data.relation.value,
        PersonHouse.valid_to.is_(None)).order_by(PersonHouse.id).limit(1).with_for_update())
    if existing is None:
        row = PersonHouse(county=house.county, house_id=house.id, person_id=person.id,
                          relation=data.relation.value, valid_from=data.valid_from,
                          valid_to=data.valid_to, source=data.source or ctx.actor)
        ctx.session.add(row)
        ctx.session.flush()
        record_change(ctx.session, row, "insert", None, ctx.actor)
        return RelationPayload(relation=PersonHouseRelationType.from_row(row), created=True)
    previous = snapshot(existing)
    if data.valid_from is not None:
        existing.valid_from = data.valid_from
    existing.valid_to = data.valid_to
    if data.source:
        existing.source = data.source
    _check_dates(existing.valid_from, existing.valid_to)
    existing.version += 1
    ctx.session.flush()
    if snapshot(existing) != previous:
        record_change(ctx.session, existing, "update", previous, ctx.actor)
    return RelationPayload(relation=PersonHouseRelationType.from_row(existing), created=False)


def end_relation(ctx: RequestContext, relation_id: str, end_date: dt.date) -> RelationPayload:
    ctx.require(Role.IMPORTER)
    kind, key = parse_global_id(relation_id)
    if kind != "PersonHouse":
        raise NotFound(_("relation not found"))
    county, row_id = parse_county_key(key)
    row = ctx.session.scalar(select(PersonHouse).where(
        PersonHouse.county == county, PersonHouse.id == row_id,
        scope_filter(PersonHouse, ctx.scope)).with_for_update())
    if row is None:
        raise NotFound(_("relation not found"))
    if row.valid_to is not None:
        raise Conflict(_("the relation already ended on {valid_to}",
                         valid_to=row.valid_to.isoformat()))
    if row.valid_from is not None and end_date < row.valid_from:
        raise InvalidInput(_("endDate must not be before the relation's validFrom"))
    previous = snapshot(row)
    row.valid_to = end_date
    row.version += 1
    ctx.session.flush()
    record_change(ctx.session, row, "update", previous, ctx.actor)
    return RelationPayload(relation=PersonHouseRelationType.from_row(row), created=False)


@strawberry.type
class RelationMutation:
    @strawberry.mutation(description="Create a relation, or update the open one of the same "
                                     "person, house and kind. Needs importer.")
    def upsert_person_house_relation(self, info: Info[RequestContext, None],
                                     input: RelationInput) -> UpsertRelationResult:
        return run_mutation(info.context.session, lambda: upsert_relation(info.context, input))

    @strawberry.mutation(description="End a relation on endDate (exclusive). Needs importer.")
    def end_person_house_relation(self, info: Info[RequestContext, None], id: strawberry.ID,
                                  end_date: dt.date) -> EndRelationResult:
        return run_mutation(info.context.session,
                            lambda: end_relation(info.context, str(id), end_date))
