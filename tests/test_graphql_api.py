"""The GraphQL API over HTTP (FastAPI TestClient): auth, scopes, queries, masking, audit,
mutations, errors and limits, against a committed multi-county world."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from cimhouse.api.app import create_app
from cimhouse.schema import AuditLog, ChangeLog
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, post


def data(reply: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in reply, reply
    return reply["data"]  # type: ignore[no-any-return]


def test_no_token_is_401_without_internal_text(client: TestClient) -> None:
    reply = client.post("/graphql", json={"query": "{ regions { totalCount } }"})
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad = client.post("/graphql", json={"query": "{ regions { totalCount } }"},
                      headers={"Authorization": "Bearer cimh_nope"})
    assert bad.status_code == 401


def test_missing_variable_is_a_client_error(client: TestClient, aw: ApiWorld) -> None:
    query = "query($c: String!) { validateCode(code: $c) { valid } }"
    for variables in ({}, {"c": 5}):
        reply = post(client, aw.tokens["county"], query, variables)
        error = reply["errors"][0]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", reply
        assert "$c" in error["message"]


def test_estates_limited_to_scope(client: TestClient, aw: ApiWorld) -> None:
    community = aw.world.communities[0]
    reply = data(post(client, aw.tokens["county"],
                      "{ estates(first: 100) { totalCount edges { node { code regionCode } } } }"))
    codes = [e["node"]["code"] for e in reply["estates"]["edges"]]
    assert codes
    assert all(c.startswith(community[:6]) for c in codes)
    expected = [c for c in aw.world.estates if aw.world.visible(c, community[:6])]
    assert sorted(codes) == sorted(expected)
    assert reply["estates"]["totalCount"] == len(expected)


def test_paging_with_opaque_cursor(client: TestClient, aw: ApiWorld) -> None:
    query = """query($after: String) { houses(first: 5, after: $after) {
        edges { cursor node { code } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = data(post(client, aw.tokens["province"], query, {"after": after}))["houses"]
        seen += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    houses = [c for c, o in aw.world.objects.items() if o.kind == "house"]
    assert sorted(seen) == sorted(houses)
    assert len(set(seen)) == len(seen)


def test_page_size_capped(aw: ApiWorld, test_settings: Settings) -> None:
    small = TestClient(create_app(test_settings.with_changes(max_page_size=4),
                                  engine=aw.engine))
    page = data(post(small, aw.tokens["province"], "{ houses(first: 1000) { edges { cursor } "
                     "pageInfo { hasNextPage } } }"))["houses"]
    assert len(page["edges"]) == 4
    assert page["pageInfo"]["hasNextPage"]


def test_lookup_any_form_with_decoding_and_scope(client: TestClient, aw: ApiWorld) -> None:
    code = next(c for c, o in aw.world.objects.items() if o.kind == "house")
    typed = f"{code[:12]}-{code[12:15]} {code[15:19]}-{code[19:24]}-{code[24]}"
    typed = typed.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    query = """query($c: String!) { lookup(code: $c) { code status decoding { objectKind
        community county estateNumber buildingNumber houseNumber display }
        house { code building { code estate { code } } } } }"""
    found = data(post(client, aw.tokens["county"], query, {"c": typed}))["lookup"]
    assert found["code"] == code
    assert found["house"]["code"] == code
    assert found["decoding"]["objectKind"] == "house"
    assert found["decoding"]["county"] == code[:6]
    outside = data(post(client, aw.tokens["other_county"], query, {"c": code}))["lookup"]
    assert outside is None


def test_validate_code(client: TestClient, aw: ApiWorld) -> None:
    code = aw.world.estates[0]
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    query = "query($c: String!) { validateCode(code: $c) { valid code problem } }"
    assert data(post(client, aw.tokens["town"], query, {"c": code}))["validateCode"]["valid"]
    result = data(post(client, aw.tokens["town"], query, {"c": bad}))["validateCode"]
    assert not result["valid"]
    assert "position 25" in result["problem"]


def test_nested_estate_buildings_houses_residents(client: TestClient, aw: ApiWorld) -> None:
    estate = aw.world.estates[0]
    query = """query($e: String!) { estates(filter: {estateCode: $e}) { edges { node { name
        buildings { code houses { code residents { relation person { name idNumber } } } } } } } }"""
    node = data(post(client, aw.tokens["estate"], query, {"e": estate}))["estates"]["edges"][0]
    houses = [h for b in node["node"]["buildings"] for h in b["houses"]]
    assert houses
    assert all(h["residents"] for h in houses)
    ids = [r["person"]["idNumber"] for h in houses for r in h["residents"]]
    assert all("********" in i for i in ids)


def test_full_id_numbers_only_for_pii_reader_and_audited(client: TestClient,
                                                         aw: ApiWorld) -> None:
    pid, number = next(iter(aw.world.id_numbers.items()))
    query = "query($n: String!) { person(idNumber: $n) { name idNumber phone } }"
    masked = data(post(client, aw.tokens["county"], query, {"n": number}))["person"]
    assert masked["idNumber"] == number[:6] + "********" + number[-4:]
    with aw.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "pii.read")).scalar_one()
    full = data(post(client, aw.tokens["community"], query, {"n": number}))["person"]
    assert full["idNumber"] == number
    assert "****" not in full["phone"]
    with aw.engine.connect() as conn:
        rows = conn.execute(select(AuditLog).where(AuditLog.action == "pii.read")
                            .order_by(AuditLog.id)).all()
        assert len(rows) == before + 2
        assert all(number not in str(r.detail) and number not in (r.object_ref or "")
                   for r in rows)
    assert rows[-1].object_ref == str(pid)


def test_person_outside_scope_is_missing(client: TestClient, aw: ApiWorld) -> None:
    inside = aw.world.persons_in(aw.world.communities[0][:6])
    other_county = aw.world.communities[-1][:6]
    pid = next(p for p in aw.world.id_numbers if p not in aw.world.persons_in(other_county))
    assert pid in inside
    query = "query($n: String!) { person(idNumber: $n) { name } }"
    reply = post(client, aw.tokens["other_county"], query, {"n": aw.world.id_numbers[pid]})
    assert reply["data"]["person"] is None
    assert "errors" not in reply


def test_reader_cannot_see_persons(client: TestClient, aw: ApiWorld) -> None:
    reply = post(client, aw.tokens["town"], "{ persons { totalCount } }")
    assert reply["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_person_houses_only_in_scope(client: TestClient, aw: ApiWorld) -> None:
    mover = next(p for p, rels in aw.world.person_houses.items()
                 if len({c[:6] for c, _, _ in rels}) > 1)
    query = """query($n: String!) { person(idNumber: $n) { houses(allDates: true) {
        relation house { code } } coResidents { name } } }"""
    reply = data(post(client, aw.tokens["county"], query, {"n": aw.world.id_numbers[mover]}))
    codes = {r["house"]["code"] for r in reply["person"]["houses"]}
    county = aw.world.communities[0][:6]
    assert codes
    assert all(c.startswith(county) for c in codes)


def test_lineage_hides_codes_outside_scope(client: TestClient, aw: ApiWorld) -> None:
    edge_parent = next(c for c, o in aw.world.objects.items()
                       if o.kind == "house" and o.county == aw.world.communities[0][:6])
    query = """query($c: String!) { lineage(code: $c) { code descendants { event parentCode
        childCode depth } } }"""
    full = data(post(client, aw.tokens["province"], query, {"c": edge_parent}))["lineage"]
    assert {d["event"] for d in full["descendants"]} == {"split", "merge"}
    scoped = data(post(client, aw.tokens["county"], query, {"c": edge_parent}))["lineage"]
    assert [d["event"] for d in scoped["descendants"]] == ["split"]


def test_statistics_respect_scope(client: TestClient, aw: ApiWorld) -> None:
    query = """query($r: String!) { statistics(regionCode: $r, asOf: "2026-06-30") {
        houses housesByStatus { key count } persons personsByAgeBand { key count }
        occupiedHouses elderly60Plus elderly80Plus children0To3 } }"""
    county = aw.world.communities[0][:6]
    mine = data(post(client, aw.tokens["county"], query, {"r": county}))["statistics"]
    houses = [o for o in aw.world.objects.values() if o.kind == "house"
              and o.county == county]
    assert mine["houses"] == len(houses) == mine["occupiedHouses"]
    assert sum(b["count"] for b in mine["personsByAgeBand"]) == mine["persons"] > 0
    province = data(post(client, aw.tokens["county"], query, {"r": "33"}))["statistics"]
    assert province["houses"] == mine["houses"]  # the rest of the province is invisible
    other = data(post(client, aw.tokens["other_county"], query, {"r": county}))["statistics"]
    assert other["houses"] == 0
    assert other["persons"] == 0


def test_spatial_filters_and_crs(client: TestClient, aw: ApiWorld) -> None:
    query = """query($f: BuiltFilter) { estates(filter: $f) { totalCount edges { node {
        code geometry(crs: GCJ02) } } } }"""
    near = {"near": {"lon": 120.005, "lat": 30.5, "metres": 300}}
    found = data(post(client, aw.tokens["province"], query, {"f": near}))["estates"]
    assert found["totalCount"] >= 1
    lon = found["edges"][0]["node"]["geometry"]["coordinates"][0][0][0][0]
    assert 120.0 < lon < 120.02  # GCJ-02 shifts by a few hundred metres, not more
    bbox = {"bbox": {"west": 119.99, "south": 30.49, "east": 120.02, "north": 30.51}}
    assert data(post(client, aw.tokens["province"], query, {"f": bbox}))["estates"][
        "totalCount"] >= 1
    polygon = {"polygon": {"type": "Polygon", "coordinates": [[[119, 30], [119.001, 30],
                                                                [119.001, 30.001], [119, 30]]]}}
    assert data(post(client, aw.tokens["province"], query, {"f": polygon}))["estates"][
        "totalCount"] == 0


def test_facilities_nearest_and_within(client: TestClient, aw: ApiWorld) -> None:
    estate = aw.world.estates[0]
    query = """query($e: String!) { nearestFacilities(estateCode: $e, first: 3) { distanceM
        facility { name category regionCode } } }"""
    rows = data(post(client, aw.tokens["province"], query, {"e": estate}))["nearestFacilities"]
    assert rows
    assert rows == sorted(rows, key=lambda r: r["distanceM"])
    assert rows[0]["distanceM"] < 150
    scoped = data(post(client, aw.tokens["estate"], query, {"e": estate}))["nearestFacilities"]
    assert len(scoped) == 1  # an estate scope sees only its own facilities


def test_node_roundtrip_and_scope(client: TestClient, aw: ApiWorld) -> None:
    query = "{ houses(first: 1) { edges { node { id code } } } }"
    node = data(post(client, aw.tokens["county"], query))["houses"]["edges"][0]["node"]
    again = "query($id: ID!) { node(id: $id) { id ... on House { code } } }"
    assert data(post(client, aw.tokens["county"], again, {"id": node["id"]}))["node"][
        "code"] == node["code"]
    assert data(post(client, aw.tokens["other_county"], again, {"id": node["id"]}))[
        "node"] is None


def test_total_count_covers_all_pages(client: TestClient, aw: ApiWorld) -> None:
    for query in ("{ persons(first: 1) { totalCount edges { cursor } } }",
                  "{ jobs(first: 1) { totalCount edges { cursor } } }"):
        field = query.split("(")[0].strip("{ ")
        page = data(post(client, aw.tokens["province"], query))[field]
        assert len(page["edges"]) == 1
        assert page["totalCount"] > 1


def test_jobs_in_scope(client: TestClient, aw: ApiWorld) -> None:
    jobs = data(post(client, aw.tokens["town"], "{ jobs { edges { node { scopeCode } } } }"))
    scopes = [e["node"]["scopeCode"] for e in jobs["jobs"]["edges"]]
    assert set(scopes) == {aw.world.communities[0]}


def test_relation_mutations_write_history(client: TestClient, aw: ApiWorld) -> None:
    house = next(c for c, o in aw.world.objects.items()
                 if o.kind == "house" and o.estate_code == aw.world.estates[0])
    number = next(iter(aw.world.id_numbers.values()))
    upsert = """mutation($i: RelationInput!) { upsertPersonHouseRelation(input: $i) {
        __typename ... on RelationPayload { created relation { id relation validFrom } }
        ... on UserError { message code } } }"""
    variables = {"i": {"houseCode": house, "relation": "TENANT", "idNumber": number,
                       "validFrom": "2026-01-01"}}
    made = data(post(client, aw.tokens["estate"], upsert, variables))[
        "upsertPersonHouseRelation"]
    assert made["__typename"] == "RelationPayload"
    assert made["created"]
    rel_id = made["relation"]["id"]
    end = """mutation($id: ID!, $d: Date!) { endPersonHouseRelation(id: $id, endDate: $d) {
        __typename ... on UserError { message code } } }"""
    assert data(post(client, aw.tokens["estate"], end, {"id": rel_id, "d": "2025-01-01"}))[
        "endPersonHouseRelation"]["__typename"] == "InvalidInputError"
    assert data(post(client, aw.tokens["estate"], end, {"id": rel_id, "d": "2026-03-01"}))[
        "endPersonHouseRelation"]["__typename"] == "RelationPayload"
    again = data(post(client, aw.tokens["estate"], end, {"id": rel_id, "d": "2026-04-01"}))
    assert again["endPersonHouseRelation"]["__typename"] == "ConflictError"
    with aw.engine.connect() as conn:
        log = conn.execute(select(ChangeLog).where(ChangeLog.object_kind == "person_house")
                           .order_by(ChangeLog.id)).all()
    assert [r.operation for r in log[-2:]] == ["insert", "update"]
    assert log[-1].previous["valid_to"] is None
    assert log[-1].current["valid_to"] == "2026-03-01"
    assert number not in str([r.previous for r in log] + [r.current for r in log])
    outside = data(post(client, aw.tokens["county"], upsert, variables))
    assert outside["upsertPersonHouseRelation"]["__typename"] == "ForbiddenError"
    foreign = dict(variables["i"], houseCode=next(
        c for c, o in aw.world.objects.items() if o.kind == "house"
        and o.estate_code != aw.world.estates[0]))
    missing = data(post(client, aw.tokens["estate"], upsert, {"i": foreign}))
    assert missing["upsertPersonHouseRelation"]["__typename"] == "NotFoundError"


def test_errors_carry_no_internal_text(client: TestClient, aw: ApiWorld) -> None:
    for query in ['{ node(id: "!!!") { id } }', '{ houses(after: "eA") { totalCount } }',
                  '{ estates(filter: {regionCode: "33x"}) { totalCount } }',
                  '{ houses(filter: {polygon: "not json"}) { totalCount } }']:
        reply = post(client, aw.tokens["province"], query)
        text = str(reply).lower()
        assert "errors" in reply
        assert not any(w in text for w in ("select", "sqlalchemy", "psycopg", "traceback"))


def test_depth_and_alias_limits(client: TestClient, aw: ApiWorld) -> None:
    inner = "code"
    for _ in range(6):
        inner = f"building {{ estate {{ buildings {{ houses {{ {inner} }} }} }} }}"
    deep = f"{{ houses {{ edges {{ node {{ {inner} }} }} }} }}"
    assert "depth" in str(post(client, aw.tokens["province"], deep)["errors"]).lower()
    aliases = "{ " + " ".join(f"a{i}: validateCode(code: \"1\") {{ valid }}"
                              for i in range(40)) + " }"
    assert "errors" in post(client, aw.tokens["province"], aliases)


def test_nested_query_statement_count_is_bounded(client: TestClient, aw: ApiWorld) -> None:
    from sqlalchemy import event

    # houses(first: 20): without it the cost estimate (12 x 500 x 500 x relations) is over
    # the budget and the query is refused before any SQL.
    query = """query($n: Int!) { estates(first: $n) { edges { node { code buildings {
        code estate { name } houses(first: 20) { code building { code } owners { person { name } }
        residents { relation person { name idNumber } } } } } } } }"""
    counts: dict[int, int] = {}
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    post(client, aw.tokens["province"], "{ jobs { totalCount } }")  # sets last_used_at
    # once before counting: the first request of an app also looks up, once, whether the
    # database runs Citus (which refuses the nested plan at province scope)
    post(client, aw.tokens["province"], query, {"n": 1})
    event.listen(aw.engine, "before_cursor_execute", count)
    try:
        for n in (1, 3, 12):
            statements.clear()
            reply = data(post(client, aw.tokens["province"], query, {"n": n}))
            assert len(reply["estates"]["edges"]) == n
            counts[n] = len(statements)
    finally:
        event.remove(aw.engine, "before_cursor_execute", count)
    # one statement per level (plus auth and commit), whatever the number of rows
    assert counts[1] == counts[3] == counts[12] <= 12, counts


def test_code_assignment_jobs(client: TestClient, aw: ApiWorld) -> None:
    start = """mutation($s: String!) { startCodeAssignment(scope: $s) { __typename
        ... on JobPayload { job { jobId status scopeCode } } ... on UserError { code } } }"""
    community = aw.world.communities[0]
    made = data(post(client, aw.tokens["city"], start, {"s": community}))["startCodeAssignment"]
    assert made["__typename"] == "JobPayload"
    assert made["job"]["status"] == "queued"
    outside = data(post(client, aw.tokens["city"], start, {"s": aw.world.communities[-1]}))
    unknown = data(post(client, aw.tokens["city"], start, {"s": community[:9] + "999"}))
    assert outside["startCodeAssignment"] == unknown["startCodeAssignment"] == {
        "__typename": "NotFoundError", "code": "NOT_FOUND"}
    denied = data(post(client, aw.tokens["town"], start, {"s": community}))
    assert denied["startCodeAssignment"]["__typename"] == "ForbiddenError"
    cancel = """mutation($j: Int!) { cancelJob(jobId: $j) { __typename
        ... on JobPayload { job { status } } ... on UserError { message } } }"""
    job_id = made["job"]["jobId"]
    assert data(post(client, aw.tokens["other_county"], cancel, {"j": job_id}))["cancelJob"][
        "__typename"] == "NotFoundError"
    done = data(post(client, aw.tokens["city"], cancel, {"j": job_id}))["cancelJob"]
    assert done == {"__typename": "JobPayload", "job": {"status": "cancelled"}}
    assert data(post(client, aw.tokens["city"], cancel, {"j": job_id}))["cancelJob"][
        "__typename"] == "ConflictError"


def test_house_lifecycle_mutations(client: TestClient, aw: ApiWorld) -> None:
    from cimhouse.coding.house_code import encode

    community = aw.world.communities[0]
    houses = [c for c, o in aw.world.objects.items() if o.kind == "house"
              and o.community == community and o.estate_code == aw.world.estates[1]]
    retire = """mutation($c: String!) { retireHouse(code: $c, status: DEMOLISHED,
        reason: "survey 2026") { __typename ... on HousePayload { house { code status } }
        ... on UserError { message } } }"""
    done = data(post(client, aw.tokens["city"], retire, {"c": houses[0]}))["retireHouse"]
    assert done == {"__typename": "HousePayload",
                    "house": {"code": houses[0], "status": "demolished"}}
    again = data(post(client, aw.tokens["city"], retire, {"c": houses[0]}))["retireHouse"]
    assert again["__typename"] == "ConflictError"
    history = """query($c: String!) { lookup(code: $c) { status house { history { operation
        previous current } } } history(code: $c) { operation } }"""
    seen = data(post(client, aw.tokens["county"], history, {"c": houses[0]}))
    assert seen["lookup"]["status"] == "retired"
    assert seen["lookup"]["house"]["history"]
    assert seen["history"]
    assert seen["lookup"]["house"]["history"][-1]["current"]["status"] == "demolished"
    outside = data(post(client, aw.tokens["other_county"], retire, {"c": houses[1]}))
    unknown_code = encode(community, 998, 9, 999)
    unknown = data(post(client, aw.tokens["city"], retire, {"c": unknown_code}))
    assert outside["retireHouse"]["__typename"] == unknown["retireHouse"]["__typename"] \
        == "NotFoundError"
    assert outside["retireHouse"]["message"].replace(houses[1], "C") == \
        unknown["retireHouse"]["message"].replace(unknown_code, "C")
    split = """mutation($c: String!) { splitHouse(code: $c, parts: 2) { __typename
        ... on CodesPayload { codes houses { code status } } ... on UserError { message } } }"""
    parts = data(post(client, aw.tokens["city"], split, {"c": houses[1]}))["splitHouse"]
    assert parts["__typename"] == "CodesPayload"
    assert len(parts["codes"]) == 2
    lineage = data(post(client, aw.tokens["county"], """query($c: String!) { lineage(code: $c)
        { descendants { event childCode } } }""", {"c": houses[1]}))["lineage"]
    assert {d["childCode"] for d in lineage["descendants"] if d["event"] == "split"} >= set(
        parts["codes"])
    merge = """mutation($c: [String!]!) { mergeHouses(codes: $c) { __typename
        ... on CodesPayload { codes } ... on UserError { message } } }"""
    merged = data(post(client, aw.tokens["city"], merge, {"c": parts["codes"]}))["mergeHouses"]
    assert merged["__typename"] == "CodesPayload"
    assert len(merged["codes"]) == 1
    reader = data(post(client, aw.tokens["town"], split, {"c": houses[2]}))["splitHouse"]
    assert reader["__typename"] == "ForbiddenError"


def test_graphiql_page_in_dev_mode_only(aw: ApiWorld, test_settings: Settings) -> None:
    dev = TestClient(create_app(test_settings.with_changes(dev=True), engine=aw.engine))
    page = dev.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert dev.post("/graphql", json={"query": "{ jobs { totalCount } }"}).status_code == 401
    prod = TestClient(create_app(test_settings, engine=aw.engine))
    assert prod.get("/graphql", headers={"Accept": "text/html"}).status_code in (401, 404, 405)


def test_nested_first_limits_each_parent(client: TestClient, aw: ApiWorld) -> None:
    query = """{ estates(first: 3) { edges { node { buildings(first: 1) { code
        houses(first: 2) { code } } } } } }"""
    edges = data(post(client, aw.tokens["province"], query))["estates"]["edges"]
    assert len(edges) == 3
    for edge in edges:
        buildings = edge["node"]["buildings"]
        assert len(buildings) == 1
        assert len(buildings[0]["houses"]) == 2
        assert all(h["code"].startswith(buildings[0]["code"][:19])
                   for h in buildings[0]["houses"])


def test_import_runs_and_facilities_within(client: TestClient, aw: ApiWorld) -> None:
    runs = "{ importRuns { edges { node { kind rowsRead rowsAccepted } } } }"
    seen = data(post(client, aw.tokens["province"], runs))["importRuns"]["edges"]
    assert any(e["node"]["kind"] == "regions" and e["node"]["rowsRead"] > 27000 for e in seen)
    assert data(post(client, aw.tokens["city"], runs))["importRuns"]["edges"] == []
    assert post(client, aw.tokens["town"], runs)["errors"][0]["extensions"]["code"] == \
        "FORBIDDEN"
    near = """query($c: [String!]) { facilities(category: $c, near: {lon: 120.006, lat: 30.5,
        metres: 200}) { totalCount edges { node { name category geometry(crs: WGS84) } } } }"""
    found = data(post(client, aw.tokens["province"], near, {"c": None}))["facilities"]
    assert found["totalCount"] == 1
    category = found["edges"][0]["node"]["category"]
    other = [c for c in ("elderly_care", "childcare", "medical", "education") if c != category]
    assert data(post(client, aw.tokens["province"], near, {"c": other}))["facilities"][
        "totalCount"] == 0


def test_house_location_in_the_requested_crs(client: TestClient, aw: ApiWorld) -> None:
    with aw.engine.begin() as conn:
        house_id = conn.scalar(text("SELECT min(id) FROM house"))
        conn.execute(text("UPDATE house SET location = ST_SetSRID(ST_MakePoint(120.7, 30.7), "
                          "4490) WHERE id = :id"), {"id": house_id})
    query = """{ houses(first: 200) { edges { node { code
        location gcj: location(crs: GCJ02) } } } }"""
    nodes = [e["node"] for e in data(post(client, aw.tokens["province"], query))["houses"][
        "edges"]]
    located = [n for n in nodes if n["location"]]
    assert len(located) == 1
    assert all(n["gcj"] is None for n in nodes if not n["location"])
    assert located[0]["location"] == {"type": "Point", "coordinates": [120.7, 30.7]}
    lon, lat = located[0]["gcj"]["coordinates"]
    assert 120.7 < lon < 120.71
    assert 30.69 < lat < 30.71
