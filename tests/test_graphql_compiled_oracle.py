"""The resolver path is the oracle of the compiled path.

Hypothesis draws queries over the compilable part of the SDL (connections of estates,
buildings and houses with filters, paging and cursors; regions; lookup; nested buildings,
houses, relations, persons, co-residents, regions; aliases, named and inline fragments,
@include, variables, ``asOf``, ``kinds``, ``allDates``, CRS) and a principal at each of the
six scope levels with each role, and asserts that the app serving compiled SQL and the app
serving only resolvers answer with the same status, ``data`` and ``errors``. Every query of
docs/graphql.md is run the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cimhouse.api.app import create_app
from cimhouse.coding.house_code import display, encode
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import encode_cursor, global_id
from cimhouse.schema import ChangeLog
from cimhouse.schema.vocab import Role
from cimhouse.settings import Settings
from tests.helpers.graphql_examples import documented_examples, world_values
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token

SCALARS = {
    "Estate": ["id", "code", "name", "aliases", "kind", "address", "propertyCompany",
               "status", "regionCode"],
    "Building": ["id", "code", "regionCode", "road", "doorNumber", "buildingLabel", "address",
                 "floorsAbove", "floorsBelow", "heightM", "structure", "use", "yearBuilt",
                 "status"],
    "House": ["id", "code", "regionCode", "unitLabel", "floorLabel", "floorNumber",
              "roomLabel", "areaM2", "areaSource", "use", "status", "address",
              "realestateUnitNo"],
    "Region": ["id", "code", "code12", "name", "level", "parentCode"],
    "PersonHouseRelation": ["id", "relation", "validFrom", "validTo", "source"],
    "Person": ["id", "name", "gender", "birthDate", "idNumber", "phone"],
    "ChangeEntry": ["operation", "changedAt", "actor", "source", "previous", "current"],
}
#: field -> (type of its objects or None for JSON/scalars, arguments)
NESTED: dict[str, dict[str, tuple[str | None, tuple[str, ...]]]] = {
    "Estate": {"geometry": (None, ("crs",)), "region": ("Region", ()),
               "history": ("ChangeEntry", ()),
               "buildings": ("Building", ("nfirst",))},
    "Building": {"geometry": (None, ("crs",)), "estate": ("Estate", ()),
                 "history": ("ChangeEntry", ()),
                 "region": ("Region", ()), "houses": ("House", ("nfirst",))},
    "House": {"location": (None, ("crs",)), "building": ("Building", ()),
              "history": ("ChangeEntry", ()),
              "region": ("Region", ()),
              "relations": ("PersonHouseRelation", ("kinds", "asOfOpt", "allDates")),
              "owners": ("PersonHouseRelation", ("asOf",)),
              "residents": ("PersonHouseRelation", ("asOf",)),
              "tenants": ("PersonHouseRelation", ("asOf",))},
    "PersonHouseRelation": {"person": ("Person", ()), "house": ("House", ())},
    "Person": {"age": (None, ("asOf",)), "coResidents": ("Person", ("asOf",)),
               "houses": ("PersonHouseRelation", ("kinds", "asOfOpt", "allDates"))},
    "Region": {},
    "ChangeEntry": {},
}
DATES = [None, "2019-06-01", "2020-01-01", "2026-06-30"]
#: argument -> (GraphQL name, type, values)
ARGS: dict[str, tuple[str, str, list[Any]]] = {
    "crs": ("crs", "Crs!", ["CGCS2000", "WGS84", "CGCS2000", "GCJ02"]),
    "nfirst": ("first", "Int", [None, 0, 1, 2, 5, -1]),
    "kinds": ("kinds", "[RelationKind!]", [None, [], ["OWNER"], ["RESIDENT", "TENANT"]]),
    "asOfOpt": ("asOf", "Date", DATES),
    "asOf": ("asOf", "Date", DATES),
    "allDates": ("allDates", "Boolean!", [False, True]),
}
ENUMS = {"Crs!", "[RelationKind!]"}
#: CI runs 100 fixed examples; ORACLE_EXAMPLES=1000 for a deeper (random) local run
EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "100"))


def literal(value: Any, gql_type: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, gql_type.strip("[]!")) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v, 'Crs' if k.endswith(('crs', 'Crs')) else '')}"
                               for k, v in value.items()) + "}"
    if gql_type in ENUMS or gql_type in ("Crs", "RelationKind"):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Draft:
    """A query being drawn: its variables and fragment definitions."""

    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)

    def argument(self, draw: st.DrawFn, name: str, gql_type: str, value: Any) -> str:
        if draw(st.booleans()):
            var = f"v{len(self.variables)}"
            self.variables[var] = (gql_type, value)
            return f"{name}: ${var}"
        return f"{name}: {literal(value, gql_type)}"

    def text(self, body: str) -> str:
        defs = ", ".join(f"${k}: {t}" for k, (t, _) in self.variables.items())
        head = f"query Q({defs})" if defs else "query Q"
        return "\n".join([f"{head} {{ {body} }}", *self.fragments])

    def values(self) -> dict[str, Any]:
        return {k: v for k, (_, v) in self.variables.items()}


def selection(draw: st.DrawFn, d: Draft, type_name: str, depth: int) -> str:
    parts: list[str] = []
    used: set[str] = set()

    def key(name: str) -> str:
        if name in used or draw(st.integers(0, 7)) == 0:
            alias = f"a{len(used)}_{name}"
            used.add(alias)
            return f"{alias}: {name}"
        used.add(name)
        return name

    for name in draw(st.lists(st.sampled_from(SCALARS[type_name]), min_size=1, max_size=4)):
        parts.append(key(name))
    if draw(st.integers(0, 5)) == 0:
        parts.append("__typename")
    nested = sorted(NESTED[type_name])
    if depth > 0 and nested:
        for name in draw(st.lists(st.sampled_from(nested), max_size=2, unique=True)):
            target, arg_names = NESTED[type_name][name]
            args = []
            for arg in arg_names:
                gql_name, gql_type, values = ARGS[arg]
                value = draw(st.sampled_from(values))
                if value is None and arg in ("asOfOpt", "nfirst", "kinds") and draw(
                        st.booleans()):
                    continue
                args.append(d.argument(draw, gql_name, gql_type, value))
            head = key(name) + (f"({', '.join(args)})" if args else "")
            if target is None:
                parts.append(head)
            else:
                parts.append(f"{head} {{ {selection(draw, d, target, depth - 1)} }}")
    body = " ".join(parts)
    wrap = draw(st.integers(0, 5))
    if wrap == 0:
        name = f"F{len(d.fragments)}"
        d.fragments.append(f"fragment {name} on {type_name} {{ {body} }}")
        return f"...{name}"
    if wrap == 1:
        return f"... on {type_name} {{ {body} }}"
    if wrap == 2:
        return f"{body} ... on Node {{ id }}"
    return body


@dataclass
class Pools:
    tokens: list[str]
    cursors: dict[str, list[str]]
    codes: list[str]
    filters: list[dict[str, Any]]
    regions: list[str]
    node_ids: list[str]


def _connection(draw: st.DrawFn, d: Draft, pools: Pools, root: str) -> str:
    """One of the estates/buildings/houses connections, with arguments and a selection."""
    node = {"estates": "Estate", "buildings": "Building", "houses": "House"}[root]
    args = [d.argument(draw, "first", "Int", draw(st.sampled_from([None, 1, 2, 3, 50,
                                                                  500, -2])))]
    flt = draw(st.sampled_from(pools.filters))
    if flt:
        args.append(d.argument(draw, "filter", "BuiltFilter", flt))
    if draw(st.booleans()):
        kind = root[:-1] if root != "houses" else "house"
        args.append(d.argument(draw, "after", "String",
                               draw(st.sampled_from(pools.cursors[kind]))))
    parts = [f"edges {{ cursor node {{ {selection(draw, d, node, 3)} }} }}"]
    if draw(st.integers(0, 4)) == 0:
        parts = ["__typename"]
    if draw(st.booleans()):
        parts.append("totalCount")
    if draw(st.booleans()):
        parts.append("pageInfo { hasNextPage endCursor }")
    return f"{root}({', '.join(args)}) {{ {' '.join(draw(st.permutations(parts)))} }}"


@st.composite
def queries(draw: st.DrawFn, pools: Pools) -> tuple[str, str, dict[str, Any]]:
    d = Draft()
    roots = []
    for index in range(draw(st.integers(1, 2))):
        root = draw(st.sampled_from(["estates", "buildings", "houses", "lookup", "region",
                                     "regions", "node", "persons"]))
        alias = f"r{index}: "
        if root in ("estates", "buildings", "houses"):
            body = _connection(draw, d, pools, root)
        elif root == "lookup":
            code = d.argument(draw, "code", "String!", draw(st.sampled_from(pools.codes)))
            objects = " ".join(f"{kind} {{ {selection(draw, d, kind.title(), 2)} }}"
                               for kind in ("estate", "building", "house") if draw(st.booleans()))
            body = (f"lookup({code}) {{ code status issuedAt retiredAt decoding {{ objectKind "
                    f"county community display estateCode buildingCode }} {objects} }}")
        elif root == "node":
            ident = d.argument(draw, "id", "ID!", draw(st.sampled_from(pools.node_ids)))
            kinds = draw(st.lists(st.sampled_from(["Estate", "Building", "House", "Region",
                                                   "Person"]), min_size=1, max_size=2,
                                  unique=True))
            spreads = " ".join(f"... on {k} {{ {selection(draw, d, k, 1)} }}" for k in kinds)
            body = f"node({ident}) {{ id __typename {spreads} }}"
        elif root == "persons":
            args = [d.argument(draw, "first", "Int", draw(st.sampled_from([1, 3, None])))]
            name = draw(st.sampled_from([None, "居民1", " "]))
            if name is not None:
                args.append(d.argument(draw, "nameContains", "String", name))
            if draw(st.booleans()):
                args.append(d.argument(draw, "after", "String",
                                       draw(st.sampled_from(pools.cursors["person"]))))
            body = (f"persons({', '.join(args)}) {{ totalCount pageInfo {{ hasNextPage }} "
                    f"edges {{ cursor node {{ {selection(draw, d, 'Person', 2)} }} }} }}")
        elif root == "region":
            code = d.argument(draw, "code", "String!", draw(st.sampled_from(pools.regions)))
            body = f"region({code}) {{ {selection(draw, d, 'Region', 0)} }}"
        else:
            args = [d.argument(draw, "first", "Int", draw(st.sampled_from([2, 20, None])))]
            level = draw(st.sampled_from([None, 3, 5, None, 3, 9]))
            if level is not None:
                args.append(d.argument(draw, "level", "Int", level))
            if draw(st.booleans()):
                args.append(d.argument(draw, "parentCode", "String",
                                       draw(st.sampled_from(pools.regions))))
            if draw(st.booleans()):
                args.append(d.argument(draw, "after", "String",
                                       draw(st.sampled_from(pools.cursors["region"]))))
            body = (f"regions({', '.join(args)}) {{ totalCount pageInfo {{ hasNextPage "
                    f"endCursor }} edges {{ cursor node {{ {selection(draw, d, 'Region', 0)} "
                    f"}} }} }}")
        roots.append(alias + body)
    return draw(st.sampled_from(pools.tokens)), d.text(" ".join(roots)), d.values()


@pytest.fixture(scope="module")
def oracle(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings
           ) -> Iterator[tuple[ApiWorld, Pools, TestClient, TestClient]]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        world = built.world
        community = world.communities[0]
        scopes = [community[:2], community[:4], community[:6], community[:9], community,
                  world.estates[0]]
        with session_scope(built.engine) as session:
            tokens = [issue_token(session, scope, role.value, name=f"o-{scope}-{role.value}")
                      for scope in scopes for role in Role]
        objects = list(world.objects.values())
        with session_scope(built.engine) as session:  # some history to show
            for o in objects[:12]:
                for ref, op in ((str(o.id), "insert"), (o.code, "update")):
                    session.add(ChangeLog(county=o.county, object_kind=o.kind, object_id=ref,
                                          operation=op, actor="tests", source="oracle",
                                          previous=None if op == "insert" else {"n": 1},
                                          current={"status": "in_use", "tags": ["a", 2]}))
        cursors = {kind: [*[encode_cursor(kind, f"{o.county}:{o.id}") for o in objects if o.kind == kind][:6], "bm90IGEgY3Vyc29y", encode_cursor("x", "1")]
                   for kind in ("estate", "building", "house")}
        cursors["region"] = [encode_cursor("region", community[:6]),
                             encode_cursor("region", community), "%%%"]
        house = next(o for o in objects if o.kind == "house")
        building = next(o for o in objects if o.kind == "building")
        codes = [display(house.code), house.code.lower(), building.code, world.estates[1],
                 encode(community, 9, 9, 9), "123", objects[-1].code]
        filters: list[dict[str, Any]] = [{}, {"estateCode": world.estates[0]}, {"regionCode": community},
                   {"regionCode": community[:6], "use": ["residential"]},
                   {"regionCode": community[:9]}, {"regionCode": "12345"},
                   {"codePrefix": community[:8]}, {"status": ["in_use"]},
                   {"text": "测试路0"}, {"text": "  "}, {"buildingCode": building.code},
                   {"estateCode": world.estates[-1], "status": []},
                   {"bbox": {"west": 119.99, "south": 30.49, "east": 120.02, "north": 30.51}},
                   {"bbox": {"west": 120.0, "south": 30.4, "east": 120.2, "north": 30.6,
                             "crs": "WGS84"}, "use": ["commercial"]},
                   {"bbox": {"west": 121.0, "south": 30.4, "east": 120.2, "north": 30.6}},
                   {"near": {"lon": 120.005, "lat": 30.5, "metres": 400}},
                   {"near": {"lon": 120.05, "lat": 30.55, "metres": 2000, "crs": "GCJ02"}},
                   {"near": {"lon": 120.05, "lat": 30.55, "metres": -1}},
                   {"polygon": {"type": "Polygon", "coordinates": [[
                       [119.99, 30.49], [120.02, 30.49], [120.02, 30.51], [119.99, 30.51],
                       [119.99, 30.49]]]}}]
        persons = sorted(world.id_numbers)
        cursors["person"] = [encode_cursor("person", str(p)) for p in persons[::7]] + [
            encode_cursor("person", "x1")]
        node_ids: list[str] = [global_id(o.kind.title(), f"{o.county}:{o.id}") for o in objects[::5]]
        node_ids += [global_id("Person", str(p)) for p in persons[::9]]
        node_ids += [global_id("Region", community), global_id("Region", community[:6]),
                     global_id("Job", "1"), global_id("Foo", "1"), global_id("House", "x"),
                     "!!", global_id("Person", "abc")]
        pools = Pools(tokens, cursors, codes, filters,
                      [community[:6], community, world.communities[-1], "99"], node_ids)
        # A generous request budget: a loaded CI machine must not turn into a difference.
        patient = test_settings.with_changes(statement_timeout_ms=60_000)
        compiled = TestClient(create_app(patient, engine=built.engine))
        resolvers = TestClient(create_app(patient, engine=built.engine, compiled=False))
        yield built, pools, compiled, resolvers


def both(compiled: TestClient, resolvers: TestClient, token: str, query: str,
         variables: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": query, "variables": variables}
    fast = compiled.post("/graphql", json=body, headers=headers)
    slow = resolvers.post("/graphql", json=body, headers=headers)
    assert fast.status_code == slow.status_code, (query, fast.text, slow.text)
    assert fast.json() == slow.json(), (query, variables, fast.text, slow.text)
    return fast.json()  # type: ignore[no-any-return]


def test_compiled_path_equals_resolver_path(oracle: Any) -> None:
    _built, pools, compiled, resolvers = oracle
    before = compiled.get("/graphql/stats").json()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES == 100,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=queries(pools))
    def run(case: tuple[str, str, dict[str, Any]]) -> None:
        token, query, variables = case
        both(compiled, resolvers, token, query, variables)

    run()
    after = compiled.get("/graphql/stats").json()
    ran = after["compiled"] - before["compiled"]
    fell = after["fallback"] - before["fallback"]
    # most drawn queries must really take the compiled path (fallbacks: refused inputs,
    # roles the resolvers answer with FORBIDDEN, GCJ02)
    assert ran >= 30, after
    assert ran + fell >= 60, after


def test_documented_queries_equal(oracle: Any) -> None:
    built, _pools, compiled, resolvers = oracle
    values = world_values(built)
    tokens = [built.tokens[k] for k in ("province", "county", "community", "estate", "town")]
    for _name, (query, _) in documented_examples().items():
        if query.lstrip().startswith("mutation"):
            continue
        variables = {k: values[k] for k in ("code", "estateCode", "regionCode", "idNumber",
                                            "lon", "lat", "after") if f"${k}" in query}
        for token in tokens:
            both(compiled, resolvers, token, query, variables)
