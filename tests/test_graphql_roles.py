"""Issue 11, item 18: the role table of docs/graphql.md is what the API does.

The table (role x operation class, "yes"/"no") is read from the document; for every cell a
token holding exactly that one role runs a probe of the operation class and must be allowed
or refused as the table says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cimhouse.coding.house_code import encode
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import global_id
from cimhouse.schema.vocab import Role
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token, post

DOCS = Path(__file__).resolve().parent.parent / "docs" / "graphql.md"
MARKER = "<!-- roles-table:"


def role_table() -> dict[str, dict[str, bool]]:
    """Operation class (first words of the row) -> role -> allowed."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER))
    header = [c.strip() for c in lines[start + 1].strip("|").split("|")]
    table: dict[str, dict[str, bool]] = {}
    for line in lines[start + 3:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0]] = {role: cell == "yes" for role, cell in zip(header[1:], cells[1:],
                                                                      strict=True)}
    return table


def _forbidden(reply: dict[str, Any]) -> bool:
    codes = [e.get("extensions", {}).get("code") for e in reply.get("errors") or []]
    return "FORBIDDEN" in codes or "ForbiddenError" in str(reply.get("data"))


def _ok(reply: dict[str, Any]) -> bool:
    return not reply.get("errors") and not _forbidden(reply)


def probe_plain(client: TestClient, token: str) -> bool:
    reply = post(client, token, "{ houses(first: 1) { totalCount } "
                                "coverage(categories: [\"medical\"]) { category } "
                                "householdStatistics(regionCode: \"33\") { households } }")
    return _ok(reply)


def probe_persons(client: TestClient, token: str) -> bool:
    reply = post(client, token, "{ persons(first: 1) { totalCount edges { node { name } } } "
                                "elderlyLivingAlone(first: 1) { age } "
                                "houses(first: 1) { edges { node { households { number } } } } }")
    return _ok(reply)


def probe_full_pii(client: TestClient, token: str) -> bool:
    reply = post(client, token, "{ persons(first: 5) { edges { node { idNumber } } } }")
    if not _ok(reply):
        return False
    numbers = [e["node"]["idNumber"] for e in reply["data"]["persons"]["edges"]]
    assert numbers
    return all("*" not in n for n in numbers)


def probe_relations(client: TestClient, token: str) -> bool:
    reply = post(client, token, 'mutation { endPersonHouseRelation(id: "bm90aGluZw", '
                                'endDate: "2026-01-01") { __typename } }')
    runs = post(client, token, "{ importRuns(first: 1) { totalCount } }")
    allowed: bool = reply["data"]["endPersonHouseRelation"]["__typename"] != "ForbiddenError"
    assert allowed == _ok(runs), (reply, runs)
    return allowed


def probe_codes(client: TestClient, token: str) -> bool:
    never_issued = encode("330402999999", 1, 1, 101)  # valid, but no such house
    reply = post(client, token, "mutation($c: String!) { cancelJob(jobId: 987654321) "
                                "{ __typename } retireHouse(code: $c, status: DEMOLISHED, "
                                'reason: "probe") { __typename } }', {"c": never_issued})
    kinds = {reply["data"]["cancelJob"]["__typename"],
             reply["data"]["retireHouse"]["__typename"]}
    assert kinds in ({"ForbiddenError"}, {"NotFoundError"}), reply
    return kinds == {"NotFoundError"}


def probe_programme(client: TestClient, token: str) -> bool:
    unknown = global_id("FutureProject", "987654321")  # well formed, no such project
    reply = post(client, token, "mutation($i: ID!) { advanceFutureProject(id: $i, "
                                'status: DECLARED, on: "2026-01-01") { __typename } }',
                 {"i": unknown})
    kind = reply["data"]["advanceFutureProject"]["__typename"]
    assert kind in ("ForbiddenError", "NotFoundError"), reply
    gap = post(client, token, 'mutation { advanceGapProject(id: "330402:987654321", '
                              "status: IN_USE) { __typename } }")
    assert gap["data"]["advanceGapProject"]["__typename"] == kind, gap
    return bool(kind == "NotFoundError")


PROBES: dict[str, Callable[[TestClient, str], bool]] = {
    "non-personal reads": probe_plain,
    "persons and person-house relations": probe_persons,
    "full ID numbers and phones": probe_full_pii,
    "person-house relation mutations": probe_relations,
    "code-assignment jobs": probe_codes,
    "future-community project mutations": probe_programme,
}


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        with session_scope(built.engine) as session:
            for role in Role:
                built.tokens[f"only:{role.value}"] = issue_token(
                    session, built.world.communities[0][:6], role.value,
                    name=f"only-{role.value}")
        yield built


def _probe_for(operation_class: str) -> Callable[[TestClient, str], bool]:
    return next(probe for prefix, probe in PROBES.items()
                if operation_class.startswith(prefix))


def test_the_table_names_every_role_and_class() -> None:
    table = role_table()
    assert len(table) == len(PROBES)
    for operation_class, cells in table.items():
        _probe_for(operation_class)
        assert set(cells) == {r.value for r in Role}, operation_class


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_can_do_exactly_what_the_table_says(client: TestClient, aw: ApiWorld,
                                                      role: str) -> None:
    token = aw.tokens[f"only:{role}"]
    for operation_class, cells in role_table().items():
        allowed = _probe_for(operation_class)(client, token)
        assert allowed == cells[role], (role, operation_class, allowed)
