"""Time travel (issue 17): ``asOf`` on houses, buildings, estates, facilities, relations and
statistics, checked against an independent model of a generated history.

The history is made by the real lifecycle operations (status change, relabel, split,
demolition) and a move of a person, each in its own transaction; afterwards the rows that
transaction wrote are dated back to the event's day (the operations can only record *now*).
The model replays the events in Python from the world's own records, without reading
``change_log``; every ``asOf`` answer is compared with it on the days around each event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from cimhouse.api.app import create_app
from cimhouse.coding.change_status import change_status
from cimhouse.coding.relabel_object import relabel_object
from cimhouse.coding.retire_house import retire_house
from cimhouse.coding.split_house import split_house
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import parse_global_id
from cimhouse.schema import ChangeLog, Facility, House, PersonHouse
from cimhouse.schema.household import Household, HouseholdMember
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings
from cimhouse.timetravel.rewind_rows import as_of_select, membership_valid_on, rewind
from tests.helpers.graphql_world import ApiWorld, api_world, post

TODAY = dt.date.today()
EVENTS = {"status": 30, "relabel": 20, "split": 10, "move": 5, "facility": 3, "demolish": 1}
DAY = {name: TODAY - dt.timedelta(days=n) for name, n in EVENTS.items()}
#: every event day, the day before it, a day before all events and today
DAYS = sorted({TODAY - dt.timedelta(days=40), TODAY,
               *DAY.values(), *(d - dt.timedelta(days=1) for d in DAY.values())})


@dataclass
class History:
    county: str
    labels: dict[str, str]  # house code -> room label before the events
    residents: dict[str, set[int]]  # house code -> resident person ids before the events
    status_house: str = ""
    status_building: str = ""
    relabel_house: str = ""
    split_parent: str = ""
    split_children: list[str] = field(default_factory=list)
    mover: int = 0
    move_from: str = ""
    move_to: str = ""
    demolished: str = ""
    late_facility: int = 0

    def houses(self, day: dt.date) -> dict[str, tuple[str, str, set[int]]]:
        """code -> (status, room label, residents) on ``day``: the events replayed."""
        status = {code: "in_use" for code in self.residents}
        label = dict(self.labels)
        people = {code: set(ids) for code, ids in self.residents.items()}
        if day >= DAY["status"]:
            status[self.status_house] = "out_of_use"
        if day >= DAY["relabel"]:
            label[self.relabel_house] = "999室"
        if day >= DAY["split"]:
            del status[self.split_parent]
            moved = people.pop(self.split_parent)
            for index, child in enumerate(self.split_children, start=1):
                status[child] = "in_use"
                label[child] = f"{label[self.split_parent]}-{index}"
                people[child] = moved if index == 1 else set()
        if day >= DAY["move"]:
            people[self.move_from].discard(self.mover)
            people[self.move_to].add(self.mover)
        if day >= DAY["demolish"]:
            del status[self.demolished]
        return {code: (value, label[code], people[code]) for code, value in status.items()}


def _date_back(session: Session, day: dt.date) -> None:
    """Date what this transaction wrote (at now() / current_date) back to ``day``."""
    at = {"at": dt.datetime.combine(day, dt.time(12)).astimezone(), "day": day}
    for sql in (
        "UPDATE change_log SET changed_at = :at WHERE changed_at = now()",
        "UPDATE code_lineage SET recorded_at = :at, effective_date = :day "
        "WHERE recorded_at = now()",
        "UPDATE code_registry SET issued_at = :at WHERE issued_at = now()",
        "UPDATE code_registry SET retired_at = :at WHERE retired_at = now()",
        "UPDATE house SET created_at = :at WHERE created_at = now()",
        "UPDATE person_house SET valid_to = :day WHERE valid_to = current_date",
        "UPDATE person_house SET valid_from = :day WHERE valid_from = current_date",
    ):
        session.execute(text(sql), at)


def _make_history(aw: ApiWorld) -> History:
    world = aw.world
    county = world.communities[0][:6]
    codes = sorted(o.code for o in world.objects.values()
                   if o.kind == "house" and o.county == county)
    residents: dict[str, set[int]] = {code: set() for code in codes}
    for pid, rels in world.person_houses.items():
        for code, relation, valid_to in rels:
            if code in residents and relation == "resident" and valid_to is None:
                residents[code].add(pid)
    with session_scope(aw.engine) as session:
        labels = {h.code or "": h.room_label or "" for h in session.scalars(
            select(House).where(House.code.in_(codes)))}
    two = [c for c in codes if len(residents[c]) == 2]
    one = [c for c in codes if len(residents[c]) == 1]
    h = History(county=county, labels=labels, residents=residents,
                status_house=one[0], relabel_house=one[1], split_parent=one[2],
                move_from=two[0], move_to=one[3], demolished=two[1])
    h.mover = min(residents[h.move_from])
    h.status_building = next(o.code for o in world.objects.values()
                             if o.kind == "building" and o.county == county)
    with session_scope(aw.engine) as session:
        change_status(session, h.status_house, "out_of_use", actor="t", reason="空置")
        change_status(session, h.status_building, "out_of_use", actor="t", reason="维修")
        _date_back(session, DAY["status"])
    with session_scope(aw.engine) as session:
        relabel_object(session, h.relabel_house, actor="t", room_label="999室")
        _date_back(session, DAY["relabel"])
    with session_scope(aw.engine) as session:
        h.split_children = split_house(session, h.split_parent, 2, actor="t", relations_to=1)
        _date_back(session, DAY["split"])
    with session_scope(aw.engine) as session:
        moving = session.scalars(select(PersonHouse).join(
            House, (House.county == PersonHouse.county) & (House.id == PersonHouse.house_id))
            .where(House.code == h.move_from, PersonHouse.person_id == h.mover,
                   PersonHouse.relation == "resident")).one()
        moving.valid_to = DAY["move"]
        target = session.scalars(select(House).where(House.code == h.move_to)).one()
        session.add(PersonHouse(county=target.county, person_id=h.mover, house_id=target.id,
                                relation="resident", valid_from=DAY["move"]))
    with session_scope(aw.engine) as session:
        facility = session.scalars(select(Facility).where(Facility.county == county)
                                   .order_by(Facility.id)).first()
        assert facility is not None
        facility.created_at = dt.datetime.combine(DAY["facility"], dt.time(9)).astimezone()
        h.late_facility = facility.id
    with session_scope(aw.engine) as session:
        retire_house(session, h.demolished, "demolished", actor="t", reason="拆除")
        _date_back(session, DAY["demolish"])
    return h


@pytest.fixture(scope="module")
def tw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[tuple[ApiWorld, History, TestClient]]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        history = _make_history(built)
        yield built, history, TestClient(create_app(test_settings, engine=built.engine))


def _data(reply: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in reply, reply
    result: dict[str, Any] = reply["data"]
    return result


HOUSES = """query($d: Date, $r: String!) { houses(asOf: $d, first: 500,
    filter: {regionCode: $r}) { totalCount edges { node { code status roomLabel
    residents { person { id } } } } } }"""


def test_houses_as_of_match_the_replayed_history(
        tw: tuple[ApiWorld, History, TestClient]) -> None:
    aw, h, client = tw
    for day in DAYS:
        got = _data(post(client, aw.tokens["county"], HOUSES,
                         {"d": day.isoformat(), "r": h.county}))["houses"]
        found = {e["node"]["code"]: (e["node"]["status"], e["node"]["roomLabel"],
                                     {int(parse_global_id(r["person"]["id"])[1])
                                      for r in e["node"]["residents"]})
                 for e in got["edges"]}
        assert found == h.houses(day), day
        assert got["totalCount"] == len(found)


def test_demolished_yesterday_present_last_week_absent_today(
        tw: tuple[ApiWorld, History, TestClient]) -> None:
    aw, h, client = tw
    query = """query($d: Date) { houses(asOf: $d, first: 500) { edges { node { code } } } }"""

    def codes(day: dt.date | None) -> set[str]:
        got = _data(post(client, aw.tokens["county"], query,
                         {"d": day.isoformat() if day else None}))
        return {e["node"]["code"] for e in got["houses"]["edges"]}

    assert h.demolished in codes(TODAY - dt.timedelta(days=7))
    assert h.demolished not in codes(TODAY)
    assert h.demolished in codes(None)  # without asOf: the current rows, retired ones too
    assert h.split_parent in codes(DAY["split"] - dt.timedelta(days=1))
    assert not set(h.split_children) & codes(DAY["split"] - dt.timedelta(days=1))


def test_a_person_moved_out_is_a_resident_of_the_old_house_before_the_move(
        tw: tuple[ApiWorld, History, TestClient]) -> None:
    aw, h, client = tw
    query = """query($d: Date, $c: String!) { houses(asOf: $d, filter: {codePrefix: $c}) {
        edges { node { code residents { person { id } } } } } }"""

    def residents(code: str, day: dt.date) -> set[int]:
        got = _data(post(client, aw.tokens["county"], query,
                         {"d": day.isoformat(), "c": code}))["houses"]["edges"]
        return {int(parse_global_id(r["person"]["id"])[1])
                for e in got if e["node"]["code"] == code for r in e["node"]["residents"]}

    before = DAY["move"] - dt.timedelta(days=1)
    assert h.mover in residents(h.move_from, before)
    assert h.mover not in residents(h.move_from, DAY["move"])
    assert h.mover in residents(h.move_to, DAY["move"])
    assert h.mover not in residents(h.move_to, before)


def test_buildings_estates_and_facilities_as_of(
        tw: tuple[ApiWorld, History, TestClient]) -> None:
    aw, h, client = tw
    query = """query($d: Date) { buildings(asOf: $d, first: 500) { edges { node { code status
        houses { code } } } } estates(asOf: $d, first: 500) { totalCount }
        facilities(asOf: $d, first: 500) { edges { node { id } } } }"""

    def read(day: dt.date) -> dict[str, Any]:
        return _data(post(client, aw.tokens["county"], query, {"d": day.isoformat()}))

    for day in DAYS:
        got = read(day)
        status = {e["node"]["code"]: e["node"]["status"] for e in got["buildings"]["edges"]}
        assert status[h.status_building] == ("out_of_use" if day >= DAY["status"]
                                             else "in_use")
        nested = {c["code"] for e in got["buildings"]["edges"] for c in e["node"]["houses"]}
        assert nested == set(h.houses(day))  # nested lists keep the list's day
        facilities = {int(parse_global_id(e["node"]["id"])[1].split(":")[1])
                      for e in got["facilities"]["edges"]}
        assert (h.late_facility in facilities) == (day >= DAY["facility"])
    before_world = read(dt.date(2018, 6, 1))  # the world was built on 2019-01-01
    assert before_world["buildings"]["edges"] == []
    assert before_world["estates"]["totalCount"] == 0
    assert before_world["facilities"]["edges"] == []


STATISTICS = """query($d: Date, $r: String!) { statistics(regionCode: $r, asOf: $d) {
    houses housesByStatus { key count } persons occupiedHouses } }"""


def test_statistics_as_of_count_what_was_valid_then(
        tw: tuple[ApiWorld, History, TestClient]) -> None:
    """Regression: statistics(asOf) counted today's rows, today's demolitions included."""
    aw, h, client = tw
    for day in DAYS:
        got = _data(post(client, aw.tokens["county"], STATISTICS,
                         {"d": day.isoformat(), "r": h.county}))["statistics"]
        model = h.houses(day)
        by_status: dict[str, int] = {}
        for status, _, _ in model.values():
            by_status[status] = by_status.get(status, 0) + 1
        assert got["houses"] == len(model), day
        assert {b["key"]: b["count"] for b in got["housesByStatus"]} == by_status, day
        assert got["occupiedHouses"] == sum(1 for s in model.values() if s[2]), day
        living = set().union(*(s[2] for s in model.values()))
        assert got["persons"] == len(living), day


def test_other_county_sees_nothing_on_any_day(
        tw: tuple[ApiWorld, History, TestClient]) -> None:
    aw, h, client = tw
    for day in DAYS:
        got = _data(post(client, aw.tokens["other_county"], HOUSES,
                         {"d": day.isoformat(), "r": h.county}))["houses"]
        assert got == {"totalCount": 0, "edges": []}
        stats = _data(post(client, aw.tokens["other_county"], STATISTICS,
                           {"d": day.isoformat(), "r": h.county}))["statistics"]
        assert (stats["houses"], stats["persons"]) == (0, 0)


def test_households_as_of(tw: tuple[ApiWorld, History, TestClient]) -> None:
    """Households valid on D (a membership valid on D), kind and house on D, members on D."""
    aw, h, _ = tw
    on = {"formed": TODAY - dt.timedelta(days=50), "joined": TODAY - dt.timedelta(days=20),
          "left": TODAY - dt.timedelta(days=8), "moved": TODAY - dt.timedelta(days=6)}
    with session_scope(aw.engine) as session:
        houses = session.scalars(select(House).where(House.county == h.county)
                                 .order_by(House.id).limit(2)).all()
        people = sorted(h.residents[h.move_from] | h.residents[h.status_house])[:2]
        # the shared world registers everyone in a household: these two start without one
        session.execute(delete(HouseholdMember).where(HouseholdMember.person_id.in_(people)))
        household = Household(county=h.county, number="H-1", kind="family",
                              house_id=houses[0].id)
        session.add(household)
        session.flush()
        session.add_all([
            HouseholdMember(county=h.county, household_id=household.id, person_id=people[0],
                            relation="head", valid_from=on["formed"]),
            HouseholdMember(county=h.county, household_id=household.id, person_id=people[1],
                            relation="son", valid_from=on["joined"], valid_to=on["left"])])
        # the household moved to the second house (as the register import logs it)
        session.add(ChangeLog(county=h.county, object_kind="household",
                              object_id=str(household.id), operation="update",
                              previous={"kind": "family", "house_id": houses[0].id},
                              current={"kind": "collective", "house_id": houses[1].id},
                              changed_at=dt.datetime.combine(on["moved"], dt.time(10))
                              .astimezone()))
        household.kind, household.house_id = "collective", houses[1].id
        key = household.id
    scope = parse_scope(h.county)
    for day in sorted({*on.values(), *(d - dt.timedelta(days=1) for d in on.values()), TODAY}):
        with session_scope(aw.engine) as session:
            found = [rewind(row, undo) for row, undo in session.execute(
                as_of_select(Household, day, scope).where(Household.id == key))]
            members = set(session.scalars(select(HouseholdMember.person_id).where(
                HouseholdMember.household_id == key, membership_valid_on(day))))
        expected = {people[0]} if day >= on["formed"] else set()
        if on["joined"] <= day < on["left"]:
            expected.add(people[1])
        assert members == expected, day
        assert len(found) == (1 if expected else 0), day
        if found:
            moved = day >= on["moved"]
            assert found[0].house_id == houses[1 if moved else 0].id, day
            assert found[0].kind == ("collective" if moved else "family"), day
