"""Issue 11, items 1, 2 and 17: nothing of another scope leaks through coverage, gaps or
upsertPersonHouseRelation, and "0-3" means the same in the services report and GraphQL.

The world (tests/helpers/graphql_world.py) spans 330402, 330411 and 330106; this module adds a
community of 330421 (海盐县) with facilities next to the first estate of 330402, and small
children aged exactly 2 and 3.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select

from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.idnumber import make_id_number, mask_id_number
from cimhouse.pii import PiiVault
from cimhouse.schema import Facility, House, Person, PersonHouse, Region
from cimhouse.scope import parse_scope
from cimhouse.services.report import build_services_report
from cimhouse.settings import Settings
from tests.helpers.graphql_world import AS_OF, ApiWorld, api_world, issue_token, post

OUTSIDE_NAMES = ("海盐跨界体育馆", "海盐跨界医院")
LEVELS = ("province", "city", "county", "town", "community", "estate")


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        world = built.world
        first_estate = world.objects[world.estates[0]]
        vault = PiiVault.from_settings(test_settings)
        with session_scope(built.engine) as session:
            haiyan = session.scalar(select(Region.code).where(
                Region.level == 5, Region.code.startswith("330421"),
                Region.valid_to.is_(None)).order_by(Region.code).limit(1))
            # 50 m east of the first estate's centre (120.005, 30.5): the nearest sports and
            # medical facility of that estate, but in another county.
            for name, category in zip(OUTSIDE_NAMES, ("sports", "medical"), strict=True):
                session.add(Facility(county="330421", category=category, name=name,
                                     region_code=haiyan,
                                     geom=from_shape(Point(120.0055, 30.5), 4490)))
            # A person known only in 330421's register: no relation to any house of the world.
            number = make_id_number("330421", dt.date(1970, 5, 5), 7, "F")
            session.add(Person(name="海盐独有人", id_hash=vault.lookup_hash(number),
                               id_cipher=vault.encrypt(number), id_masked=mask_id_number(number),
                               gender="F", birth_date=dt.date(1970, 5, 5),
                               phone_cipher=vault.encrypt("13912345678"),
                               phone_masked="139****5678"))
            # Children aged exactly 3 and 2 on AS_OF, living in the first estate.
            house = session.scalar(select(House).where(
                House.county == first_estate.county,
                House.code == next(c for c, o in world.objects.items()
                                   if o.kind == "house" and o.estate_code == first_estate.code)))
            assert house is not None
            for seq, birth in ((90, dt.date(2023, 6, 30)), (91, dt.date(2023, 7, 1))):
                child_no = make_id_number("330402", birth, seq, "M")
                child = Person(name=f"幼儿{seq}", id_hash=vault.lookup_hash(child_no),
                               id_cipher=vault.encrypt(child_no),
                               id_masked=mask_id_number(child_no), gender="M", birth_date=birth)
                session.add(child)
                session.flush()
                session.add(PersonHouse(county=house.county, person_id=child.id,
                                        house_id=house.id, relation="resident",
                                        valid_from=dt.date(2024, 1, 1)))
            built.tokens["haiyan_person"] = number
            a = world.communities[0]
            scopes = {"province": "33", "city": a[:4], "county": a[:6], "town": a[:9],
                      "community": a, "estate": world.estates[0]}
            for level, code in scopes.items():
                built.tokens[f"reader:{level}"] = issue_token(session, code, "reader",
                                                              name=f"r-{level}")
                built.tokens[f"importer:{level}"] = issue_token(
                    session, code, "importer", "pii_reader", name=f"i-{level}")
                built.tokens[f"scope:{level}"] = code
        yield built


def facility_regions(aw: ApiWorld) -> dict[str, tuple[str, str | None, str]]:
    """Facility name -> (region code, estate code or None, category)."""
    with session_scope(aw.engine) as session:
        rows = session.execute(select(Facility.name, Facility.region_code, Facility.county,
                                      Facility.estate_id, Facility.category)).all()
    estates = {(o.county, o.id): o.code for o in aw.world.objects.values() if o.kind == "estate"}
    found: dict[str, tuple[str, str | None, str]] = {}
    for name, region, county, estate_id, category in rows:
        assert region is not None  # every facility of this world lies in a community
        found[name] = (region, None if estate_id is None else estates.get((county, estate_id)),
                       category)
    return found


def visible_facility(scope: str, region: str, estate: str | None) -> bool:
    return estate == scope if len(scope) == 25 else region.startswith(scope)


COVERAGE = """{ coverage(categories: ["elderly_care", "medical", "sports"],
                         radii: [{category: "medical", metres: 20000}]) {
                estateCode category nearestFacility distanceM covered withinRadius } }"""
GAPS = """{ gaps(categories: ["sports", "medical"], radii: [{category: "sports", metres: 10},
                 {category: "medical", metres: 10}], first: 200) {
              estates { estateCode category nearestFacility distanceM } } }"""


@pytest.mark.parametrize("level", ["county", "community", "estate"])
def test_coverage_and_gaps_never_name_facilities_outside_the_scope(
        client: TestClient, aw: ApiWorld, level: str) -> None:
    scope = aw.tokens[f"scope:{level}"]
    token = aw.tokens[f"reader:{level}"]
    where = facility_regions(aw)
    in_scope = {name for name, (region, estate, _) in where.items()
                if visible_facility(scope, region, estate)}
    reply = post(client, token, COVERAGE)
    assert "errors" not in reply, reply
    rows = reply["data"]["coverage"]
    text = json.dumps(reply, ensure_ascii=False)
    for name in set(where) - in_scope:
        assert name not in text, (level, name)
    assert {r["nearestFacility"] for r in rows} - {None} <= in_scope
    first = [r for r in rows if r["estateCode"] == aw.world.estates[0]]
    sports = next(r for r in first if r["category"] == "sports")
    # The 330421 sports hall still serves the estate: counted, distance given, not named.
    assert sports["nearestFacility"] is None
    assert sports["covered"]
    assert sports["distanceM"] is not None
    assert sports["distanceM"] < 100
    assert sports["withinRadius"] == 0
    # withinRadius counts facilities of the scope only.
    medical_in_scope = sum(1 for name in in_scope if where[name][2] == "medical")
    for row in rows:
        if row["category"] == "medical":
            assert row["withinRadius"] <= medical_in_scope, (level, row)

    gaps = post(client, token, GAPS)
    assert "errors" not in gaps, gaps
    text = json.dumps(gaps, ensure_ascii=False)
    for name in set(where) - in_scope:
        assert name not in text, (level, name)
    mine = [g for g in gaps["data"]["gaps"]["estates"] if g["estateCode"] == aw.world.estates[0]]
    assert {g["category"] for g in mine} == {"sports", "medical"}
    for gap in mine:  # nearest of both lies in 330421, 50 m away: distance only
        assert gap["nearestFacility"] is None
        assert 0 < gap["distanceM"] < 100


MOVE_IN = """mutation($house: String!, $id: String!) {
  upsertPersonHouseRelation(input: {houseCode: $house, idNumber: $id, relation: TENANT,
                                    validFrom: "2026-07-01"}) {
    __typename
    ... on RelationPayload { created relation { person { name idNumber phone birthDate } } }
    ... on UserError { code message } } }"""


def _relations(aw: ApiWorld, person_id: int) -> int:
    with session_scope(aw.engine) as session:
        return int(session.scalar(select(func.count()).select_from(PersonHouse).where(
            PersonHouse.person_id == person_id)) or 0)


@pytest.mark.parametrize("level", LEVELS)
def test_upsert_relation_does_not_reveal_persons_outside_the_scope(
        client: TestClient, aw: ApiWorld, level: str) -> None:
    world = aw.world
    scope = aw.tokens[f"scope:{level}"]
    token = aw.tokens[f"importer:{level}"]
    inside = world.persons_in(scope)
    house, insider = next((code, pid) for pid, rels in sorted(world.person_houses.items())
                          for code, _, valid_to in rels
                          if valid_to is None and world.visible(code, scope))
    assert insider in inside
    with session_scope(aw.engine) as session:
        haiyan = session.scalar(select(Person).where(Person.name == "海盐独有人"))
        assert haiyan is not None
        outsiders: dict[int, Person] = {haiyan.id: haiyan}
        for pid in sorted(set(world.person_houses) - inside)[:2]:
            person = session.get(Person, pid)
            assert person is not None
            outsiders[pid] = person
    unknown = make_id_number("330402", dt.date(1981, 3, 3), 55, "M")
    refused = post(client, token, MOVE_IN, {"house": house, "id": unknown})
    payload = refused["data"]["upsertPersonHouseRelation"]
    assert payload["__typename"] == "NotFoundError", refused
    for pid, person in outsiders.items():
        number = aw.tokens["haiyan_person"] if person.name == "海盐独有人" \
            else world.id_numbers[pid]
        before = _relations(aw, pid)
        reply = post(client, token, MOVE_IN, {"house": house, "id": number})
        # Same shape and words as for an ID number nobody knows; nothing recorded.
        assert reply == refused, (level, person.name, reply)
        assert _relations(aw, pid) == before
        text = json.dumps(reply, ensure_ascii=False)
        for secret in (person.name, number, str(person.birth_date), "13912345678"):
            assert secret not in text
    accepted = post(client, token, MOVE_IN, {"house": house, "id": world.id_numbers[insider]})
    result = accepted["data"]["upsertPersonHouseRelation"]
    assert result["__typename"] == "RelationPayload", accepted
    assert result["relation"]["person"]["idNumber"] == world.id_numbers[insider]


def test_children_0_to_3_agree_between_report_and_graphql(
        client: TestClient, aw: ApiWorld) -> None:
    """'0-3' is under 3 everywhere: the child aged exactly 3 counts in neither."""
    community = aw.world.communities[0]
    stats = post(client, aw.tokens["province"], """query($r: String!) {
        statistics(regionCode: $r, asOf: "2026-06-30") { children0To3 }
        serviceIndex(scope: $r, categories: ["childcare"], asOf: "2026-06-30") {
            components { category affected } } }""", {"r": community})
    assert "errors" not in stats, stats
    graphql_count = stats["data"]["statistics"]["children0To3"]
    index_count = sum(c["affected"] for s in stats["data"]["serviceIndex"]
                      for c in s["components"])
    with session_scope(aw.engine) as session:
        report = build_services_report(session, parse_scope(community), as_of=AS_OF)
        births = session.scalars(select(Person.birth_date).join(
            PersonHouse, PersonHouse.person_id == Person.id).join(
            House, (House.county == PersonHouse.county) & (House.id == PersonHouse.house_id))
            .where(House.region_code == community, PersonHouse.relation == "resident")
            .distinct()).all()
    report_count = sum(r["affected"] for r in report.tables["coverage"]
                       if r["category"] == "childcare")
    under_3 = sum(1 for b in births if b is not None and b > dt.date(2023, 6, 30))
    assert dt.date(2023, 6, 30) in births
    assert dt.date(2023, 7, 1) in births
    assert graphql_count == report_count == index_count == under_3

