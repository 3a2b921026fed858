"""schemathesis (GraphQL mode) fuzzes every query and mutation of the checked-in SDL against
the app with an admin token on a populated world: no server error, no internal text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster
from cimhouse.graphql.schema import SDL_PATH
from cimhouse.settings import Settings
from tests.helpers.graphql_world import api_world

schema = schemathesis.graphql.from_path(str(SDL_PATH))
INTERNAL_WORDS = ("traceback", "sqlalchemy", "psycopg", "select ", "insert into", "syntax error at",
                  "exception", "/cimhouse/")


@pytest.fixture(scope="module")
def fuzz_client(pg_cluster: EmbeddedCluster, template_db: str,
                test_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    with api_world(pg_cluster, template_db, test_settings, estates=1, buildings=1,
                   houses=2) as built:
        yield TestClient(create_app(test_settings, engine=built.engine)), \
            built.tokens["province"]


@schema.parametrize()
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_fuzz_no_server_error(case: schemathesis.Case[Any],
                              fuzz_client: tuple[TestClient, str]) -> None:
    client, token = fuzz_client
    reply = client.post("/graphql", json={"query": case.body},
                        headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code < 500, reply.text
    body = reply.json()
    errors = body.get("errors") or []
    text = str(errors).lower()
    assert not any(word in text for word in INTERNAL_WORDS), errors
    assert all(e.get("message") != "internal error" for e in errors), errors
