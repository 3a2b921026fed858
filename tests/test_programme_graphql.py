"""GraphQL programme: the mutations (the programme role, the scope of the communities,
results), dated scenario histories and project boundaries inside the scope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import global_id
from cimhouse.programme.import_project_boundaries import import_project_boundaries
from cimhouse.schema import FutureProject
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token, post

UPSERT = """mutation($c: String!, $s: String!) { upsertFutureProject(input: {
  externalId: "G-1", name: "测试未来社区", level: MUNICIPAL, kind: INCLUSIVE, leadStreet: $s,
  communities: [$c], dates: [{status: RESERVE, on: "2024-01-01"}]}) {
  __typename ... on FutureProjectPayload { created project { id status } }
  ... on UserError { code message } } }"""
ADVANCE = """mutation($id: ID!) { advanceFutureProject(id: $id, status: DECLARED,
  on: "2024-03-01") { __typename ... on FutureProjectPayload { project { status
  dates { reserve declared } } } ... on UserError { code } } }"""


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        community = built.world.communities[0]
        with session_scope(built.engine) as session:
            built.tokens["programme"] = issue_token(session, community[:6], "programme")
            built.tokens["programme_other"] = issue_token(
                session, built.world.communities[-1][:6], "programme", name="prog-other")
        yield built


def test_programme_role_scope_and_advance(aw: ApiWorld, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    community = aw.world.communities[0]
    variables = {"c": community, "s": community[:9]}
    denied = post(client, aw.tokens["town"], UPSERT, variables)["data"]["upsertFutureProject"]
    assert denied["__typename"] == "ForbiddenError"
    outside = post(client, aw.tokens["programme_other"], UPSERT, variables)["data"][
        "upsertFutureProject"]
    assert outside["__typename"] == "NotFoundError"
    made = post(client, aw.tokens["programme"], UPSERT, variables)["data"]["upsertFutureProject"]
    assert made["__typename"] == "FutureProjectPayload"
    assert made["created"] is True
    again = post(client, aw.tokens["programme"], UPSERT, variables)["data"][
        "upsertFutureProject"]
    assert again["created"] is False
    project_id = made["project"]["id"]
    hidden = post(client, aw.tokens["programme_other"], ADVANCE, {"id": project_id})["data"]
    assert hidden["advanceFutureProject"]["__typename"] == "NotFoundError"
    moved = post(client, aw.tokens["programme"], ADVANCE, {"id": project_id})["data"][
        "advanceFutureProject"]
    assert moved["project"]["status"] == "DECLARED"
    assert moved["project"]["dates"] == {"reserve": "2024-01-01", "declared": "2024-03-01"}
    listed = post(client, aw.tokens["town"], "{ futureProjects { totalCount items { name } } }")
    assert listed["data"]["futureProjects"]["totalCount"] == 1


def test_a_year_no_column_can_hold_finds_nothing(client: TestClient, aw: ApiWorld) -> None:
    """year: 32768 overflowed the smallint column: an internal error (found by the fuzz test)."""
    token = aw.tokens["town"]
    for year in (32768, -1, 1999):
        reply = post(client, token, "query($y: Int!) { futureProjects(year: $y) "
                                    "{ totalCount } }", {"y": year})
        assert "errors" not in reply, reply
        assert reply["data"]["futureProjects"]["totalCount"] == 0


PROJECTS = """{ futureProjects { items { externalId geometry(crs: WGS84)
  scenarios { scenario state since history { state on } } } } }"""
UPSERT_DATED = """mutation($id: String!, $cs: [String!]!, $s: String!) { upsertFutureProject(
  input: {externalId: $id, name: $id, level: PROVINCIAL, kind: RENOVATION, leadStreet: $s,
  communities: $cs, dates: [{status: DECLARED, on: "2022-05-01"}],
  scenarios: [{scenario: HEALTH, state: PLANNED, on: "2022-01-05"},
              {scenario: HEALTH, state: IN_PROGRESS, on: "2022-08-01"},
              {scenario: SERVICE, state: DELIVERED}]}) {
  __typename ... on FutureProjectPayload { created } ... on UserError { code message } } }"""
ADVANCE_SCENARIO = """mutation($id: ID!) { advanceProjectScenario(id: $id, scenario: HEALTH,
  state: DELIVERED, on: "2023-06-01") { __typename ... on FutureProjectPayload { project {
  scenarios { scenario state since } } } ... on UserError { code } } }"""


def test_scenario_histories_boundaries_in_scope_and_advance(
        aw: ApiWorld, test_settings: Settings, tmp_path: Path) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    a, b = aw.world.communities[0], aw.world.communities[-1]
    for external_id, communities in (("D-A", [a]), ("D-AB", [a, b])):
        made = post(client, aw.tokens["province"], UPSERT_DATED,
                    {"id": external_id, "cs": communities, "s": a[:9]})
        assert made["data"]["upsertFutureProject"]["__typename"] == "FutureProjectPayload", made
    square = {"type": "Polygon", "coordinates": [[[120.76, 30.75], [120.763, 30.75],
                                                  [120.763, 30.753], [120.76, 30.75]]]}
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"项目编号": pid}, "geometry": square}
        for pid in ("D-A", "D-AB")]}), encoding="utf-8")
    with session_scope(aw.engine) as session:
        assert import_project_boundaries(session, path, actor="tests").updated == 2

    def seen(token: str) -> dict[str, dict[str, Any]]:
        reply = post(client, aw.tokens[token], PROJECTS)
        assert "errors" not in reply, reply
        return {p["externalId"]: p for p in reply["data"]["futureProjects"]["items"]
                if p["externalId"] in ("D-A", "D-AB")}

    everything = seen("province")
    assert everything["D-A"]["geometry"]["type"] == "MultiPolygon"
    assert everything["D-AB"]["geometry"]["type"] == "MultiPolygon"
    assert everything["D-A"]["scenarios"] == [
        {"scenario": "HEALTH", "state": "IN_PROGRESS", "since": "2022-08-01",
         "history": [{"state": "PLANNED", "on": "2022-01-05"},
                     {"state": "IN_PROGRESS", "on": "2022-08-01"}]},
        {"scenario": "SERVICE", "state": "DELIVERED", "since": None,
         "history": [{"state": "DELIVERED", "on": None}]}]
    county = seen("county")  # D-AB reaches into another county: no boundary for this scope
    assert county["D-A"]["geometry"] is not None
    assert county["D-AB"]["geometry"] is None
    assert seen("community")["D-A"]["geometry"] is not None
    assert seen("other_county")["D-AB"]["geometry"] is None
    assert "D-A" not in seen("other_county")
    project_id = global_id("FutureProject", str(next(iter(_ids(aw, "D-A")))))
    hidden = post(client, aw.tokens["programme_other"], ADVANCE_SCENARIO, {"id": project_id})
    assert hidden["data"]["advanceProjectScenario"]["__typename"] == "NotFoundError"
    moved = post(client, aw.tokens["programme"], ADVANCE_SCENARIO, {"id": project_id})
    assert moved["data"]["advanceProjectScenario"]["project"]["scenarios"][0] == {
        "scenario": "HEALTH", "state": "DELIVERED", "since": "2023-06-01"}
    again = post(client, aw.tokens["programme"], ADVANCE_SCENARIO, {"id": project_id})
    assert again["data"]["advanceProjectScenario"]["__typename"] == "ConflictError"


def _ids(aw: ApiWorld, external_id: str) -> list[int]:
    with session_scope(aw.engine) as session:
        return list(session.scalars(select(FutureProject.id).where(
            FutureProject.external_id == external_id)))
