"""Property: no response contains an object outside the caller's scope.

Hypothesis draws a principal (scopes at all six levels, over a world spanning three
counties in two cities), a query type (every one the API has) and its arguments (codes, ID
numbers and ids from anywhere in the world, inside or outside the scope). Every code,
person, region and job in the reply must lie inside the scope, and counts must equal what
the scope may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import county_key, global_id
from cimhouse.programme.upsert_project import ProjectData, upsert_project
from cimhouse.schema import ServiceIndexSurvey
from cimhouse.settings import Settings
from tests.helpers.graphql_world import (
    ApiWorld,
    World,
    add_hidden_member,
    api_world,
    issue_token,
    post,
)

NESTED_HOUSE = "code regionCode building { code estate { code } } residents { person { name } }"
QUERIES: dict[str, str] = {
    # houses(first: 50): 200 estates x 500 buildings x 500 houses is over the cost budget
    "estates": "{ estates(first: 200) { totalCount edges { node { code regionCode "
               "buildings { code houses(first: 50) { code } } } } } }",
    "buildings": "{ buildings(first: 200) { totalCount edges { node { code estate { code } "
                 "houses { " + NESTED_HOUSE + " } } } } }",
    "houses": "{ houses(first: 200) { totalCount edges { node { " + NESTED_HOUSE + " } } } }",
    "houses_by_region": "query($r: String!) { houses(filter: {regionCode: $r}) { totalCount "
                        "edges { node { code } } } }",
    "lookup": "query($c: String!) { lookup(code: $c) { code house { code } building { code } "
              "estate { code buildings { code } } } }",
    "lineage": "query($c: String!) { lineage(code: $c) { code ancestors { parentCode "
               "childCode } descendants { parentCode childCode } } }",
    "history": "query($c: String!) { history(code: $c) { operation } }",
    "person": "query($n: String!) { person(idNumber: $n) { name houses(allDates: true) { "
              "house { code } } coResidents { name } } }",
    "persons": "{ persons(first: 200) { totalCount edges { node { name houses { house { code "
               "} } } } } }",
    "node": "query($id: ID!) { node(id: $id) { id ... on House { code } ... on Estate { code } "
            "... on Building { code } ... on Person { name } } }",
    "facilities": "{ facilities(first: 200) { totalCount edges { node { name regionCode } } } }",
    "nearest": "query($c: String!) { nearestFacilities(estateCode: $c, first: 20) { facility { "
               "regionCode } } }",
    "statistics": "query($r: String!) { statistics(regionCode: $r, asOf: \"2026-06-30\") { "
                  "houses persons occupiedHouses } }",
    "jobs": "{ jobs(first: 200) { edges { node { scopeCode } } } }",
    "regions": "query($r: String!) { regions(parentCode: $r, first: 200) { edges { node { "
               "code } } } }",
    "region": "query($r: String!) { region(code: $r) { code } }",
    "devices": "{ devices(first: 200) { uid houseCode } }",
    "safety_alerts": "{ safetyAlerts(first: 200) { houseCode personName evidence } }",
    "safety_contacts": "{ safetyContacts { name regionCode houseCode phone } "
                       "safetyNotifications { title contactName } }",
    "safety_readings": "{ safetyReadings(bucket: DAY, since: \"2026-06-01T00:00:00+08:00\", "
                       "until: \"2026-07-01T00:00:00+08:00\") { readings total } }",
    "safety_ingest": "query($r: String!) { safetyIngestStatistics(regionCode: $r, from: "
                     "\"2026-06-01\", to: \"2026-06-30\") { counties total { received } "
                     "bySource { county received } byDay { received } rejects { count } "
                     "latestRejects { county device } } }",
    "search": "query($t: String!) { searchAddresses(text: $t, first: 50) { code regionCode "
              "estateCode house { code building { code } } } }",
    "projects": "{ futureProjects(first: 200) { totalCount items { name communities { "
                "regionCode name } estateCodes geometry scenarios { state since } } } }",
    "gap_projects": "{ gapProjects { regionCode estateCode } serviceIndexHistory { regionCode "
                    "index } }",
    "programme": "query($r: String!) { programmeProgress(regionCode: $r, asOf: \"2026-06-30\")"
                 " { total { provincialCreation } } }",
    # households (issue 15): through houses, through a person, and their figures
    "households": "{ houses(first: 50) { edges { node { code households { number size "
                  "head { name } house { code regionCode } members { person { name "
                  "household { house { code } } } } } } } } }",
    "person_household": "query($n: String!) { person(idNumber: $n) { name household { number "
                        "house { code } members { person { name } } } } }",
    "household_statistics": "query($r: String!) { householdStatistics(regionCode: $r, "
                            "asOf: \"2026-06-30\") { households bySize { size households } "
                            "elderlyOnly singleElderlyLivingAlone withChildren0To3 } }",
    # time travel (issue 17): the same lists on a day
    "houses_as_of": "query($d: Date) { houses(first: 200, asOf: $d) { totalCount edges { "
                    "node { " + NESTED_HOUSE + " } } } }",
    "built_as_of": "query($d: Date) { estates(first: 50, asOf: $d) { edges { node { code "
                   "regionCode buildings(first: 20) { code houses(first: 20) { code residents "
                   "{ person { name } } } } } } } facilities(first: 200, asOf: $d) { edges { "
                   "node { name regionCode } } } }",
    "statistics_as_of": "query($r: String!, $d: Date) { statistics(regionCode: $r, asOf: $d) "
                        "{ houses persons occupiedHouses } }",
    "households_as_of": "query($d: Date, $n: String!) { houses(first: 50) { edges { node { "
                        "code households(asOf: $d) { number kind size head { name } house { "
                        "code regionCode } members { person { name } } } } } } "
                        "person(idNumber: $n) { household(asOf: $d) { number house { code } "
                        "then: house(asOf: \"2020-06-30\") { code } members { person { "
                        "name } } } } }",
}
DAYS = (dt.date(2018, 6, 1), dt.date(2020, 1, 1), dt.date(2026, 6, 30), dt.date.today())
#: the ingesters' counts per county (issue 19): the world's counties and one without houses
INGESTED = {"330402": 1402, "330411": 1411, "330106": 1106, "330421": 1421}


def add_projects(session: Session, world: World) -> dict[str, tuple[set[str], set[str]]]:
    """One project per community (covering its first estate) and one spanning the first and
    the last community (two cities); name -> (communities, estates)."""
    made: dict[str, tuple[set[str], set[str]]] = {}
    for community in world.communities:
        estate = next(e for e in world.estates if world.objects[e].community == community)
        made[f"项目{community}"] = ({community}, {estate})
    made["跨市项目"] = ({world.communities[0], world.communities[-1]}, set())
    for name, (communities, estates) in made.items():
        upsert_project(session, ProjectData(
            name=name, level="provincial", kind="renovation",
            lead_street=sorted(communities)[0][:9], communities=sorted(communities),
            estates=sorted(estates), dates={"listed": dt.date(2024, 1, 1)},
            scenarios={"health": {"delivered": dt.date(2025, 1, 1)}}), actor="tests")
    # every project has a boundary: shown only to scopes holding all its communities
    session.execute(text("UPDATE future_project SET boundary = "
                         "ST_Multi(ST_MakeEnvelope(120.0, 30.0, 120.01, 30.01, 4490))"))
    return made


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        scopes = {c[:n] for c in built.world.communities for n in (2, 4, 6, 9, 12)}
        scopes |= set(built.world.estates) | {"330421", "3305"}  # and empty ones
        with session_scope(built.engine) as session:
            built.tokens.update({f"scope:{s}": issue_token(session, s, "admin", name=f"p-{s}")
                                 for s in scopes})
            PROJECTS.update(add_projects(session, built.world))
            add_hidden_member(session, test_settings, built.world)
            for community in built.world.communities:  # one survey each
                session.add(ServiceIndexSurvey(county=community[:6], region_code=community,
                                               survey_date=dt.date(2026, 6, 30), index=50.0,
                                               population=1, estates=1))
            # a device and an alert at every house, its code as evidence (issue 19)
            session.execute(text(
                "INSERT INTO device (county, uid, kind, house_id) "
                "SELECT county, 'D-' || county || '-' || id, 'gas', id FROM house"))
            session.execute(text(
                "INSERT INTO safety_alert (county, kind, severity, house_id, opened_at, "
                "last_evidence_at, evidence) SELECT county, 'gas', 'critical', id, now(), "
                "now(), jsonb_build_object('code', code) FROM house"))
            # a contact per community, named by its code; a reading per device (issue 19)
            session.execute(text(
                "INSERT INTO safety_contact (county, region_code, role, level, name) "
                "SELECT DISTINCT substr(region_code, 1, 6), region_code, 'grid_worker', 1, "
                "'网格员' || region_code FROM house"))
            session.execute(text("SELECT cimhouse_reading_partition(DATE '2026-06-01')"))
            session.execute(text(
                "INSERT INTO device_reading (county, device_id, metric, ts, value) "
                "SELECT county, id, 'gas_lel', TIMESTAMPTZ '2026-06-15 08:00+08', 1 "
                "FROM device"))
            # the ingesters' counts and a refused reading per county (issue 19)
            session.execute(text(
                "INSERT INTO reading_ingest_count (county, source, day, received, stored) "
                "SELECT k, 'mqtt', DATE '2026-06-15', n, n FROM unnest(CAST(:k AS text[]), "
                "CAST(:n AS bigint[])) AS i(k, n)"),
                {"k": list(INGESTED), "n": list(INGESTED.values())})
            session.execute(text(
                "INSERT INTO reading_reject (county, source, received_at, reason, reason_text, "
                "device) SELECT k, 'mqtt', TIMESTAMPTZ '2026-06-15 08:00+00', 'bad_value', "
                "'x', 'R-' || k FROM unnest(CAST(:k AS text[])) AS k"), {"k": list(INGESTED)})
        yield built


def covered(scope: str, world: World, region_code: str) -> bool:
    if len(scope) == 25:
        return region_code == world.objects[scope].community
    return region_code.startswith(scope)


def check(value: Any, scope: str, world: World, names: dict[str, int],
          visible_persons: set[int], key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            check(v, scope, world, names, visible_persons, k)
    elif isinstance(value, list):
        for v in value:
            check(v, scope, world, names, visible_persons, key)
    elif isinstance(value, str):
        if value in world.objects:
            assert world.visible(value, scope), (scope, value)
        if value in names:
            assert names[value] in visible_persons, (scope, value)
        if key in ("regionCode", "scopeCode"):
            assert covered(scope, world, value[:12]), (scope, key, value)
        if key == "code" and value.isdigit() and len(value) <= 12:
            assert len(scope) < 25, (scope, value)
            assert value.startswith(scope), (scope, value)


# one small checker per query of the property test, picked by name: the branches are the
# table's entries, not nested logic
def expected_counts(name: str, scope: str, world: World,  # noqa: C901
                    day: str | None = None, region: str | None = None
                    ) -> Callable[[dict[str, Any]], None]:
    def houses(reply: dict[str, Any]) -> None:
        visible = [c for c, o in world.objects.items() if o.kind == "house"
                   and world.visible(c, scope)]
        assert reply["houses"]["totalCount"] == len(visible)

    def houses_on(day: str | None) -> Callable[[dict[str, Any]], None]:
        def check_count(reply: dict[str, Any]) -> None:
            # the world was built on 2019-01-01 and nothing in it retired since
            visible = [c for c, o in world.objects.items() if o.kind == "house"
                       and world.visible(c, scope)] if (day or "9") >= "2019" else []
            assert reply["houses"]["totalCount"] == len(visible), (scope, day)
        return check_count

    def persons(reply: dict[str, Any]) -> None:
        assert reply["persons"]["totalCount"] == len(world.persons_in(scope))

    def projects(reply: dict[str, Any]) -> None:
        made: dict[str, tuple[set[str], set[str]]] = PROJECTS
        visible = {n for n, (communities, estates) in made.items()
                   if (scope in estates if len(scope) == 25
                       else any(c.startswith(scope) for c in communities))}
        assert reply["futureProjects"]["totalCount"] == len(visible), scope
        assert {p["name"] for p in reply["futureProjects"]["items"]} == visible
        for item in reply["futureProjects"]["items"]:
            whole = len(scope) < 25 and all(c.startswith(scope) for c in made[item["name"]][0])
            assert (item["geometry"] is not None) == whole, (scope, item["name"])

    def gap_projects(reply: dict[str, Any]) -> None:
        seen = [h["regionCode"] for h in reply["serviceIndexHistory"]]
        assert seen == ([] if len(scope) == 25 else
                        sorted(c for c in world.communities if c.startswith(scope)))

    def programme(reply: dict[str, Any]) -> None:
        created = reply["programmeProgress"]["total"]["provincialCreation"]
        assert created <= len(PROJECTS)
        if len(scope) == 25:
            assert created == 0

    def households(reply: dict[str, Any]) -> None:
        for edge in reply["houses"]["edges"]:
            house = edge["node"]
            assert [h["number"] for h in house["households"]] == [
                n for n, (code, _m) in world.households.items() if code == house["code"]]

    def households_on(day: str | None) -> Callable[[dict[str, Any]], None]:
        def check_households(reply: dict[str, Any]) -> None:
            # every membership of the world starts on 2020-01-01 and none ended
            for edge in reply["houses"]["edges"]:
                house = edge["node"]
                assert [h["number"] for h in house["households"]] == [
                    n for n, (code, _m) in world.households.items() if code == house["code"]
                    and (day or "9") >= "2020"], (scope, day)
        return check_households

    def household_statistics(reply: dict[str, Any]) -> None:
        # never more than the households of the houses the scope sees
        seen = [n for n, (code, _m) in world.households.items() if world.visible(code, scope)]
        assert reply["householdStatistics"]["households"] <= len(seen)

    def safety_readings(reply: dict[str, Any]) -> None:
        visible = sum(o.kind == "house" and world.visible(c, scope)
                      for c, o in world.objects.items())
        assert sum(b["readings"] for b in reply["safetyReadings"]) == visible, scope

    def safety_ingest(reply: dict[str, Any]) -> None:
        # counted per county: only counties wholly inside both the scope and the region
        region_ = region or ""
        target = (region_ if region_.startswith(scope) else
                  scope if scope.startswith(region_) and len(scope) < 25 else "")
        seen = sorted(k for k in INGESTED if target and len(target) <= 6
                      and k.startswith(target))
        stats = reply["safetyIngestStatistics"]
        assert [k for k in stats["counties"] if k in INGESTED] == seen, (scope, region)
        assert stats["total"]["received"] == sum(INGESTED[k] for k in seen), (scope, region)
        assert sorted(r["device"] for r in stats["latestRejects"]) == [f"R-{k}" for k in seen]

    def safety_contacts(reply: dict[str, Any]) -> None:
        names = {c["name"] for c in reply["safetyContacts"]}
        assert names == ({f"网格员{c}" for c in world.communities if c.startswith(scope)}
                         if len(scope) < 25 else set()), scope

    return {"houses": houses, "persons": persons, "projects": projects,
            "programme": programme, "gap_projects": gap_projects, "households": households,
            "household_statistics": household_statistics,
            "houses_as_of": houses_on(day),
            "safety_readings": safety_readings, "safety_ingest": safety_ingest,
            "safety_contacts": safety_contacts,
            "households_as_of": households_on(day)}.get(name, lambda _: None)


PROJECTS: dict[str, tuple[set[str], set[str]]] = {}


def typed_address(world: World, obj: Any) -> list[str]:
    """Ways to type the address of ``obj`` (names as tests/helpers/graphql_world.py gives them); the
    estate names differ in one character, so every search also finds near names."""
    ci, e = world.communities.index(obj.community), int(obj.estate_code[12:15])
    b, h = int(obj.code[15:19]), int(obj.code[19:24])
    estate = f"测试小区{ci}-{e}"
    return [f"{estate} {b or 1}幢 {h or 101}室", estate, f"测式小区{ci}-{e} {b or 1}幢",
            f"{b or 1}幢{h or 101}室"]


@st.composite
def case(draw: st.DrawFn, world: World, scopes: list[str]) -> tuple[str, str, dict[str, Any]]:
    scope = draw(st.sampled_from(scopes))
    name = draw(st.sampled_from(sorted(QUERIES)))
    codes = sorted(world.objects)
    code = draw(st.sampled_from(codes))
    obj = world.objects[code]
    pid = draw(st.sampled_from(sorted(world.id_numbers)))
    region = draw(st.sampled_from(sorted({c[:n] for c in world.communities
                                          for n in (2, 4, 6, 9, 12)})))
    node_id = draw(st.sampled_from([
        global_id(obj.kind.capitalize(), county_key(obj.county, obj.id)),
        global_id("Person", str(pid))]))
    variables = {"c": code if name != "nearest" else obj.estate_code, "r": region,
                 "n": world.id_numbers[pid], "id": node_id,
                 "t": draw(st.sampled_from(typed_address(world, obj))),
                 "d": draw(st.sampled_from(DAYS)).isoformat()}
    used = {k: v for k, v in variables.items() if f"${k}" in QUERIES[name]}
    return scope, name, used


def test_no_object_outside_scope(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    scopes = sorted(k.split(":", 1)[1] for k in aw.tokens if k.startswith("scope:"))
    # person names are 居民<seq>; map them to person ids through the world's order
    ordered = sorted(world.id_numbers)
    names = {f"居民{i + 1}": pid for i, pid in enumerate(ordered)}

    @settings(max_examples=100, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(case(world, scopes))
    def run(drawn: tuple[str, str, dict[str, Any]]) -> None:
        scope, name, variables = drawn
        reply = post(client, aw.tokens[f"scope:{scope}"], QUERIES[name], variables)
        assert "errors" not in reply, reply
        check(reply["data"], scope, world, names, world.persons_in(scope))
        expected_counts(name, scope, world, variables.get("d"),
                        variables.get("r"))(reply["data"])

    run()


def test_statistics_equal_what_the_scope_sees(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    for scope in ("33", world.communities[0][:6], world.communities[0], world.estates[0]):
        reply = post(client, aw.tokens[f"scope:{scope}"], QUERIES["statistics"], {"r": "33"})
        houses = [c for c, o in world.objects.items() if o.kind == "house"
                  and world.visible(c, scope)]
        assert reply["data"]["statistics"]["houses"] == len(houses)


def test_household_statistics_equal_what_the_scope_sees(aw: ApiWorld,
                                                        client: TestClient) -> None:
    world = aw.world
    for scope in ("33", world.communities[0][:6], world.communities[0], world.estates[0],
                  "3305"):
        reply = post(client, aw.tokens[f"scope:{scope}"], QUERIES["household_statistics"],
                     {"r": "33"})
        seen = [n for n, (code, _m) in world.households.items() if world.visible(code, scope)]
        assert reply["data"]["householdStatistics"]["households"] == len(seen), scope


def test_ingest_statistics_equal_what_the_scope_sees(aw: ApiWorld, client: TestClient) -> None:
    """safetyIngestStatistics for every scope of the world and every region level."""
    world = aw.world
    scopes = sorted(k.split(":", 1)[1] for k in aw.tokens if k.startswith("scope:"))
    regions = ["33", world.communities[0][:6], world.communities[-1][:4],
               world.communities[0][:9]]
    for scope in scopes:
        for region in regions:
            reply = post(client, aw.tokens[f"scope:{scope}"], QUERIES["safety_ingest"],
                         {"r": region})
            assert "errors" not in reply, reply
            expected_counts("safety_ingest", scope, world, None, region)(reply["data"])


def test_search_finds_inside_and_nothing_outside(aw: ApiWorld, client: TestClient) -> None:
    """searchAddresses for one house under every scope: top-1 when visible, else none of it."""
    world = aw.world
    house = next(o for o in world.objects.values() if o.kind == "house")
    scopes = sorted(k.split(":", 1)[1] for k in aw.tokens if k.startswith("scope:"))
    for scope in scopes:
        reply = post(client, aw.tokens[f"scope:{scope}"], QUERIES["search"],
                     {"t": typed_address(world, house)[0]})
        assert "errors" not in reply, reply
        found = reply["data"]["searchAddresses"]
        check(found, scope, world, {}, set())
        if world.visible(house.code, scope):
            assert found[0]["code"] == house.code, (scope, found[:2])
        else:
            assert house.code not in {f["code"] for f in found}
