"""What retire, split and merge do to the residents (issue 11, item 8): relations end or
move with the lineage, every change is logged, a retired house takes no new relation (the
same rule for GraphQL and the register import) and the analyses leave retired houses out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cimhouse.api.app import create_app
from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.house_relations import require_open_house, retired_house_sql
from cimhouse.coding.merge_houses import merge_houses
from cimhouse.coding.retire_house import retire_house
from cimhouse.coding.split_house import split_house
from cimhouse.db import session_scope
from cimhouse.errors import Conflict, InvalidInput
from cimhouse.graphql.statistics import compute_statistics
from cimhouse.idnumber import make_id_number
from cimhouse.importers.register.import_register import import_register
from cimhouse.schema import ChangeLog, House, Person, PersonHouse
from cimhouse.scope import parse_scope
from cimhouse.services.elderly import list_elderly_living_alone
from cimhouse.services.gaps import count_estate_population
from cimhouse.settings import Settings
from tests.helpers.coding_world import COMMUNITY, build_world
from tests.helpers.graphql_world import ApiWorld, post
from tests.helpers.keys import VAULT
from tests.helpers.register_rows import write_csv

OLD = dt.date(1940, 1, 1)


def _houses(session: Session) -> list[House]:
    build_world(session, estates=1, buildings=1, floors=1, per_floor=4, scattered=0)
    assign_codes(session, COMMUNITY, actor="setup")
    return list(session.scalars(select(House).order_by(House.code)))


def _person(session: Session, key: str, birth: dt.date = OLD) -> Person:
    person = Person(name=f"王{key}", id_hash=key.encode().ljust(32, b"."), id_cipher=b"x",
                    id_masked="x", birth_date=birth)
    session.add(person)
    session.flush()
    return person


def _live(session: Session, person: Person, house: House, relation: str = "resident",
          valid_to: dt.date | None = None) -> PersonHouse:
    row = PersonHouse(county=house.county, house_id=house.id, person_id=person.id,
                      relation=relation, valid_to=valid_to, source="register",
                      attributes={"民族": "汉"})
    session.add(row)
    session.flush()
    return row


def _current(session: Session, house: House) -> list[tuple[int, str]]:
    return sorted(session.execute(text(
        "SELECT person_id, relation FROM person_house WHERE county = :c AND house_id = :h "
        "AND (valid_to IS NULL OR valid_to > current_date)"),
        {"c": house.county, "h": house.id}).all())


def _log(session: Session, source: str) -> list[ChangeLog]:
    return list(session.scalars(select(ChangeLog).where(
        ChangeLog.object_kind == "person_house", ChangeLog.source == source)
        .order_by(ChangeLog.id)))


def test_retire_ends_current_relations_and_logs_them(session: Session) -> None:
    houses = _houses(session)
    a, b = _person(session, "a"), _person(session, "b")
    _live(session, a, houses[0])
    _live(session, b, houses[0], "owner")
    ended_before = _live(session, b, houses[0], "tenant", valid_to=dt.date(2020, 1, 1))
    _live(session, a, houses[1])  # another house: untouched
    retire_house(session, houses[0].code or "", "demolished", actor="alice", reason="拆除")
    assert _current(session, houses[0]) == []
    assert _current(session, houses[1]) == [(a.id, "resident")]
    today = session.scalar(text("SELECT current_date"))
    log = _log(session, "retire_house")
    assert len(log) == 2
    assert all(r.actor == "alice" and r.operation == "update" for r in log)
    for r in log:
        assert r.previous is not None
        assert r.current is not None
        assert r.previous["valid_to"] is None
        assert r.current["valid_to"] == today.isoformat()
    assert log[0].current is not None
    assert "demolished: 拆除" in log[0].current["note"]
    assert ended_before.valid_to == dt.date(2020, 1, 1)  # history stays as it was


def test_merge_moves_relations_to_the_new_house(session: Session) -> None:
    houses = _houses(session)
    a, b, c = _person(session, "a"), _person(session, "b"), _person(session, "c")
    lease_end = dt.date.today() + dt.timedelta(days=300)
    _live(session, a, houses[0], "owner")
    _live(session, a, houses[1], "owner")  # one owner of both: owns the merged house once
    _live(session, b, houses[1], "tenant", valid_to=lease_end)
    _live(session, c, houses[2])  # not merged
    new_code = merge_houses(session, [houses[0].code or "", houses[1].code or ""],
                            actor="bob")
    merged = session.scalars(select(House).where(House.code == new_code)).one()
    assert _current(session, houses[0]) == []
    assert _current(session, houses[1]) == []
    assert _current(session, merged) == sorted([(a.id, "owner"), (b.id, "tenant")])
    lease = session.scalars(select(PersonHouse).where(
        PersonHouse.house_id == merged.id, PersonHouse.relation == "tenant")).one()
    assert lease.valid_to == lease_end
    assert lease.source == "register"
    assert lease.attributes == {"民族": "汉"}
    log = _log(session, "merge_houses")
    assert sorted(r.operation for r in log) == ["insert", "insert", "update", "update",
                                                "update"]
    assert any(r.current is not None and r.current["note"] == f"moved from {houses[1].code}"
               for r in log)
    assert _current(session, houses[2]) == [(c.id, "resident")]


def test_split_ends_relations_or_moves_them_to_the_named_part(session: Session) -> None:
    houses = _houses(session)
    a, b = _person(session, "a"), _person(session, "b")
    _live(session, a, houses[0])
    _live(session, b, houses[1])
    parts = split_house(session, houses[0].code or "", 2, actor="carol")
    assert _current(session, houses[0]) == []
    part_houses = [session.scalars(select(House).where(House.code == c)).one() for c in parts]
    assert all(_current(session, h) == [] for h in part_houses)
    assert len(_log(session, "split_house")) == 1
    with pytest.raises(InvalidInput):
        split_house(session, houses[1].code or "", 2, actor="carol", relations_to=3)
    parts = split_house(session, houses[1].code or "", 3, actor="carol", relations_to=2)
    second = session.scalars(select(House).where(House.code == parts[1])).one()
    assert _current(session, houses[1]) == []
    assert _current(session, second) == [
        (b.id, "resident")]


def test_retired_house_takes_no_new_relation(session: Session) -> None:
    houses = _houses(session)
    retire_house(session, houses[0].code or "", "registered_in_error", actor="a", reason="重复")
    merge_houses(session, [houses[1].code or "", houses[2].code or ""], actor="a")
    for house in houses[:3]:
        session.refresh(house)
        with pytest.raises(Conflict, match="is retired"):
            require_open_house(session, house)
    require_open_house(session, houses[3])
    retired = session.execute(text(
        f"SELECT h.code FROM house h WHERE {retired_house_sql('h')} ORDER BY h.code")).scalars()
    assert list(retired) == [h.code for h in houses[:3]]


def test_analyses_leave_retired_houses_out(session: Session) -> None:
    houses = _houses(session)
    alone = [_person(session, f"p{i}") for i in range(4)]
    for person, house in zip(alone, houses, strict=True):
        _live(session, person, house)
    scope = parse_scope(COMMUNITY)
    as_of = dt.date.today()

    def elderly() -> list[str | None]:
        return [p.house_code for p in list_elderly_living_alone(session, scope, as_of=as_of)]

    def population() -> int:
        return sum(v["everyone"] for v in count_estate_population(session, scope,
                                                                   as_of=as_of).values())

    assert len(elderly()) == 4
    assert population() == 4
    stats = compute_statistics(session, scope, "33", None, as_of)
    assert (stats.persons, stats.occupied_houses) == (4, 4)
    retire_house(session, houses[0].code or "", "demolished", actor="a", reason="拆除")
    merged = merge_houses(session, [houses[1].code or "", houses[2].code or ""], actor="a")
    # the merged house now has two residents: nobody there lives alone
    assert elderly() == [houses[3].code]
    assert population() == 3
    stats = compute_statistics(session, scope, "33", None, as_of)
    assert (stats.persons, stats.occupied_houses) == (3, 2)
    # relations left current on a retired house (written before this rule) count nowhere
    _live(session, _person(session, "ghost"), houses[0])
    assert elderly() == [houses[3].code]
    assert population() == 3
    assert merged not in elderly()


ADDRESS = "浙江省嘉兴市南湖区建设街道百福弄社区居委会梅花苑小区3幢2单元{room}室"


def _id(n: int) -> str:
    return make_id_number("330402", dt.date(1950, 3, 1), n, "F")


def test_register_import_rejects_rows_on_retired_houses(session: Session,
                                                        tmp_path: Path) -> None:
    rows = [[ADDRESS.format(room=room), f"张{n}", _id(n), "", "常住", "80", "住宅", "汉"]
            for n, room in ((11, "501"), (12, "502"), (13, "503"), (14, "504"))]
    header = ["房屋坐落", "姓名", "公民身份号码", "手机", "人房关系", "建筑面积", "用途", "民族"]
    first = import_register(session, write_csv(tmp_path / "a.csv", rows, header), vault=VAULT)
    assert first.accepted == 4
    assign_codes(session, COMMUNITY, actor="setup")
    by_room = {h.room_label: h for h in session.scalars(select(House))}
    retire_house(session, by_room["501"].code or "", "demolished", actor="a", reason="拆除")
    merged_code = merge_houses(session, [by_room["502"].code or "",
                                         by_room["503"].code or ""], actor="a")
    merged = session.scalars(select(House).where(House.code == merged_code)).one()
    houses_before = session.scalar(text("SELECT count(*) FROM house"))
    # the same register again, and a move-in to the demolished house
    again = [*rows, [ADDRESS.format(room="501"), "新住户", _id(15), "", "租住", "", "", ""]]
    report = tmp_path / "rejects.csv"
    result = import_register(session, write_csv(tmp_path / "b.csv", again, header),
                             vault=VAULT, report_path=report)
    # 501 and 503 name retired houses; 502's row names the merged house (it kept 502's
    # address) but would set back the room and area the merge gave it, a lifecycle edit
    # newer than the file: rejected too (docs/register-import.md, issue 11 item 10)
    assert (result.read, result.accepted, result.rejected) == (5, 1, 4), report.read_text()
    text_of_report = report.read_text(encoding="utf-8-sig")
    assert "房屋已注销" in text_of_report
    assert "the house is retired" in text_of_report
    assert f"house edited after the file's data: house {merged_code}" in text_of_report
    session.refresh(merged)
    assert (merged.room_label, str(merged.area_m2)) == ("502+503", "160.00")
    assert (by_room["501"].code or "?") in text_of_report
    assert session.scalar(text("SELECT count(*) FROM house")) == houses_before  # no new house
    assert _current(session, by_room["501"]) == []
    # 502's resident moved to the merged house with the merge; 503's names only a retired one
    tenant = session.scalars(select(Person).where(Person.name == "张12")).one()
    assert (tenant.id, "resident") in _current(session, merged)
    assert _current(session, by_room["503"]) == []
    assert _current(session, by_room["504"]) != []


def test_graphql_move_in_to_a_retired_house_is_a_conflict(aw: ApiWorld,
                                                          test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    houses = [c for c, o in aw.world.objects.items()
              if o.kind == "house" and o.estate_code == aw.world.estates[0]]
    number = next(iter(aw.world.id_numbers.values()))
    upsert = """mutation($i: RelationInput!) { upsertPersonHouseRelation(input: $i) {
        __typename ... on RelationPayload { created }
        ... on UserError { message code } } }"""

    def move_in(code: str) -> dict[str, str]:
        variables = {"i": {"houseCode": code, "relation": "TENANT", "idNumber": number}}
        reply = post(client, aw.tokens["estate"], upsert, variables)
        assert "errors" not in reply, reply
        return reply["data"]["upsertPersonHouseRelation"]  # type: ignore[no-any-return]

    with session_scope(aw.engine) as session:
        retire_house(session, houses[0], "demolished", actor="ops", reason="拆除")
        merge_houses(session, houses[1:3], actor="ops")
    for code in houses[:3]:
        refused = move_in(code)
        assert refused["__typename"] == "ConflictError"
        assert "retired" in refused["message"]
    assert move_in(houses[3])["__typename"] == "RelationPayload"
