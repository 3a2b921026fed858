"""``changes`` over GraphQL: scoped like every other query (property-based, every scope
level), persons only for person_reader, cursors resume without repeats (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token, post

QUERY = """query($after: String, $first: Int!, $kinds: [FeedKind!], $r: String) {
  changes(after: $after, first: $first, kinds: $kinds, regionCode: $r) {
    changes { cursor kind objectId operation regionCode current } endCursor hasMore } }"""
KINDS = ["ESTATE", "BUILDING", "HOUSE", "FACILITY", "CODE", "PERSON_HOUSE"]


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings, estates=1, buildings=1,
                   houses=2) as built:
        scopes = {c[:n] for c in built.world.communities for n in (2, 4, 6, 9, 12)}
        scopes |= set(built.world.estates) | {"330421"}
        with session_scope(built.engine) as session:
            built.tokens.update({f"scope:{s}": issue_token(session, s, "admin", name=f"f-{s}")
                                 for s in scopes})
            built.tokens["reader"] = issue_token(session, "33", "reader", name="f-reader")
            for obj in built.world.objects.values():  # one change per object, by code
                session.execute(text(
                    "INSERT INTO change_log (county, object_kind, object_id, operation, "
                    "current) VALUES (:c, :k, :o, 'update', '{\"status\": \"in_use\"}')"),
                    {"c": obj.county, "k": obj.kind, "o": obj.code})
            session.execute(text(
                "INSERT INTO change_log (county, object_kind, object_id, operation, current) "
                "SELECT county, 'person_house', id::text, 'update', "
                "       jsonb_build_object('relation', relation) FROM person_house"))
        yield built


def _all(client: TestClient, token: str, first: int, kinds: list[str] | None = None,
         region: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        reply = post(client, token, QUERY, {"after": after, "first": first, "kinds": kinds,
                                            "r": region})
        assert "errors" not in reply, reply
        page = reply["data"]["changes"]
        out += page["changes"]
        after = page["endCursor"]
        if not page["hasMore"]:
            return out


def test_feed_never_leaves_the_scope(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    scopes = sorted(k.split(":", 1)[1] for k in aw.tokens if k.startswith("scope:"))

    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(st.sampled_from(scopes), st.integers(1, 9),
           st.none() | st.lists(st.sampled_from(KINDS), min_size=1, unique=True))
    def run(scope: str, first: int, kinds: list[str] | None) -> None:
        got = _all(client, aw.tokens[f"scope:{scope}"], first, kinds)
        objects = [c for c in got if c["kind"] not in ("PERSON_HOUSE", "CODE")]
        for change in objects:
            assert world.visible(change["objectId"], scope), (scope, change)
        expected = {code for code, o in world.objects.items() if world.visible(code, scope)
                    and (kinds is None or o.kind.upper() in kinds)}
        assert {c["objectId"] for c in objects} == expected
        cursors = [int(c["cursor"]) for c in got]
        assert cursors == sorted(set(cursors))  # ordered, no repeats across pages
        for change in got:
            region = change["regionCode"]
            assert region, (scope, change)
            assert (region == world.objects[scope].community if len(scope) == 25
                    else region.startswith(scope)), (scope, change)

    run()


def test_region_code_narrows_and_outside_is_not_found(aw: ApiWorld,
                                                      client: TestClient) -> None:
    a, b = aw.world.communities[0], aw.world.communities[-1]
    narrowed = _all(client, aw.tokens[f"scope:{a[:6]}"], 50, region=a)
    assert narrowed
    assert all(c["regionCode"].startswith(a) for c in narrowed)
    reply = post(client, aw.tokens[f"scope:{a[:6]}"], QUERY,
                 {"first": 5, "r": b[:6]} if b[:6] != a[:6] else {"first": 5, "r": "3305"})
    assert reply["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_households_need_person_reader(aw: ApiWorld, client: TestClient) -> None:
    kinds = {c["kind"] for c in _all(client, aw.tokens["reader"], 100)}
    assert "PERSON_HOUSE" not in kinds
    assert "HOUSE" in kinds
    assert "PERSON_HOUSE" in {c["kind"] for c in _all(client, aw.tokens["scope:33"], 100)}
