"""The region queries served over HTTP by the FastAPI app."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cimhouse.api.app import create_app
from cimhouse.settings import Settings


def test_regions_by_parent(engine: Engine, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=engine))
    query = """query($p: String!) { regions(parentCode: $p, first: 5) {
        edges { node { code name level } } pageInfo { hasNextPage endCursor } } }"""
    reply = client.post("/graphql", json={"query": query, "variables": {"p": "3304"}})
    data = reply.json()["data"]["regions"]
    assert [e["node"]["code"] for e in data["edges"]][:2] == ["330402", "330411"]
    assert data["pageInfo"]["hasNextPage"] is True
    more = client.post("/graphql", json={"query": query.replace(
        "first: 5", f'first: 5, after: "{data["pageInfo"]["endCursor"]}"'),
        "variables": {"p": "3304"}}).json()["data"]["regions"]
    assert len(data["edges"]) + len(more["edges"]) == 7


def test_region_by_code(engine: Engine, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=engine))
    reply = client.post("/graphql", json={"query": '{ region(code: "3304") { name code12 } }'})
    assert reply.json()["data"]["region"] == {"name": "嘉兴市", "code12": "330400000000"}
