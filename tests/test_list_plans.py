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
from cimhouse.graphql.compiled.connections import LISTENERS
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


def _sent(engine: Engine, settings: Settings, compiled: bool, token: str, query: str,
          variables: dict[str, Any], marker: str) -> tuple[dict[str, Any], list[Any]]:
    """The reply, and the statements containing ``marker`` that answering it sent (on the
    engine's connections, or on the compiled fast path's async ones)."""
    sent: list[tuple[str, Any]] = []

    def keep(statement: str, parameters: Any) -> None:
        if marker in statement and "LIMIT" in statement:
            sent.append((statement, parameters))

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any,
                _many: bool) -> None:
        keep(statement, parameters)

    event.listen(engine, "before_cursor_execute", capture)
    LISTENERS.append(keep)
    try:
        client = TestClient(create_app(settings, engine=engine, compiled=compiled))
        reply = client.post("/graphql", json={"query": query, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        LISTENERS.remove(keep)
    return reply, sent


def _plan(engine: Engine, statement: str, parameters: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return conn.exec_driver_sql(  # type: ignore[no-any-return]
            "EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()[0]["Plan"]


@pytest.mark.parametrize("compiled", [False, True], ids=["resolvers", "compiled"])
def test_community_page_walks_the_region_index(fresh_engine: Engine, test_settings: Settings,
                                               generated: tuple[str, str],
                                               compiled: bool) -> None:
    token, community = generated
    reply, sent = _sent(fresh_engine, test_settings, compiled, token, PAGE,
                        {"r": community}, "FROM house")
    assert "errors" not in reply, reply
    assert reply["data"]["houses"]["totalCount"] == 200
    assert len(reply["data"]["houses"]["edges"]) == 50
    assert len(sent) == 1, sent
    used = _indexes(_plan(fresh_engine, *sent[0]))
    assert "ix_house_region_code_county_id" in used, used
    assert "pk_house" not in used, used


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's nodes; on Citus with those of its subplans and tasks, their relation
    names without the shard suffix."""
    node = {**plan, "Relation Name": re.sub(r"_\d+$", "", plan["Relation Name"])} \
        if "Relation Name" in plan else plan
    found = [node, *(n for child in plan.get("Plans", []) for n in _nodes(child))]
    distributed = plan.get("Distributed Query", {})
    for subplan in distributed.get("Subplans", []):
        for explained in subplan.get("PlannedStmt", []):
            found += _nodes(explained["Plan"])
    for task in distributed.get("Job", {}).get("Tasks", []):
        for remote in task.get("Remote Plan", []):
            for explained in remote:
                found += _nodes(explained["Plan"])
    return found


PERSONS = "{ persons(first: 50) { totalCount edges { node { name } } } }"
#: two residents per house, person ids in house order (a community's persons come last)
#: (:b = the highest person id, :n = twice the houses; values, not a temp table: Citus
#: cannot write from a temp table joined with distributed ones)
PEOPLE = """
INSERT INTO person (id, name, id_hash, id_cipher, id_masked, gender)
OVERRIDING SYSTEM VALUE
SELECT CAST(:b AS bigint) + i, 'p' || i, sha256(('plan' || i)::bytea),
       sha256(('c' || i)::bytea), '330402********0000', 'F'
FROM generate_series(1, CAST(:n AS int)) i;
INSERT INTO person_house (county, person_id, house_id, relation, valid_from)
SELECT h.county, CAST(:b AS bigint) + 2 * h.rn - k, h.id, 'resident', date '2020-01-01'
FROM (SELECT county, id, row_number() OVER (ORDER BY county, id) rn FROM house) h,
     generate_series(0, 1) k"""


@pytest.mark.parametrize("compiled", [False, True], ids=["resolvers", "compiled"])
def test_persons_of_a_community_read_by_key(fresh_engine: Engine, test_settings: Settings,
                                            generated: tuple[str, str],
                                            compiled: bool) -> None:
    """``persons(first: 50)`` of a community scope collects the scope's person ids first and
    reads the page by key; with ``IN (...)`` it walked ``pk_person`` and probed every
    person's relations (16.9-25.9 s at 1M houses for the community whose persons come
    last, docs/performance.md)."""
    _, community = generated
    with fresh_engine.begin() as conn:
        # Citus: person (a reference table) is written after multi-shard reads of house
        conn.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
        values = {"b": conn.execute(text("SELECT coalesce(max(id), 0) FROM person")).scalar(),
                  "n": 2 * int(conn.execute(text("SELECT count(*) FROM house")).scalar() or 0)}
        for statement in PEOPLE.split(";\n"):
            conn.execute(text(statement), values)
    with fresh_engine.begin() as conn:  # Citus: ANALYZE in a transaction of its own
        conn.execute(text("ANALYZE person"))
        conn.execute(text("ANALYZE person_house"))
    with session_scope(fresh_engine) as session:
        token = create_token(session, name=f"plans-community-{compiled}", scope=community,
                             roles=["person_reader"], actor="tests").token
    reply, sent = _sent(fresh_engine, test_settings, compiled, token, PERSONS, {},
                        "FROM person")
    assert "errors" not in reply, reply
    assert reply["data"]["persons"]["totalCount"] == 400
    assert len(reply["data"]["persons"]["edges"]) == 50
    page = [s for s in sent if "count(" not in s[0].split("LIMIT")[0][-200:]] or sent
    nodes = [n for s in page for n in _nodes(_plan(fresh_engine, *s))]
    person_scans = [n for n in nodes if n.get("Relation Name") == "person"]
    assert person_scans
    assert all("= ANY" in n.get("Index Cond", "") for n in person_scans), person_scans
    assert not any(n["Node Type"] == "Merge Join" for n in nodes), nodes


def test_engine_connections_keep_custom_plans(test_settings: Settings, fresh_db: str) -> None:
    engine = make_engine(test_settings, url=fresh_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == \
                "force_custom_plan"
    finally:
        engine.dispose()
