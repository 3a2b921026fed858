"""A generated world spanning several counties for the GraphQL tests (shared by the GraphQL test modules).

Three counties in two cities (330402 南湖区, 330411 秀洲区 of Jiaxing; 330106 西湖区 of
Hangzhou), two real communities in each. Every community gets ``estates`` estates of
``buildings`` buildings of ``houses`` houses, all coded and registered, each house with an
owner and one or two residents (one household, 户, registered there: the first resident
its head), one facility and one job per community. Lineage edges join
houses inside a building and, deliberately, across counties; one person lives in two counties.
The :class:`World` records where everything lies, so tests can compute what a scope may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cimhouse.auth.tokens import create_token
from cimhouse.coding.house_code import encode
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.idnumber import make_id_number, mask_id_number
from cimhouse.pii import PiiVault
from cimhouse.schema import (
    Building,
    CodeLineage,
    CodeRegistry,
    Estate,
    Facility,
    House,
    Household,
    HouseholdMember,
    Job,
    Person,
    PersonHouse,
    Region,
)
from cimhouse.settings import Settings
from tests.helpers.database import clone_database

COUNTIES = ("330402", "330411", "330106")
AS_OF = dt.date(2026, 6, 30)
#: when the world's objects were created and coded: before every relation date, so that
#: asOf days in the past (time travel) find them
BUILT = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
CATEGORIES = ("elderly_care", "childcare", "medical", "education")


@dataclass
class Obj:
    kind: str
    code: str
    county: str
    id: int
    community: str
    estate_code: str


@dataclass
class World:
    communities: list[str] = field(default_factory=list)
    objects: dict[str, Obj] = field(default_factory=dict)  # by code
    house_keys: dict[tuple[str, int], Obj] = field(default_factory=dict)
    # person id -> list of (house code, relation, valid_to)
    person_houses: dict[int, list[tuple[str, str, dt.date | None]]] = field(
        default_factory=dict)
    id_numbers: dict[int, str] = field(default_factory=dict)
    estates: list[str] = field(default_factory=list)
    # household number -> (house code, member person ids, the head first)
    households: dict[str, tuple[str, list[int]]] = field(default_factory=dict)

    def visible(self, code: str, scope: str) -> bool:
        obj = self.objects[code]
        if len(scope) == 25:
            return obj.estate_code == scope
        return obj.community.startswith(scope)

    def persons_in(self, scope: str) -> set[int]:
        return {pid for pid, rels in self.person_houses.items()
                if any(self.visible(code, scope) for code, _, _ in rels)}


def pick_communities(session: Session, per_county: int = 2) -> list[str]:
    out: list[str] = []
    for county in COUNTIES:
        rows = session.scalars(select(Region.code).where(
            Region.level == 5, Region.code.startswith(county), Region.valid_to.is_(None))
            .order_by(Region.code)).all()
        # communities of different towns where the county has several
        chosen: list[str] = []
        for code in rows:
            if all(code[:9] != c[:9] for c in chosen):
                chosen.append(code)
            if len(chosen) == per_county:
                break
        out.extend(chosen)
    return out


def _square(lon: float, lat: float, half: float) -> MultiPolygon:
    return MultiPolygon([box(lon - half, lat - half, lon + half, lat + half)])


def build_world(session: Session, settings: Settings, *, estates: int = 2, buildings: int = 2,
                houses: int = 3) -> World:
    vault = PiiVault.from_settings(settings)
    world = World(communities=pick_communities(session))
    person_seq = 0
    for ci, community in enumerate(world.communities):
        county = community[:6]
        base_lon, base_lat = 120.0 + ci * 0.05, 30.5 + (ci % 3) * 0.05
        for e in range(1, estates + 1):
            e_code = encode(community, e, 0, 0)
            e_lon = base_lon + e * 0.005
            estate = Estate(county=county, code=e_code, created_at=BUILT,
                            name=f"测试小区{ci}-{e}",
                            region_code=community, address=f"测试路{ci}号",
                            boundary=from_shape(_square(e_lon, base_lat, 0.002), 4490))
            session.add(estate)
            session.flush()
            world.estates.append(e_code)
            world.objects[e_code] = Obj("estate", e_code, county, estate.id, community, e_code)
            session.add(CodeRegistry(county=county, code=e_code, object_kind="estate",
                                     issued_at=BUILT,
                                     object_id=estate.id))
            session.add(Facility(county=county, created_at=BUILT,
                                 category=CATEGORIES[e % len(CATEGORIES)],
                                 name=f"设施{ci}-{e}", region_code=community,
                                 estate_id=estate.id,
                                 geom=from_shape(Point(e_lon + 0.001, base_lat), 4490)))
            for b in range(1, buildings + 1):
                b_code = encode(community, e, b, 0)
                building = Building(county=county, code=b_code, created_at=BUILT,
                                    estate_id=estate.id,
                                    region_code=community, building_label=f"{b}幢",
                                    address_norm=f"测试路{ci}号{b}幢", use="residential",
                                    footprint=from_shape(_square(
                                        e_lon - 0.001 + b * 0.0005, base_lat, 0.0002), 4490))
                session.add(building)
                session.flush()
                world.objects[b_code] = Obj("building", b_code, county, building.id,
                                            community, e_code)
                session.add(CodeRegistry(county=county, code=b_code, object_kind="building",
                                         issued_at=BUILT,
                                         object_id=building.id))
                for h in range(1, houses + 1):
                    h_code = encode(community, e, b, 100 + h)
                    house = House(county=county, code=h_code, created_at=BUILT,
                                  building_id=building.id,
                                  region_code=community, room_label=f"{100 + h}室",
                                  address_norm=f"测试路{ci}号{b}幢{100 + h}室",
                                  use="residential" if h % 3 else "commercial",
                                  status="in_use")
                    session.add(house)
                    session.flush()
                    obj = Obj("house", h_code, county, house.id, community, e_code)
                    world.objects[h_code] = obj
                    world.house_keys[(county, house.id)] = obj
                    session.add(CodeRegistry(county=county, code=h_code, object_kind="house",
                                             issued_at=BUILT,
                                             object_id=house.id))
                    members: list[int] = []
                    for k in range(1 + (h % 2)):
                        person_seq += 1
                        birth = dt.date(1940 + (person_seq * 7) % 86, 1 + person_seq % 12, 15)
                        number = make_id_number(county, birth, person_seq % 100,
                                                "M" if person_seq % 2 else "F")
                        person = Person(name=f"居民{person_seq}", id_hash=vault.lookup_hash(number),
                                        id_cipher=vault.encrypt(number),
                                        id_masked=mask_id_number(number),
                                        gender="M" if person_seq % 2 else "F", birth_date=birth,
                                        phone_cipher=vault.encrypt(f"1380000{person_seq:04d}"),
                                        phone_masked=f"138****{person_seq:04d}")
                        session.add(person)
                        session.flush()
                        world.id_numbers[person.id] = number
                        rels = ["resident"] + (["owner"] if k == 0 else [])
                        for rel in rels:
                            session.add(PersonHouse(county=county, person_id=person.id,
                                                    house_id=house.id, relation=rel,
                                                    valid_from=dt.date(2020, 1, 1)))
                            world.person_houses.setdefault(person.id, []).append(
                                (h_code, rel, None))
                        members.append(person.id)
                    _household(session, world, county, house.id, h_code, members)
                if houses >= 2:
                    session.add(CodeLineage(county=county, event="split",
                                            parent_code=encode(community, e, b, 101),
                                            child_code=encode(community, e, b, 102)))
        session.add(Job(kind="code_assignment", scope_code=community, status="succeeded",
                        requested_by="tests"))
    _cross_county(session, world)
    session.flush()
    return world


def _household(session: Session, world: World, county: str, house_id: int, code: str,
               members: list[int]) -> None:
    """The residents of a house as one household registered there (the first is the head)."""
    household = Household(county=county, number=f"H{code}", kind="family", house_id=house_id)
    session.add(household)
    session.flush()
    for i, person_id in enumerate(members):
        session.add(HouseholdMember(county=county, household_id=household.id,
                                    person_id=person_id, relation="spouse" if i else "head",
                                    valid_from=dt.date(2020, 1, 1)))
    world.households[household.number] = (code, list(members))


def _cross_county(session: Session, world: World) -> None:
    """A lineage edge and a person that both span two counties."""
    first = next(o for o in world.objects.values() if o.kind == "house"
                 and o.county == COUNTIES[0])
    other = next(o for o in world.objects.values() if o.kind == "house"
                 and o.county == COUNTIES[2])
    session.add(CodeLineage(county=other.county, event="merge", parent_code=first.code,
                            child_code=other.code))
    mover = next(pid for pid, rels in world.person_houses.items() if rels[0][0] == first.code)
    session.add(PersonHouse(county=other.county, person_id=mover, house_id=other.id,
                            relation="tenant", valid_from=dt.date(2019, 1, 1),
                            valid_to=dt.date(2020, 1, 1)))
    world.person_houses[mover].append((other.code, "tenant", dt.date(2020, 1, 1)))


def issue_token(session: Session, scope: str, *roles: str, name: str | None = None) -> str:
    issued = create_token(session, name=name or f"t-{scope}-{'-'.join(roles)}", scope=scope,
                          roles=list(roles), actor="tests")
    return issued.token


@dataclass
class ApiWorld:
    engine: Engine
    world: World
    tokens: dict[str, str]  # label -> token


@contextmanager
def api_world(cluster: EmbeddedCluster, template: str, settings: Settings,
              **sizes: int) -> Iterator[ApiWorld]:
    """A private database holding a committed world, with tokens at all six levels."""
    name = clone_database(cluster, template, "gql")
    engine = make_engine(settings, url=cluster.url(name))
    try:
        with session_scope(engine) as session:
            world = build_world(session, settings, **sizes)
            a, b = world.communities[0], world.communities[-1]
            tokens = {
                "province": issue_token(session, "33", "admin"),
                "city": issue_token(session, a[:4], "pii_reader", "importer", "coder"),
                "county": issue_token(session, a[:6], "person_reader"),
                "town": issue_token(session, a[:9], "reader"),
                "community": issue_token(session, a, "pii_reader"),
                "estate": issue_token(session, world.estates[0], "person_reader",
                                      "importer"),
                "other_county": issue_token(session, b[:6], "admin"),
            }
        yield ApiWorld(engine, world, tokens)
    finally:
        engine.dispose()
        cluster.drop_database(name)


def post(client: Any, token: str | None, query: str,
         variables: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = client.post("/graphql", json={"query": query, "variables": variables or {}},
                        headers=headers)
    assert reply.status_code < 500, reply.text
    return reply.json()  # type: ignore[no-any-return]


def add_hidden_member(session: Session, settings: Settings, world: World) -> int:
    """A person whose only relation is an owner's in the last county (another city), yet a
    member of the household of the first county's first house: that household's members
    must not show the person to a scope that cannot see them. Returns the person id."""
    vault = PiiVault.from_settings(settings)
    first = next(o for o in world.objects.values() if o.kind == "house"
                 and o.county == COUNTIES[0])
    owned = [o for o in world.objects.values() if o.kind == "house" and o.county == COUNTIES[2]]
    number = make_id_number(COUNTIES[2], dt.date(1950, 3, 3), 77, "F")
    person = Person(name=f"居民{len(world.id_numbers) + 1}", id_hash=vault.lookup_hash(number),
                    id_cipher=vault.encrypt(number), id_masked=mask_id_number(number),
                    gender="F", birth_date=dt.date(1950, 3, 3))
    session.add(person)
    session.flush()
    world.id_numbers[person.id] = number
    session.add(PersonHouse(county=owned[-1].county, person_id=person.id,
                            house_id=owned[-1].id, relation="owner",
                            valid_from=dt.date(2020, 1, 1)))
    world.person_houses[person.id] = [(owned[-1].code, "owner", None)]
    household = session.scalars(select(Household).where(
        Household.county == first.county, Household.house_id == first.id)).one()
    session.add(HouseholdMember(county=household.county, household_id=household.id,
                                person_id=person.id, relation="other",
                                valid_from=dt.date(2020, 1, 1)))
    world.households[household.number][1].append(person.id)
    session.flush()
    return person.id
