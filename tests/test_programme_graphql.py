"""GraphQL programme mutations: the programme role, the scope of the communities, results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
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
