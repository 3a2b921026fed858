"""The compiled read path at the edge: one statement, raw JSON body, audit of full numbers,
the cost budget, the request deadline, concurrency of one worker, batched co-residents."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from cimhouse.api.app import create_app
from cimhouse.graphql.compiled.connections import LISTENERS
from cimhouse.schema import AuditLog
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, post
from tests.helpers.ports import free_port

NESTED = """query($e: String!) { estates(filter: {estateCode: $e}, first: 1) { edges { node {
  code buildings(first: 5) { code houses(first: 10) { code roomLabel
    residents { relation person { name idNumber phone } } } } } } } }"""


class Statements:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.seen: list[str] = []

    """Statements sent on the engine's connections and on the fast path's async ones."""

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._count)
        LISTENERS.append(self._sent)
        return self.seen

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)
        LISTENERS.remove(self._sent)

    def _sent(self, statement: str, _params: Any) -> None:
        self.seen.append(statement)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)


def _stats(client: TestClient) -> dict[str, Any]:
    return client.get("/graphql/stats").json()  # type: ignore[no-any-return]


def test_nested_query_is_one_statement_sent_as_postgres_json(client: TestClient,
                                                             aw: ApiWorld) -> None:
    before = _stats(client)["compiled"]
    headers = {"Authorization": f"Bearer {aw.tokens['county']}"}
    body = {"query": NESTED, "variables": {"e": aw.world.estates[0]}}
    client.post("/graphql", json=body, headers=headers)  # token's last_used_at
    with Statements(aw.engine) as seen:
        reply = client.post("/graphql", json=body, headers=headers)
    assert reply.content.startswith(b'{"data":{"estates" : ')
    data = reply.json()["data"]["estates"]["edges"][0]["node"]
    assert data["code"] == aw.world.estates[0]
    ids = [r["person"]["idNumber"] for b in data["buildings"] for h in b["houses"]
           for r in h["residents"]]
    assert ids
    assert all("********" in i for i in ids)
    reads = [s for s in seen if "json_build_object" in s]
    assert len(reads) == 1, seen
    assert _stats(client)["compiled"] == before + 2


def test_full_numbers_audited_in_the_same_transaction(client: TestClient,
                                                      aw: ApiWorld) -> None:
    token = aw.tokens["community"]  # pii_reader
    query = """query($e: String!) { estates(filter: {estateCode: $e}) { edges { node {
        buildings { houses { residents { person { id idNumber phone } } } } } } } }"""
    estate = aw.world.estates[0]

    def audit_rows() -> int:
        with aw.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.action == "pii.read")) or 0)

    before = audit_rows()
    reply = post(client, token, query, {"e": estate})
    persons = [r["person"] for e in reply["data"]["estates"]["edges"]
               for b in e["node"]["buildings"] for h in b["houses"] for r in h["residents"]]
    numbers = set(aw.world.id_numbers.values())
    assert persons
    assert all(p["idNumber"] in numbers for p in persons)
    assert audit_rows() == before + 2 * len(persons)  # one row per number read
    # No audit, no number: make audit_log refuse these rows for a moment (a constraint, not
    # a trigger: Citus has no triggers on distributed tables).
    with aw.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log ADD CONSTRAINT ck_refuse_audit "
                          "CHECK (action <> 'pii.read') NOT VALID"))
    try:
        failed = client.post("/graphql", json={"query": query, "variables": {"e": estate}},
                             headers={"Authorization": f"Bearer {token}"})
    finally:
        with aw.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log DROP CONSTRAINT ck_refuse_audit"))
    assert failed.json()["data"] is None
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert not any(number in failed.text for number in numbers)


def test_over_budget_query_refused_before_any_sql(client: TestClient, aw: ApiWorld) -> None:
    query = """{ estates(first: 200) { edges { node { buildings { houses {
        residents { person { coResidents { name } } } } } } } } }"""
    headers = {"Authorization": f"Bearer {aw.tokens['province']}"}
    client.post("/graphql", json={"query": "{ regions { totalCount } }"}, headers=headers)
    with Statements(aw.engine) as seen:
        reply = client.post("/graphql", json={"query": query}, headers=headers)
    error = reply.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_EXPENSIVE", reply.text
    assert reply.json()["data"] is None
    assert not [s for s in seen if "estate" in s], seen  # only the token lookup ran


def test_co_residents_batched_on_the_resolver_path(aw: ApiWorld,
                                                   test_settings: Settings) -> None:
    resolvers = TestClient(create_app(test_settings, engine=aw.engine, compiled=False))
    query = """query($n: Int!) { persons(first: $n) { edges { node { name
        coResidents { name coResidents { name } } } } } }"""
    token = aw.tokens["province"]
    post(resolvers, token, query, {"n": 1})
    counts = {}
    for n in (2, 20):
        with Statements(aw.engine) as seen:
            reply = post(resolvers, token, query, {"n": n})
        assert len(reply["data"]["persons"]["edges"]) == n
        counts[n] = len(seen)
    assert counts[2] == counts[20], counts


@pytest.fixture(scope="module")
def served(aw: ApiWorld, test_settings: Settings) -> Iterator[dict[str, str]]:
    """One uvicorn worker per path, a budget of 1.5 s per request."""
    urls = {}
    servers = []
    for name, compiled in (("compiled", True), ("resolvers", False)):
        port = free_port()
        app = create_app(test_settings.with_changes(statement_timeout_ms=1500),
                         engine=aw.engine, compiled=compiled)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{port}/graphql"
    deadline = time.monotonic() + 20
    while not all(s.started for s in servers):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield urls
    for server in servers:
        server.should_exit = True


@pytest.mark.parametrize("path", ["compiled", "resolvers"])
def test_one_worker_serves_others_while_a_query_waits_and_the_deadline_ends_it(
        served: dict[str, str], aw: ApiWorld, path: str) -> None:
    url = served[path]
    headers = {"Authorization": f"Bearer {aw.tokens['province']}"}
    blocked: dict[str, Any] = {}

    def slow() -> None:
        reply = httpx.post(url, json={"query": "{ houses { totalCount } }"},
                           headers=headers, timeout=30)
        blocked.update(reply=reply.json())

    with aw.engine.connect() as locker:
        locker.execute(text("LOCK TABLE house IN ACCESS EXCLUSIVE MODE"))
        waiting = threading.Thread(target=slow)
        waiting.start()
        time.sleep(0.3)
        quick = httpx.post(url, json={"query": "{ regions(first: 1) { totalCount } }"},
                           headers=headers, timeout=5)
        # answered while the other request of the same worker waits for the lock
        assert quick.json()["data"]["regions"]["totalCount"] > 0
        waiting.join(timeout=30)
        locker.rollback()
    reply = blocked["reply"]
    assert reply["data"] is None or reply["data"].get("houses") is None
    assert "time limit" in reply["errors"][0]["message"]  # its deadline ended it
