"""GraphQL ServicesQuery: scoped coverage, gaps, index and the elderly list with roles."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cimhouse.auth.principal import Principal
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.services import ServicesQuery
from cimhouse.schema import AuditLog
from cimhouse.schema.vocab import Role
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings
from tests.helpers.services_world import COMMUNITY_A, COMMUNITY_B, World, build_world

SCHEMA = strawberry.Schema(query=ServicesQuery)
CATS = '["childcare", "elderly_care", "education", "medical", "commerce"]'


@pytest.fixture
def world(session: Session, test_settings: Settings) -> World:
    return build_world(session, test_settings)


def run(session: Session, settings: Settings, query: str, scope: str = "330402",
        roles: frozenset[Role] = frozenset({Role.READER})) -> tuple[Any, list[str]]:
    principal = Principal(id=1, name="gis", scope=parse_scope(scope), roles=roles)
    ctx = RequestContext(session=session, settings=settings, principal=principal)
    result = SCHEMA.execute_sync(query, context_value=ctx)
    return result.data, [e.message for e in result.errors or []]


@pytest.mark.usefixtures("world")
def test_gaps_and_index_in_scope(session: Session, test_settings: Settings) -> None:
    data, errors = run(session, test_settings, f"""{{
        gaps(categories: {CATS}, first: 2, asOf: "2026-06-30") {{
            estates {{ estateName category affected distanceM }}
            communities {{ regionCode category affectedUncovered }} unlocatedEstates }}
        serviceIndex(categories: {CATS}, asOf: "2026-06-30") {{
            regionCode index components {{ category share weight }} }} }}""")
    assert errors == []
    assert data["gaps"]["estates"][0] == {"estateName": "E3小区", "category": "medical",
                                          "affected": 4, "distanceM": 1100.0}
    assert len(data["gaps"]["estates"]) == 2
    assert data["gaps"]["communities"][0]["affectedUncovered"] == 6
    assert [s["index"] for s in data["serviceIndex"]] == [37.5, 43.8]


@pytest.mark.usefixtures("world")
def test_narrower_scope_and_refusal(session: Session, test_settings: Settings) -> None:
    query = f'{{ coverage(scope: "{COMMUNITY_B}", categories: ["commerce"]) ' \
            '{ estateName nearestFacility distanceM covered withinRadius } }'
    data, errors = run(session, test_settings, query)
    assert errors == []
    assert data["coverage"] == [
        {"estateName": "E3小区", "nearestFacility": "菜场F8", "distanceM": 450.0,
         "covered": True, "withinRadius": 2}]
    data, errors = run(session, test_settings, query, scope=COMMUNITY_A)
    assert data is None
    assert "outside" in errors[0]
    _, errors = run(session, test_settings,
                    '{ coverage(radii: [{category: "parks", metres: 100}]) { category } }')
    assert "unknown facility category" in errors[0]


@pytest.mark.usefixtures("world")
def test_elderly_roles_and_audit(session: Session, test_settings: Settings) -> None:
    query = '{ elderlyLivingAlone(asOf: "2026-06-30", minAge: 80%s) ' \
            '{ houseCode age name idNumber revealed } }'
    _, errors = run(session, test_settings, query % "")
    assert "person_reader" in errors[0]
    data, errors = run(session, test_settings, query % "",
                       roles=frozenset({Role.PERSON_READER}))
    assert errors == []
    assert [p["age"] for p in data["elderlyLivingAlone"]] == [86, 81]
    assert all("*" in p["idNumber"] for p in data["elderlyLivingAlone"])
    _, errors = run(session, test_settings, query % ", reveal: true",
                    roles=frozenset({Role.PERSON_READER}))
    assert "pii_reader" in errors[0]
    before = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    data, errors = run(session, test_settings, query % ", reveal: true",
                       roles=frozenset({Role.PII_READER}))
    assert errors == []
    assert data["elderlyLivingAlone"][0]["name"] == "王P3"
    assert "*" not in data["elderlyLivingAlone"][0]["idNumber"]
    assert session.scalar(select(func.count()).select_from(AuditLog)) == before + 2
    actors = session.scalars(select(AuditLog.actor).order_by(AuditLog.id.desc()).limit(2))
    assert set(actors) == {"api:gis"}


def test_over_http_through_the_app(fresh_engine: Engine, test_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from cimhouse.api.app import create_app
    from cimhouse.auth.tokens import create_token
    from cimhouse.db import session_scope

    with session_scope(fresh_engine) as session:
        build_world(session, test_settings)
        street = create_token(session, name="street", scope="330402007",
                              roles=["pii_reader"], actor="tests").token
        village = create_token(session, name="b-only", scope=COMMUNITY_B,
                               roles=["reader"], actor="tests").token
    client = TestClient(create_app(test_settings, engine=fresh_engine))

    def post(token: str, query: str) -> dict[str, Any]:
        reply = client.post("/graphql", json={"query": query},
                            headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code < 500, reply.text
        return reply.json()  # type: ignore[no-any-return]

    reply = post(village, f'{{ serviceIndex(categories: {CATS}, asOf: "2026-06-30") '
                          '{ regionCode index } }')
    assert reply["data"]["serviceIndex"] == [{"regionCode": COMMUNITY_B, "index": 37.5}]
    refused = post(village, '{ elderlyLivingAlone { houseCode } }')
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    full = post(street, '{ elderlyLivingAlone(asOf: "2026-06-30", reveal: true) '
                        '{ age idNumber } }')
    assert [p["age"] for p in full["data"]["elderlyLivingAlone"]] == [86, 60, 81]
    with session_scope(fresh_engine) as session:  # the audit rows were committed
        assert session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.actor == "api:street", AuditLog.action == "pii.read")) == 3
