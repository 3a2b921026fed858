"""GraphQL mutations of the gap-filling library: createGapProject and advanceGapProject.

The programme/admin roles only; a gap project, estate or facility outside the token's scope is
answered like one that does not exist; the happy path leaves its history in change_log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import county_key, global_id
from cimhouse.schema import ChangeLog, Facility
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token, post

CREATE = """mutation($e: String, $c: String, $cat: String!) { createGapProject(input: {
  estateCode: $e, communityCode: $c, category: $cat, plannedCapacity: 40,
  plannedOn: "2026-07-01"}) {
  __typename ... on GapProjectPayload { project { id status regionCode estateCode
    plannedCapacity affected plannedOn indexBefore } }
  ... on UserError { code message } } }"""
ADVANCE = """mutation($id: String!, $s: GapProjectStatus!, $f: ID, $d: Date) {
  advanceGapProject(id: $id, status: $s, facilityId: $f, date: $d) {
  __typename ... on GapProjectPayload { project { id status underConstructionOn inUseOn
    facilityName indexBefore indexAfter } }
  ... on UserError { code message } } }"""
LIST = "{ gapProjects { id status } }"


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        first, last = built.world.communities[0], built.world.communities[-1]
        with session_scope(built.engine) as session:
            built.tokens["programme"] = issue_token(session, first[:6], "programme")
            built.tokens["programme_other"] = issue_token(session, last[:6], "programme",
                                                          name="prog-other")
        yield built


@pytest.fixture(scope="module")
def gql_client(aw: ApiWorld, test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, engine=aw.engine))


def create(client: TestClient, token: str, **variables: Any) -> dict[str, Any]:
    reply = post(client, token, CREATE, variables)
    assert "errors" not in reply, reply
    return reply["data"]["createGapProject"]  # type: ignore[no-any-return]


def advance(client: TestClient, token: str, **variables: Any) -> dict[str, Any]:
    reply = post(client, token, ADVANCE, variables)
    assert "errors" not in reply, reply
    return reply["data"]["advanceGapProject"]  # type: ignore[no-any-return]


def test_only_programme_and_admin_may_create(gql_client: TestClient, aw: ApiWorld) -> None:
    estate = aw.world.estates[1]
    for label in ("town", "city", "county", "community"):  # reader, importer, coder, pii...
        denied = create(gql_client, aw.tokens[label], e=estate, cat="education")
        assert denied["__typename"] == "ForbiddenError", label
    made = create(gql_client, aw.tokens["province"], e=estate, cat="education")  # admin
    assert made["__typename"] == "GapProjectPayload"
    assert made["project"]["estateCode"] == estate
    again = create(gql_client, aw.tokens["programme"], e=estate, cat="education")
    assert again["__typename"] == "ConflictError"  # one open project per gap
    assert made["project"]["id"] in again["message"]
    denied = advance(gql_client, aw.tokens["town"], id=made["project"]["id"],
                     s="UNDER_CONSTRUCTION")
    assert denied["__typename"] == "ForbiddenError"


def test_another_county_can_neither_create_see_nor_advance(gql_client: TestClient,
                                                           aw: ApiWorld) -> None:
    world = aw.world
    other = aw.tokens["programme_other"]
    estate, community = world.estates[0], world.communities[0]
    outside = create(gql_client, other, c=community, cat="education")
    unknown = create(gql_client, other, c=world.communities[-1][:9] + "999",
                     cat="education")
    assert outside["__typename"] == unknown["__typename"] == "NotFoundError"
    assert outside["message"].replace(community, "X") == unknown["message"].replace(
        world.communities[-1][:9] + "999", "X")
    made = create(gql_client, aw.tokens["programme"], c=community, cat="education")
    assert made["__typename"] == "GapProjectPayload", made
    project_id = made["project"]["id"]
    county, number = project_id.split(":")
    hidden = advance(gql_client, other, id=project_id, s="UNDER_CONSTRUCTION",
                     d="2026-08-01")
    missing = advance(gql_client, other, id=f"{county}:{int(number) + 1000}",
                      s="UNDER_CONSTRUCTION", d="2026-08-01")
    assert hidden == missing
    assert hidden["__typename"] == "NotFoundError"
    seen = post(gql_client, other, LIST)["data"]["gapProjects"]
    assert project_id not in {p["id"] for p in seen}
    assert estate not in str(seen)
    still = post(gql_client, aw.tokens["programme"], LIST)["data"]["gapProjects"]
    assert {"id": project_id, "status": "PLANNED"} in still  # the refusal changed nothing


def test_plan_build_and_use_with_history(gql_client: TestClient, aw: ApiWorld) -> None:
    token = aw.tokens["programme"]
    estate = aw.world.estates[0]
    obj = aw.world.objects[estate]
    made = create(gql_client, token, e=estate, cat="elderly_care")
    assert made["__typename"] == "GapProjectPayload", made
    project = made["project"]
    assert (project["status"], project["regionCode"], project["plannedCapacity"]) == (
        "PLANNED", obj.community, 40)
    assert project["affected"] > 0
    assert project["indexBefore"] is not None  # the community was scored that day
    early = advance(gql_client, token, id=project["id"], s="UNDER_CONSTRUCTION",
                    d="2026-06-01")
    assert early["__typename"] == "InvalidInputError"  # before it was planned
    built = advance(gql_client, token, id=project["id"], s="UNDER_CONSTRUCTION",
                    d="2026-08-01")
    assert built["project"]["underConstructionOn"] == "2026-08-01"
    no_facility = advance(gql_client, token, id=project["id"], s="IN_USE", d="2027-03-01")
    assert no_facility["__typename"] == "InvalidInputError"
    with session_scope(aw.engine) as session:
        facility = Facility(county=obj.county, category="elderly_care", name="新建养老驿站",
                            region_code=obj.community, estate_id=obj.id, status="in_use",
                            capacity=40, geom=from_shape(Point(120.005, 30.5), 4490))
        session.add(facility)
        session.flush()
        raw_id = facility.id
        facility_id = global_id("Facility", county_key(facility.county, raw_id))
    used = advance(gql_client, token, id=project["id"], s="IN_USE", f=facility_id,
                   d="2027-03-01")
    assert used["__typename"] == "GapProjectPayload", used
    assert (used["project"]["status"], used["project"]["inUseOn"],
            used["project"]["facilityName"]) == ("IN_USE", "2027-03-01", "新建养老驿站")
    assert used["project"]["indexAfter"] is not None
    assert used["project"]["indexAfter"] > used["project"]["indexBefore"]
    back = advance(gql_client, token, id=project["id"], s="UNDER_CONSTRUCTION",
                   d="2027-04-01")
    assert back["__typename"] == "ConflictError"
    county, number = project["id"].split(":")
    with session_scope(aw.engine) as session:
        history = session.execute(select(ChangeLog.operation, ChangeLog.current).where(
            ChangeLog.county == county, ChangeLog.object_kind == "gap_project",
            ChangeLog.object_id == number).order_by(ChangeLog.id)).all()
    assert [(op, cur["status"]) for op, cur in history] == [
        ("insert", "planned"), ("update", "under_construction"), ("update", "in_use")]
    assert history[-1][1]["facility_id"] == raw_id


def test_errors_come_in_chinese(gql_client: TestClient, aw: ApiWorld) -> None:
    reply = gql_client.post("/graphql", headers={
        "Authorization": f"Bearer {aw.tokens['programme']}", "Accept-Language": "zh-CN"},
        json={"query": ADVANCE, "variables": {"id": "7", "s": "IN_USE"}}).json()
    answer = reply["data"]["advanceGapProject"]
    assert answer["__typename"] == "InvalidInputError"
    assert "补短板项目编号" in answer["message"]


@pytest.mark.parametrize(("variables", "expected"), [
    ({"e": "not-a-code", "cat": "education"}, "InvalidInputError"),
    ({"cat": "education"}, "InvalidInputError"),  # neither estate nor community
    ({"c": "330402", "cat": "education"}, "NotFoundError"),  # a county is no community
    ({"c": "330402007024", "cat": "nonsense"}, "InvalidInputError"),
])
def test_odd_input_is_an_expected_failure(gql_client: TestClient, aw: ApiWorld,
                                          variables: dict[str, Any], expected: str) -> None:
    assert create(gql_client, aw.tokens["programme"], **variables)["__typename"] == expected


def test_odd_ids_are_expected_failures(gql_client: TestClient, aw: ApiWorld) -> None:
    token = aw.tokens["programme"]
    second = aw.world.communities[1]  # the first county's other community
    assert second[:6] == aw.world.communities[0][:6]
    made = create(gql_client, token, c=second, cat="elderly_care")
    assert made["__typename"] == "GapProjectPayload", made
    project = made["project"]["id"]
    house = global_id("House", county_key(project.split(":")[0], 1))
    elsewhere = global_id("Facility", county_key("330106", 1))
    for variables, expected in [
            ({"id": "330402:abc", "s": "IN_USE"}, "InvalidInputError"),
            ({"id": project, "s": "IN_USE", "f": "%%%"}, "InvalidInputError"),
            ({"id": project, "s": "IN_USE", "f": house}, "InvalidInputError"),
            ({"id": project, "s": "IN_USE", "f": elsewhere}, "NotFoundError"),
            ({"id": project, "s": "PLANNED"}, "ConflictError")]:
        answer = advance(gql_client, token, **variables)
        assert answer["__typename"] == expected, (variables, answer)
