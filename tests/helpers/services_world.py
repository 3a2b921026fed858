"""A small hand-checkable world for the community-services tests (no tests of its own).

Coordinates are metres in EPSG:4549 relative to ORIGIN (about 120.75E, 30.75N), converted
to storage (EPSG:4490) with the one CRS helper, so every expected distance below can be
checked with Pythagoras. Reference date AS_OF = 2026-06-30.

Communities: A = 330402007024, B = 330402007029 (same street), C = 330402008016.
Estates: E1 (A, boundary square around (0, 0)), E2 (A, no boundary, one building footprint
around (0, 800)), E3 (B, boundary around (2000, 0)), E4 (C, no location at all).
Facilities: childcare (200, 0); elderly_care (0, 1400) and (2000, 400); medical (900, 0) and
a demolished one at (0, 810); education: a 100 m square centred on (0, -600); commerce
(2000, 480) north of E3 and (2450, 0) east of it (nearer in metres, farther in degrees).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from cimhouse.checksum import mod11_2
from cimhouse.crs import transform_geometry
from cimhouse.idnumber import make_id_number
from cimhouse.pii import PiiVault, mask_id_number
from cimhouse.schema import Building, Estate, Facility, House, Person, PersonHouse
from cimhouse.services.policy import ServicePolicy
from cimhouse.settings import Settings

ORIGIN = (571800.0, 3403500.0)
AS_OF = dt.date(2026, 6, 30)
COMMUNITY_A, COMMUNITY_B, COMMUNITY_C = "330402007024", "330402007029", "330402008016"
POLICY = ServicePolicy.default().only(
    ["childcare", "elderly_care", "education", "medical", "commerce"])


def estate_code(community: str, number: int) -> str:
    body = f"{community}{number:03d}" + "0" * 9
    return body + mod11_2(body)


def to_storage(geom_m: BaseGeometry) -> BaseGeometry:
    """Local metres (relative to ORIGIN) -> EPSG:4490 shapely geometry."""
    from shapely.affinity import translate
    return transform_geometry(translate(geom_m, *ORIGIN), 4549, 4490)


def square(x: float, y: float, half: float) -> Polygon:
    return box(x - half, y - half, x + half, y + half)


@dataclass
class World:
    estates: dict[str, Estate] = field(default_factory=dict)
    houses: dict[str, House] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)


def build_world(session: Session, settings: Settings) -> World:
    vault = PiiVault.from_settings(settings)
    world = World()
    county = "330402"

    def estate(key: str, community: str, number: int, boundary: Polygon | None) -> Estate:
        row = Estate(county=county, code=estate_code(community, number), name=f"{key}小区",
                     region_code=community,
                     boundary=from_shape(MultiPolygon([to_storage(boundary)]), srid=4490)
                     if boundary is not None else None)
        session.add(row)
        world.estates[key] = row
        return row

    estate("E1", COMMUNITY_A, 1, square(0, 0, 50))
    estate("E2", COMMUNITY_A, 2, None)
    estate("E3", COMMUNITY_B, 1, square(2000, 0, 50))
    estate("E4", COMMUNITY_C, 1, None)
    session.flush()
    buildings = {}
    for key, footprint in (("E1", None), ("E2", square(0, 800, 10)), ("E3", None),
                           ("E4", None)):
        est = world.estates[key]
        bld = Building(county=county, estate_id=est.id, region_code=est.region_code,
                       building_label="1幢", address_norm=f"{key}路1号",
                       footprint=from_shape(MultiPolygon([to_storage(footprint)]), srid=4490)
                       if footprint is not None else None)
        session.add(bld)
        buildings[key] = bld
    session.flush()
    for key, est_key in (("H1", "E1"), ("H2", "E1"), ("H3", "E2"), ("H4", "E2"),
                         ("H5", "E2"), ("H6", "E3"), ("H7", "E3"), ("H8", "E4")):
        bld = buildings[est_key]
        house = House(county=county, building_id=bld.id, region_code=bld.region_code,
                      room_label=key, code=f"{bld.region_code}{key[1]:0>13}",
                      address_norm=f"{est_key}路1号{key}室")
        session.add(house)
        world.houses[key] = house
    session.flush()
    # key, birth date, gender, [(house, relation, valid_to)]
    people: list[tuple[str, dt.date, str, list[tuple[str, str, dt.date | None]]]] = [
        ("P1", dt.date(2024, 1, 1), "F", [("H1", "resident", None)]),
        ("P2", dt.date(1990, 3, 3), "M", [("H1", "resident", None)]),
        ("P3", dt.date(1940, 5, 1), "F", [("H2", "resident", None)]),
        ("P4", dt.date(1966, 6, 30), "M", [("H3", "registered", None)]),
        ("P5", dt.date(1950, 1, 1), "M", [("H4", "resident", None)]),
        ("P6", dt.date(1952, 1, 1), "F", [("H4", "resident", None)]),
        ("P7", dt.date(1945, 1, 1), "M", [("H5", "registered", None),
                                          ("H6", "resident", None)]),
        ("P8", dt.date(1930, 1, 1), "F", [("H7", "resident", dt.date(2025, 1, 1))]),
        ("P9", dt.date(2023, 7, 1), "F", [("H7", "resident", None)]),  # 2, 3 tomorrow
        ("P10", dt.date(2015, 1, 1), "M", [("H7", "resident", None)]),
        ("P11", dt.date(2020, 1, 1), "M", [("H7", "resident", None)]),
        ("P12", dt.date(1950, 1, 1), "M", [("H7", "owner", None)]),
    ]
    for index, (key, birth, gender, relations) in enumerate(people):
        number = make_id_number(county, birth, index + 1, gender)
        person = Person(name=f"王{key}", id_hash=vault.lookup_hash(number),
                        id_cipher=vault.encrypt(number), id_masked=mask_id_number(number),
                        gender=gender, birth_date=birth,
                        phone_cipher=vault.encrypt("13812345678"), phone_masked="138****5678")
        session.add(person)
        session.flush()
        world.persons[key] = person
        for house_key, relation, valid_to in relations:
            house = world.houses[house_key]
            session.add(PersonHouse(county=county, person_id=person.id, house_id=house.id,
                                    relation=relation, valid_from=dt.date(2000, 1, 1)
                                    if valid_to else None, valid_to=valid_to))
    facilities = [  # category, name, geometry (metres), status
        ("childcare", "托育F1", Point(200, 0), "in_use"),
        ("elderly_care", "养老F2", Point(0, 1400), "in_use"),
        ("elderly_care", "养老F3", Point(2000, 400), "in_use"),
        ("medical", "卫生F4", Point(900, 0), "in_use"),
        ("medical", "卫生F5", Point(0, 810), "demolished"),
        ("education", "小学F6", square(0, -600, 50), "in_use"),
        ("commerce", "菜场F7", Point(2000, 480), "in_use"),
        ("commerce", "菜场F8", Point(2450, 0), "in_use"),
    ]
    for category, name, geom, status in facilities:
        session.add(Facility(county=county, category=category, name=name, status=status,
                             geom=from_shape(to_storage(geom), srid=4490),
                             region_code=COMMUNITY_A))
    session.flush()
    return world
