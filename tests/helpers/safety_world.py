"""A committed world for the home-safety tests (no tests of its own).

County 330402; community A = 330402007024, B = 330402007029, one estate and building each.
Houses: HA1 (A, 王甲 born 1940, alone: gas detector, motion sensor, water meter, wearable),
HA2 (A, 王乙 born 1942, alone: motion sensor), HB1 (B, 王丙 born 1941, alone: gas detector,
motion sensor). Devices come in through the importer (``import_devices``). Tokens: a gateway
of A (importer), staff of A and of B (person_reader), a reader of A.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.idnumber import make_id_number
from cimhouse.importers.devices.import_devices import import_devices
from cimhouse.pii import PiiVault, mask_id_number
from cimhouse.schema import Building, Estate, House, Person, PersonHouse
from cimhouse.settings import Settings
from tests.helpers.database import clone_database
from tests.helpers.graphql_world import issue_token
from tests.helpers.services_world import estate_code

COUNTY, COMMUNITY_A, COMMUNITY_B = "330402", "330402007024", "330402007029"
HEADER = ["设备编号", "设备类型", "房屋编码", "佩戴人身份证号", "电量"]
PEOPLE = {"HA1": ("王甲", dt.date(1940, 3, 1)), "HA2": ("王乙", dt.date(1942, 4, 1)),
          "HB1": ("王丙", dt.date(1941, 5, 1))}


def house_code(community: str, number: int) -> str:
    return f"{community}{number:0>13}"


@dataclass
class SafetyWorld:
    engine: Engine
    codes: dict[str, str]  # house key -> house code
    id_numbers: dict[str, str]  # house key -> its resident's ID number
    tokens: dict[str, str]  # gateway_a, staff_a, staff_b, reader_a


def write_devices(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def device_rows(world_codes: dict[str, str], ids: dict[str, str]) -> list[list[str]]:
    return [["GAS-A1", "燃气报警器", world_codes["HA1"], "", "90"],
            ["MOT-A1", "motion", world_codes["HA1"], "", ""],
            ["WAT-A1", "water_meter", world_codes["HA1"], "", ""],
            ["WEAR-A1", "wearable", world_codes["HA1"], ids["HA1"], "80"],
            ["MOT-A2", "motion", world_codes["HA2"], "", ""],
            ["GAS-B1", "gas", world_codes["HB1"], "", ""],
            ["MOT-B1", "人体感应器", world_codes["HB1"], "", ""]]


@contextmanager
def safety_world(cluster: EmbeddedCluster, template: str, settings: Settings,
                 tmp: Path) -> Iterator[SafetyWorld]:
    name = clone_database(cluster, template, "safety")
    engine = make_engine(settings, url=cluster.url(name))
    vault = PiiVault.from_settings(settings)
    codes: dict[str, str] = {}
    ids: dict[str, str] = {}
    try:
        with session_scope(engine) as session:
            for number, (key, community) in enumerate(
                    (("HA1", COMMUNITY_A), ("HA2", COMMUNITY_A), ("HB1", COMMUNITY_B)), 1):
                estate = Estate(county=COUNTY, code=estate_code(community, number),
                                name=f"安康{number}苑", region_code=community)
                session.add(estate)
                session.flush()
                building = Building(county=COUNTY, estate_id=estate.id, region_code=community,
                                    building_label="1幢", address_norm=f"安康路{number}号")
                session.add(building)
                session.flush()
                codes[key] = house_code(community, number)
                house = House(county=COUNTY, building_id=building.id, region_code=community,
                              room_label="101", code=codes[key],
                              address_norm=f"安康路{number}号101室")
                session.add(house)
                session.flush()
                name_, birth = PEOPLE[key]
                ids[key] = make_id_number(COUNTY, birth, number, "F")
                person = Person(name=name_, id_hash=vault.lookup_hash(ids[key]),
                                id_cipher=vault.encrypt(ids[key]),
                                id_masked=mask_id_number(ids[key]), gender="F",
                                birth_date=birth)
                session.add(person)
                session.flush()
                session.add(PersonHouse(county=COUNTY, person_id=person.id, house_id=house.id,
                                        relation="resident"))
            session.flush()
            import_devices(session, write_devices(tmp / "devices.csv", device_rows(codes, ids)),
                           vault=vault, actor="tests")
            tokens = {"gateway_a": issue_token(session, COMMUNITY_A, "importer"),
                      "staff_a": issue_token(session, COMMUNITY_A, "person_reader"),
                      "staff_b": issue_token(session, COMMUNITY_B, "person_reader"),
                      "reader_a": issue_token(session, COMMUNITY_A, "reader")}
        yield SafetyWorld(engine, codes, ids, tokens)
    finally:
        engine.dispose()
        cluster.drop_database(name)
