"""Plans of scoped lists that do not grow with the data (EXPLAIN on generated data, no timing).

Regression for two plan problems measured at 1M houses (docs/performance.md):

- the page of 50 houses of one community walked ``pk_house`` in ``(county, id)`` order and
  discarded every house of the other communities (up to 800,000 rows). Migration 0013's
  ``(region_code, county, id)`` index yields a community's houses already in page order;
- after five executions psycopg prepares a statement and PostgreSQL may switch to a generic
  plan, which cannot see which scope range a statement has. ``make_engine`` keeps plans
  custom.

The data: 60 communities of 330402/330411 with 200 houses each, ids in community order, and
the page asked for is the last community's, as in a county where the community's houses
came last. The statements explained are the ones the GraphQL resolver sent (captured).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from cimhouse.api.app import create_app
from cimhouse.auth.tokens import create_token
from cimhouse.db import make_engine, session_scope
from cimhouse.settings import Settings

COMMUNITIES = 60

GENERATE = f"""
CREATE TEMP TABLE bc AS
SELECT row_number() OVER (ORDER BY code) AS n, code FROM region
WHERE level = 5 AND valid_to IS NULL AND (code LIKE '330402%' OR code LIKE '330411%');
INSERT INTO estate (county, code, name, region_code, kind, status)
SELECT left(c.code, 6), c.code || '001000000000' || cimhouse_mod11_2(c.code || '001000000000'),
       'plan estate ' || c.n, c.code, 'commodity', 'in_use'
FROM bc c WHERE c.n <= {COMMUNITIES} ORDER BY c.n;
INSERT INTO building (county, code, estate_id, region_code, building_label, status)
SELECT e.county, left(e.code, 15) || lpad(b::text, 4, '0') || '00000'
       || cimhouse_mod11_2(left(e.code, 15) || lpad(b::text, 4, '0') || '00000'),
       e.id, e.region_code, b || '幢', 'in_use'
FROM estate e, generate_series(1, 5) b ORDER BY e.id, b;
INSERT INTO house (county, code, building_id, region_code, room_label, floor_number, use, status)
SELECT b.county, left(b.code, 19) || lpad(h::text, 5, '0')
       || cimhouse_mod11_2(left(b.code, 19) || lpad(h::text, 5, '0')),
       b.id, b.region_code, h || '室', 1 + h / 4, 'residential', 'in_use'
FROM building b, generate_series(1, 40) h ORDER BY b.id, h;
"""
# Its own transaction: Citus refuses the (parallel) ANALYZE of a distributed table after the
# reference table region was read in the same transaction.
ANALYZE = "ANALYZE estate; ANALYZE building; ANALYZE house"

PAGE = """query($r: String!) { houses(filter: {regionCode: $r}, first: 50) {
  totalCount edges { node { code } } } }"""


def _indexes(plan: dict[str, Any]) -> set[str]:
    """Index names in a plan; on Citus those of the tasks' plans, without the shard suffix."""
    found = {re.sub(r"_\d+$", "", plan["Index Name"])} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _indexes(child)
    for task in plan.get("Distributed Query", {}).get("Job", {}).get("Tasks", []):
        for remote in task.get("Remote Plan", []):
            for explained in remote:
                found |= _indexes(explained["Plan"])
    return found


@pytest.fixture
def generated(fresh_engine: Engine) -> tuple[str, str]:
    """(token scoped to county 330402, the community whose houses have the highest ids)."""
    with fresh_engine.begin() as conn:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                conn.execute(text(statement))
    with fresh_engine.begin() as conn:
        conn.execute(text(ANALYZE))
        community = conn.execute(text(
            "SELECT region_code FROM house WHERE region_code LIKE '330402%' "
            "ORDER BY id DESC LIMIT 1")).scalar_one()
    with session_scope(fresh_engine) as session:
        token = create_token(session, name="plans", scope="330402", roles=["reader"],
                             actor="tests").token
    return token, community


def test_community_page_walks_the_region_index(fresh_engine: Engine, test_settings: Settings,
                                               generated: tuple[str, str]) -> None:
    token, community = generated
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any,
                _many: bool) -> None:
        if "FROM house" in statement and "LIMIT" in statement:
            sent.append((statement, parameters))

    event.listen(fresh_engine, "before_cursor_execute", capture)
    try:
        client = TestClient(create_app(test_settings, engine=fresh_engine))
        reply = client.post("/graphql", json={"query": PAGE, "variables": {"r": community}},
                            headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        event.remove(fresh_engine, "before_cursor_execute", capture)
    assert "errors" not in reply, reply
    assert reply["data"]["houses"]["totalCount"] == 200
    assert len(reply["data"]["houses"]["edges"]) == 50
    assert len(sent) == 1, sent
    statement, parameters = sent[0]
    with fresh_engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                    parameters).scalar_one()[0]["Plan"]
    used = _indexes(plan)
    assert "ix_house_region_code_county_id" in used, plan
    assert "pk_house" not in used, plan


def test_engine_connections_keep_custom_plans(test_settings: Settings, fresh_db: str) -> None:
    engine = make_engine(test_settings, url=fresh_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == \
                "force_custom_plan"
    finally:
        engine.dispose()
