"""The compiled fast path (cimhouse/graphql/compiled/fastpath.py): its cached principal is
re-checked inside every statement, so revocation, new roles or scope and region changes take
effect on the next request; a query without a plan is counted as one fallback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from cimhouse.api.app import create_app
from cimhouse.auth.principal_cache import CachedPrincipal, PrincipalCache
from cimhouse.auth.tokens import create_token, revoke_token
from cimhouse.db import session_scope
from cimhouse.errors import Unauthenticated
from cimhouse.schema import ApiPrincipal, Job
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld

HOUSES = "{ houses(first: 1) { totalCount edges { node { code } } } }"


def _guard_passes(session: Session, entry: CachedPrincipal) -> bool:
    guard, params = PrincipalCache.guard(entry)
    row = session.connection().exec_driver_sql("SELECT 1" + guard, params).first()
    return row is not None


def test_guard_refuses_a_revoked_changed_or_moved_principal(session: Session) -> None:
    issued = create_token(session, name="cached-gis", scope="330402", roles=["reader"],
                          actor="test")
    cache = PrincipalCache()
    entry = cache.sign_in(session, issued.token)
    assert cache.get(entry.digest) is entry
    assert entry.principal.scope.county_keys == ("330402",)
    assert entry.moves is not None
    assert _guard_passes(session, entry)

    # A region change may move county keys: the cached ones are no longer trusted.
    session.add(Job(kind="region_change", status="succeeded", options={
        "mapping": {"330481": "330402"}}, counts={}))
    session.flush()
    assert not _guard_passes(session, entry)
    entry = cache.sign_in(session, issued.token)
    assert entry.principal.scope.county_keys == ("330402", "330481")
    assert _guard_passes(session, entry)

    # New roles or scope: refused until signed in again.
    session.execute(update(ApiPrincipal).where(ApiPrincipal.id == entry.principal.id)
                    .values(roles=["reader", "person_reader"]))
    assert not _guard_passes(session, entry)
    entry = cache.sign_in(session, issued.token)
    assert _guard_passes(session, entry)

    revoke_token(session, "cached-gis", actor="test")
    assert not _guard_passes(session, entry)
    with pytest.raises(Unauthenticated):
        cache.sign_in(session, issued.token)


def _post(client: TestClient, token: str, query: str) -> Any:
    return client.post("/graphql", json={"query": query},
                       headers={"Authorization": f"Bearer {token}"})


def test_revoked_token_refused_at_once_on_the_cached_path(aw: ApiWorld,
                                                          test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    with session_scope(aw.engine) as session:
        token = create_token(session, name="soon-revoked", scope="33", roles=["reader"],
                             actor="test").token
    first = _post(client, token, HOUSES)
    assert first.json()["data"]["houses"]["totalCount"] > 0
    assert _post(client, token, HOUSES).status_code == 200  # served from the cache
    with session_scope(aw.engine) as session:
        revoke_token(session, "soon-revoked", actor="test")
    refused = _post(client, token, HOUSES)
    assert refused.status_code == 401
    assert "data" not in refused.json()
    assert "houses" not in refused.text


def test_narrowed_scope_applies_on_the_next_request(aw: ApiWorld,
                                                    test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    with session_scope(aw.engine) as session:
        token = create_token(session, name="narrowed", scope="33", roles=["reader"],
                             actor="test").token
    wide = _post(client, token, HOUSES).json()["data"]["houses"]["totalCount"]
    community = aw.world.communities[0]
    with aw.engine.begin() as conn:
        conn.execute(text("UPDATE api_principal SET scope_code = :c, scope_level = 5 "
                          "WHERE name = 'narrowed'"), {"c": community})
    narrow = _post(client, token, HOUSES).json()["data"]["houses"]["totalCount"]
    assert 0 < narrow < wide


def test_query_without_a_plan_counts_one_fallback(aw: ApiWorld,
                                                  test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    token = aw.tokens["province"]
    query = '{ validateCode(code: "330402") { valid } }'
    _post(client, token, HOUSES)
    before = client.get("/graphql/stats").json()
    reply = _post(client, token, query)
    assert reply.json()["data"]["validateCode"]["valid"] is False
    after = client.get("/graphql/stats").json()
    assert after["fallback"] == before["fallback"] + 1
    assert after["compiled"] == before["compiled"]
