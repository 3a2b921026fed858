"""Time travel of households (issue 17): ``House.households(asOf)``, ``Person.household(asOf)``
and the nested ``Household.house``/``members``/``kind``, checked against an independent
model of a generated history.

The history, on the generated world (every household registered at its house since
2020-01-01): households picked at random (seeded) move to another house and change kind (as
the register import records a move: the row updated, ``change_log`` with the previous kind
and house), one household splits (its other members leave on that day and form a new
household at another house), and the house of a third household is demolished (the real
``retire_house``; the household stays registered there). The model replays these events in
Python from the event list alone, without reading ``change_log``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from cimhouse.api.app import create_app
from cimhouse.coding.retire_house import retire_house
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.graphql.common import parse_global_id
from cimhouse.schema import ChangeLog, House
from cimhouse.schema.household import Household, HouseholdMember
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, post

TODAY = dt.date.today()
ON = {"move": TODAY - dt.timedelta(days=12), "split": TODAY - dt.timedelta(days=8),
      "demolish": TODAY - dt.timedelta(days=4)}
DAYS = sorted({dt.date(2019, 6, 1), TODAY, *ON.values(),
               *(d - dt.timedelta(days=1) for d in ON.values())})
SINCE = dt.date(2020, 1, 1)  # the world's memberships start then


@dataclass
class Model:
    """The households replayed from the events: number -> (house code, kind) per period,
    memberships as (number, person, from, to)."""
    houses: dict[str, list[tuple[dt.date, str, str]]] = field(default_factory=dict)
    members: list[tuple[str, int, dt.date, dt.date | None]] = field(default_factory=list)
    demolished: tuple[str, dt.date] = ("", TODAY)
    involved: set[int] = field(default_factory=set)

    def at(self, number: str, day: dt.date) -> tuple[str, str]:
        """(house code, kind) of the household on ``day``: its latest period begun by then."""
        current = self.houses[number][0]
        for start, code, kind in self.houses[number]:
            if start <= day:
                current = (start, code, kind)
        return current[1], current[2]

    def members_on(self, number: str, day: dt.date) -> set[int]:
        return {p for n, p, start, end in self.members
                if n == number and start <= day and (end is None or day < end)}

    def house_exists(self, code: str, day: dt.date) -> bool:
        return not (code == self.demolished[0] and day >= self.demolished[1])

    def households_of_houses(self, day: dt.date) -> dict[str, dict[str, tuple[str, set[int]]]]:
        """house code -> {number: (kind, members)} on ``day``."""
        out: dict[str, dict[str, tuple[str, set[int]]]] = {}
        for number in self.houses:
            members = self.members_on(number, day)
            code, kind = self.at(number, day)
            if members and self.house_exists(code, day):
                out.setdefault(code, {})[number] = (kind, members)
        return out

    def household_of(self, person: int, day: dt.date) -> tuple[str, str, str | None] | None:
        """(number, kind, house code or None when that house did not exist) on ``day``."""
        for number, p, start, end in self.members:
            if p == person and start <= day and (end is None or day < end):
                code, kind = self.at(number, day)
                return number, kind, code if self.house_exists(code, day) else None
        return None


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12)).astimezone()


def _make_history(aw: ApiWorld) -> Model:
    world, rng = aw.world, random.Random(17)
    county = world.communities[0][:6]
    codes = sorted(o.code for o in world.objects.values()
                   if o.kind == "house" and o.county == county)
    ours = {n: v for n, v in world.households.items() if v[0] in codes}
    model = Model(houses={n: [(SINCE, code, "family")] for n, (code, _m) in ours.items()},
                  members=[(n, p, SINCE, None) for n, (_c, ms) in ours.items() for p in ms])
    with_two = sorted(n for n, (_c, ms) in ours.items() if len(ms) >= 2)
    movers = rng.sample(sorted(set(ours) - set(with_two[:1])), 3)
    splitter = with_two[0]
    doomed = next(n for n in sorted(ours) if n not in movers and n != splitter)
    free = [c for c in codes if c not in {v[0] for v in ours.values()}] or codes
    with session_scope(aw.engine) as session:
        ids = {h.code: h.id for h in session.scalars(select(House).where(House.code.in_(codes)))}
        by_number = {h.number: h for h in session.scalars(
            select(Household).where(Household.number.in_(sorted(ours))))}
        for number in movers:  # moved, and become collective households
            household, target = by_number[number], rng.choice(codes)
            session.add(ChangeLog(
                county=county, object_kind="household", object_id=str(household.id),
                operation="update", actor="t", source="register",
                previous={"kind": household.kind, "house_id": household.house_id},
                current={"kind": "collective", "house_id": ids[target]},
                changed_at=_noon(ON["move"])))
            household.kind, household.house_id = "collective", ids[target]
            model.houses[number].append((ON["move"], target, "collective"))
            model.involved |= set(ours[number][1])
        # the split: the members other than the head leave and form a household elsewhere
        head, *others = ours[splitter][1]
        leaving = session.scalars(select(HouseholdMember).where(
            HouseholdMember.household_id == by_number[splitter].id,
            HouseholdMember.person_id.in_(others))).all()
        for member in leaving:
            member.valid_to = ON["split"]
        session.flush()
        new_house = free[0]
        split = Household(county=county, number="S-1", kind="family", house_id=ids[new_house],
                          created_at=_noon(ON["split"]))
        session.add(split)
        session.flush()
        for i, person in enumerate(others):
            session.add(HouseholdMember(county=county, household_id=split.id, person_id=person,
                                        relation="spouse" if i else "head",
                                        valid_from=ON["split"]))
        model.houses["S-1"] = [(ON["split"], new_house, "family")]
        model.members = [(n, p, s, ON["split"] if n == splitter and p in others else e)
                         for n, p, s, e in model.members]
        model.members += [("S-1", p, ON["split"], None) for p in others]
        model.involved |= {head, *others}
    with session_scope(aw.engine) as session:
        doomed_house = ours[doomed][0]
        retire_house(session, doomed_house, "demolished", actor="t", reason="拆除")
        at = {"at": _noon(ON["demolish"]), "day": ON["demolish"]}
        for sql in ("UPDATE change_log SET changed_at = :at WHERE changed_at = now()",
                    "UPDATE code_lineage SET recorded_at = :at, effective_date = :day "
                    "WHERE recorded_at = now()",
                    "UPDATE code_registry SET retired_at = :at WHERE retired_at = now()",
                    "UPDATE person_house SET valid_to = :day WHERE valid_to = current_date"):
            session.execute(text(sql), at)
        model.demolished = (doomed_house, ON["demolish"])
        model.involved |= set(ours[doomed][1])
    return model


@pytest.fixture(scope="module")
def hh(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[tuple[ApiWorld, Model, TestClient]]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        model = _make_history(built)
        yield built, model, TestClient(create_app(test_settings, engine=built.engine))


def _data(reply: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in reply, reply
    result: dict[str, Any] = reply["data"]
    return result


def _person(gid: str) -> int:
    return int(parse_global_id(gid)[1])


HOUSEHOLD = "number kind members { person { id } } house { code }"
LISTED = f"""query($d: Date, $r: String!) {{ houses(asOf: $d, first: 500,
    filter: {{regionCode: $r}}) {{ edges {{ node {{ code households {{ {HOUSEHOLD} }} }} }} }} }}"""
CURRENT = f"""query($d: Date, $r: String!) {{ houses(first: 500, filter: {{regionCode: $r}}) {{
    edges {{ node {{ code households(asOf: $d) {{ {HOUSEHOLD} }} }} }} }} }}"""


def _households(reply: dict[str, Any]) -> dict[str, dict[str, tuple[str, set[int]]]]:
    found: dict[str, dict[str, tuple[str, set[int]]]] = {}
    for edge in _data(reply)["houses"]["edges"]:
        node = edge["node"]
        for h in node["households"]:
            assert h["house"] == {"code": node["code"]}, (node["code"], h)  # the house then
            found.setdefault(node["code"], {})[h["number"]] = (
                h["kind"].lower(), {_person(m["person"]["id"]) for m in h["members"]})
    return found


def test_house_households_as_of_match_the_replayed_history(
        hh: tuple[ApiWorld, Model, TestClient]) -> None:
    aw, model, client = hh
    county = aw.world.communities[0][:6]
    for day in DAYS:
        expected = model.households_of_houses(day)
        # under an asOf list (nested fields keep the list's day) and on the current houses
        for query in (LISTED, CURRENT):
            got = _households(post(client, aw.tokens["county"], query,
                                   {"d": day.isoformat(), "r": county}))
            assert got == expected, (day, query[:30])


def test_a_move_a_split_and_a_demolition_around_their_days(
        hh: tuple[ApiWorld, Model, TestClient]) -> None:
    aw, model, client = hh
    county = aw.world.communities[0][:6]

    def at(day: dt.date) -> dict[str, dict[str, tuple[str, set[int]]]]:
        return _households(post(client, aw.tokens["county"], CURRENT,
                                {"d": day.isoformat(), "r": county}))

    before, after = (at(ON["demolish"] - dt.timedelta(days=1)), at(ON["demolish"]))
    doomed = model.demolished[0]
    assert before.get(doomed)
    assert doomed not in after
    split_before, split_after = at(ON["split"] - dt.timedelta(days=1)), at(ON["split"])
    numbers = {n for hs in split_after.values() for n in hs}
    assert "S-1" in numbers
    assert "S-1" not in {n for hs in split_before.values() for n in hs}
    assert at(dt.date(2019, 6, 1)) == {}  # before every membership


PERSON = """query($n: String!, $d: Date) { person(idNumber: $n) {
    household(asOf: $d) { number kind house { code } members { person { id } } } } }"""


def test_person_household_as_of_agrees_with_the_houses(
        hh: tuple[ApiWorld, Model, TestClient]) -> None:
    """P.household(asOf D).house(asOf D) = H exactly when that household is among
    H.households(asOf D) with P among its members."""
    aw, model, client = hh
    for day in DAYS:
        for person in sorted(model.involved):
            got = _data(post(client, aw.tokens["county"], PERSON,
                             {"n": aw.world.id_numbers[person], "d": day.isoformat()})
                        )["person"]["household"]
            expected = model.household_of(person, day)
            if expected is None:
                assert got is None, (person, day)
                continue
            number, kind, code = expected
            assert (got["number"], got["kind"].lower()) == (number, kind), (person, day)
            assert got["house"] == (None if code is None else {"code": code}), (person, day)
            members = {_person(m["person"]["id"]) for m in got["members"]}
            assert person in members
            assert members == model.members_on(number, day)


def test_household_house_on_another_day(hh: tuple[ApiWorld, Model, TestClient]) -> None:
    """Household.house(asOf) reads the household's house on that day, not the day it was
    read on; null when the household did not exist then."""
    aw, model, client = hh
    mover = next(n for n, periods in model.houses.items() if len(periods) > 1
                 and periods[0][1] != periods[-1][1] and model.demolished[0] not in
                 {periods[0][1], periods[-1][1]})
    person = next(p for n, p, _s, _e in model.members if n == mover)
    query = """query($n: String!, $d: Date, $e: Date) { person(idNumber: $n) {
        household(asOf: $d) { number now: house { code } then: house(asOf: $e) { code } } } }"""
    before = ON["move"] - dt.timedelta(days=1)
    got = _data(post(client, aw.tokens["county"], query,
                     {"n": aw.world.id_numbers[person], "d": TODAY.isoformat(),
                      "e": before.isoformat()}))["person"]["household"]
    assert got["number"] == mover
    assert got["now"] == {"code": model.at(mover, TODAY)[0]}
    assert got["then"] == {"code": model.at(mover, before)[0]}


def test_other_county_sees_no_household_on_any_day(
        hh: tuple[ApiWorld, Model, TestClient]) -> None:
    aw, model, client = hh
    county = aw.world.communities[0][:6]
    for day in DAYS:
        got = _data(post(client, aw.tokens["other_county"], CURRENT,
                         {"d": day.isoformat(), "r": county}))
        assert got["houses"]["edges"] == []
        for person in sorted(model.involved)[:3]:
            reply = _data(post(client, aw.tokens["other_county"], PERSON,
                               {"n": aw.world.id_numbers[person], "d": day.isoformat()}))
            assert reply["person"] is None or reply["person"]["household"] is None
