"""The elderly living alone and the household figures against an independent count on the
generated demo (issue 15): the rule of docs/services.md recomputed in Python from the raw
rows (relations, households, memberships, birth dates), for everything and for one
community."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.demo.generate_demo import generate_demo
from cimhouse.importers.register.import_register import import_register
from cimhouse.scope import Scope, parse_scope
from cimhouse.services.elderly import list_elderly_living_alone
from cimhouse.services.households import HouseholdStatistics, household_statistics
from tests.helpers.keys import VAULT

AS_OF = dt.date.today()  # memberships start on the import date
HouseKey = tuple[str, int]


def age(birth: dt.date, on: dt.date = AS_OF) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def current(valid_from: dt.date | None, valid_to: dt.date | None) -> bool:
    return (valid_from is None or valid_from <= AS_OF) and (valid_to is None
                                                             or valid_to > AS_OF)


@dataclass
class Raw:
    """The raw rows, read with plain SELECTs (none of the services' SQL)."""

    houses: dict[HouseKey, tuple[str, str]] = field(default_factory=dict)  # address, region
    births: dict[int, dt.date | None] = field(default_factory=dict)
    living: dict[int, set[HouseKey]] = field(default_factory=lambda: defaultdict(set))
    registered: dict[int, set[HouseKey]] = field(default_factory=lambda: defaultdict(set))
    # household (county, id) -> (number, house, current member ids)
    households: dict[HouseKey, tuple[str, HouseKey, list[int]]] = field(default_factory=dict)


def read_raw(session: Session) -> Raw:
    raw = Raw()
    for county, hid, address, region, status in session.execute(text(
            "SELECT h.county, h.id, COALESCE(h.address_norm, b.address_norm), h.region_code, "
            "h.status FROM house h JOIN building b ON b.county = h.county "
            "AND b.id = h.building_id")):
        assert status == "in_use"  # no retired house in the demo: nothing to leave out
        raw.houses[(county, hid)] = (address, region)
    raw.births = {int(pid): birth for pid, birth in session.execute(text(
        "SELECT id, birth_date FROM person"))}
    for county, hid, pid, relation, start, end in session.execute(text(
            "SELECT county, house_id, person_id, relation, valid_from, valid_to "
            "FROM person_house")):
        if not current(start, end):
            continue
        if relation in ("resident", "tenant"):
            raw.living[pid].add((county, hid))
        elif relation == "registered":
            raw.registered[pid].add((county, hid))
    for county, hh_id, number, hid in session.execute(text(
            "SELECT county, id, number, house_id FROM household")):
        raw.households[(county, hh_id)] = (number, (county, hid), [])
    for county, hh_id, pid, start, end in session.execute(text(
            "SELECT county, household_id, person_id, valid_from, valid_to "
            "FROM household_member")):
        if current(start, end):
            number, house, members = raw.households[(county, hh_id)]
            members.append(pid)
            raw.registered[pid].add(house)
    return raw


def residents(raw: Raw) -> dict[HouseKey, set[int]]:
    """Who lives where: living relations; registered houses only for persons without."""
    out: dict[HouseKey, set[int]] = defaultdict(set)
    for pid in set(raw.living) | set(raw.registered):
        for house in raw.living.get(pid) or raw.registered.get(pid, set()):
            out[house].add(pid)
    return out


def in_scope(raw: Raw, house: HouseKey, scope: Scope | None) -> bool:
    return scope is None or raw.houses[house][1].startswith(scope.code)


def expected_list(raw: Raw, scope: Scope | None) -> set[tuple[str, int, str | None, int | None,
                                                              bool | None]]:
    household_of = {pid: (number, house, len(members))
                    for number, house, members in raw.households.values() for pid in members}
    out = set()
    for house, people in residents(raw).items():
        if len(people) != 1 or not in_scope(raw, house, scope):
            continue
        pid = next(iter(people))
        birth = raw.births[pid]
        if birth is None or age(birth) < 60:
            continue
        number, registered_at, size = household_of.get(pid, (None, house, None))
        if number is not None and not in_scope(raw, registered_at, scope):
            number = size = None  # registered outside the scope: not named
        out.add((raw.houses[house][0], age(birth), number, size,
                 None if number is None else registered_at == house))
    return out


def expected_figures(raw: Raw, scope: Scope | None) -> HouseholdStatistics:
    alone = {next(iter(p)) for h, p in residents(raw).items()
             if len(p) == 1 and in_scope(raw, h, scope)}
    stats = HouseholdStatistics()
    sizes: Counter[int] = Counter()
    for _number, house, members in raw.households.values():
        if not members or not in_scope(raw, house, scope):
            continue
        births = [raw.births[m] for m in members]
        elderly = all(b is not None and age(b) >= 60 for b in births)
        sizes[len(members)] += 1
        stats.elderly_only += elderly
        stats.elderly_living_alone += elderly and len(members) == 1 and members[0] in alone
        stats.with_children_0_3 += any(b is not None and b <= AS_OF and age(b) < 3
                                       for b in births)
    stats.by_size = dict(sorted(sizes.items()))
    stats.households = sum(sizes.values())
    return stats


@pytest.fixture
def demo(session: Session, tmp_path: Path) -> Raw:
    generate_demo(tmp_path, houses=900, seed=8)
    result = import_register(session, tmp_path / "register.csv", vault=VAULT)
    assert result.rejected == 0, result.reasons
    return read_raw(session)


def test_elderly_alone_and_household_figures_equal_an_independent_count(
        session: Session, demo: Raw) -> None:
    regions = Counter(region for _code, region in demo.houses.values())
    community = parse_scope(regions.most_common(1)[0][0])
    for scope in (None, community, parse_scope("330421")):
        listed = {(p.address or "", p.age, p.household_number, p.household_size,
                   p.registered_here)
                  for p in list_elderly_living_alone(session, scope, as_of=AS_OF)}
        assert listed == expected_list(demo, scope), scope
        assert household_statistics(session, scope, as_of=AS_OF) == \
            expected_figures(demo, scope), scope
    # the demo exercises 人户分离 among those living alone
    assert any(here is False for *_, here in expected_list(demo, None))
    assert expected_figures(demo, None).elderly_living_alone > 0
