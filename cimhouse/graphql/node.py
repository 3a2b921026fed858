"""``node(id)``: any object by its global id, under the same scope rules as the lists."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from cimhouse.graphql.built import BuildingType, EstateType, HouseType
from cimhouse.graphql.common import Node, parse_county_key, parse_global_id
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.facilities import FacilityType
from cimhouse.graphql.household_loaders import household_house_in_scope
from cimhouse.graphql.households import HouseholdMemberType, HouseholdType
from cimhouse.graphql.operations import (
    ImportRunType,
    JobType,
    import_run_in_scope,
    job_in_scope,
)
from cimhouse.graphql.people import PersonHouseRelationType, PersonType, person_in_scope
from cimhouse.graphql.regions import RegionType
from cimhouse.schema import (
    Building,
    Estate,
    Facility,
    House,
    Household,
    HouseholdMember,
    ImportRun,
    Job,
    Person,
    PersonHouse,
    Region,
)
from cimhouse.schema.vocab import Role
from cimhouse.scope import scope_filter

COUNTY_KEYED: dict[str, tuple[Any, Any]] = {
    "Estate": (Estate, EstateType), "Building": (Building, BuildingType),
    "House": (House, HouseType), "Facility": (Facility, FacilityType),
    "PersonHouse": (PersonHouse, PersonHouseRelationType)}


def resolve_node(info: Info[RequestContext, None], id: strawberry.ID) -> Node | None:
    """The object, or null when it does not exist, lies outside scope or is not allowed."""
    ctx = info.context
    ctx.require(Role.READER)
    kind, key = parse_global_id(str(id))
    session = ctx.session
    if kind in ("Person", "PersonHouse", "Household", "HouseholdMember") \
            and not ctx.can(Role.PERSON_READER):
        return None
    if kind in COUNTY_KEYED:
        model, gql = COUNTY_KEYED[kind]
        county, row_id = parse_county_key(key)
        row = session.scalar(select(model).where(model.county == county, model.id == row_id,
                                                 scope_filter(model, ctx.scope)))
        return gql.from_row(row) if row else None
    if kind == "Household":  # visible when the house it is registered at is in scope
        county, row_id = parse_county_key(key)
        household = session.scalar(
            select(Household).join(House, household_house_in_scope(ctx.scope))
            .where(Household.county == county, Household.id == row_id))
        return HouseholdType.from_row(household) if household else None
    if kind == "HouseholdMember":  # visible when its household's house is in scope (as above)
        county, row_id = parse_county_key(key)
        found = session.execute(
            select(HouseholdMember, Person)
            .join(Household, (Household.county == HouseholdMember.county)
                  & (Household.id == HouseholdMember.household_id))
            .join(House, household_house_in_scope(ctx.scope))
            .join(Person, Person.id == HouseholdMember.person_id)
            .where(HouseholdMember.county == county, HouseholdMember.id == row_id)).first()
        return HouseholdMemberType.from_row(*found) if found else None
    if kind == "Region":
        region = session.scalar(select(Region).where(Region.code == key,
                                                     scope_filter(Region, ctx.scope)))
        return RegionType.from_row(region) if region else None
    if not key.isdigit():
        return None
    if kind == "Person":
        person = session.scalar(select(Person).where(Person.id == int(key),
                                                     person_in_scope(ctx.scope)))
        return PersonType.from_row(person) if person else None
    if kind == "Job":
        job = session.scalar(select(Job).where(Job.id == int(key), job_in_scope(ctx.scope)))
        return JobType.from_row(job) if job else None
    if kind == "ImportRun" and ctx.can(Role.IMPORTER):
        run = session.scalar(select(ImportRun).where(ImportRun.id == int(key),
                                                     import_run_in_scope(ctx.scope)))
        return ImportRunType.from_row(run) if run else None
    return None


@strawberry.type
class NodeQuery:
    node: Node | None = strawberry.field(resolver=resolve_node,
                                         description="Any object by its global id.")
