"""The region queries served over HTTP by the FastAPI app."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cimhouse.api.app import create_app
from cimhouse.auth.tokens import create_token
from cimhouse.db import session_scope
from cimhouse.settings import Settings


def _token(engine: Engine, scope: str) -> dict[str, str]:
    with session_scope(engine) as session:
        issued = create_token(session, name=f"regions-{uuid.uuid4().hex[:8]}", scope=scope,
                              roles=["reader"], actor="tests")
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
def client(engine: Engine, test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, engine=engine))


def test_regions_by_parent(client: TestClient, engine: Engine) -> None:
    auth = _token(engine, "33")
    query = """query($p: String!) { regions(parentCode: $p, first: 5) {
        edges { node { code name level } } pageInfo { hasNextPage endCursor } } }"""
    reply = client.post("/graphql", json={"query": query, "variables": {"p": "3304"}},
                        headers=auth)
    data = reply.json()["data"]["regions"]
    assert [e["node"]["code"] for e in data["edges"]][:2] == ["330402", "330411"]
    assert data["pageInfo"]["hasNextPage"] is True
    more = client.post("/graphql", json={"query": query.replace(
        "first: 5", f'first: 5, after: "{data["pageInfo"]["endCursor"]}"'),
        "variables": {"p": "3304"}}, headers=auth).json()["data"]["regions"]
    assert len(data["edges"]) + len(more["edges"]) == 7


def test_region_by_code(client: TestClient, engine: Engine) -> None:
    auth = _token(engine, "33")
    reply = client.post("/graphql", json={"query": '{ region(code: "3304") { name code12 } }'},
                        headers=auth)
    assert reply.json()["data"]["region"] == {"name": "嘉兴市", "code12": "330400000000"}


def test_regions_outside_scope_are_absent(client: TestClient, engine: Engine) -> None:
    auth = _token(engine, "330402")
    query = '{ regions(nameContains: "区", level: 3) { totalCount edges { node { code } } } }'
    data = client.post("/graphql", json={"query": query}, headers=auth).json()["data"]
    assert [e["node"]["code"] for e in data["regions"]["edges"]] == ["330402"]
    reply = client.post("/graphql", json={"query": '{ region(code: "3304") { name } }'},
                        headers=auth)
    assert reply.json()["data"]["region"] is None
