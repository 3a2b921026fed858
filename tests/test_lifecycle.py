"""Lifecycle operations: retire, split, merge, relabel, region changes, lineage both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.coding.apply_region_changes import apply_region_changes
from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.change_status import change_status
from cimhouse.coding.house_code import decode, display, encode, is_valid
from cimhouse.coding.lineage import lineage
from cimhouse.coding.merge_houses import merge_houses
from cimhouse.coding.relabel_object import relabel_object
from cimhouse.coding.retire_house import retire_house
from cimhouse.coding.split_house import split_house
from cimhouse.errors import Conflict, InvalidInput, NotFound
from cimhouse.schema import House
from cimhouse.scope import parse_scope, scope_filter
from tests.helpers.coding_world import COMMUNITY, build_world


def _coded_world(session: Session) -> list[str]:
    build_world(session, estates=1, buildings=1, floors=2, per_floor=2, scattered=0)
    assign_codes(session, COMMUNITY, actor="setup")
    return list(session.execute(text("SELECT code FROM house ORDER BY code")).scalars())


def _registry_status(session: Session, code: str) -> str:
    return str(session.execute(text("SELECT status FROM code_registry WHERE code = :c"),
                               {"c": code}).scalar_one())


def test_retire_house(session: Session) -> None:
    codes = _coded_world(session)
    house = retire_house(session, display(codes[0]), "demolished", actor="alice",
                         reason="旧改拆除")
    assert house.status == "demolished"
    assert house.code == codes[0]
    assert _registry_status(session, codes[0]) == "retired"
    with pytest.raises(Conflict):
        retire_house(session, codes[0], "demolished", actor="alice", reason="again")
    with pytest.raises(InvalidInput):
        retire_house(session, codes[1], "in_use", actor="alice", reason="x")
    with pytest.raises(NotFound):
        retire_house(session, encode(COMMUNITY, 999, 1, 1), "demolished", actor="a",
                     reason="never issued")
    events = lineage(session, codes[0]).events
    assert [e.event for e in events] == ["issue", "retire"]
    change = session.execute(text(
        "SELECT previous->>'status', current->>'status', actor FROM change_log "
        "WHERE object_id = :c"), {"c": codes[0]}).one()
    assert tuple(change) == ("in_use", "demolished", "alice")


def test_split_then_merge_with_lineage_both_ways(session: Session) -> None:
    codes = _coded_world(session)
    parts = split_house(session, codes[0], 3, actor="bob")
    assert len(parts) == 3
    assert all(is_valid(c) for c in parts)
    assert [decode(c).house_number for c in parts] == [5, 6, 7]  # after the 4 issued
    assert all(c[:19] == codes[0][:19] for c in parts)
    assert _registry_status(session, codes[0]) == "retired"
    labels = session.execute(text("SELECT room_label FROM house WHERE code = ANY(:c) "
                                  "ORDER BY code"), {"c": parts}).scalars().all()
    assert labels == ["101室-1", "101室-2", "101室-3"]
    merged = merge_houses(session, [parts[0], parts[1], codes[1]], actor="carol")
    assert decode(merged).house_number == 8
    for code in (parts[0], parts[1], codes[1]):
        assert _registry_status(session, code) == "retired"
    # lineage: the merged house descends from the original through the split
    up = lineage(session, merged)
    assert {e.parent_code for e in up.ancestors} == {parts[0], parts[1], codes[1], codes[0]}
    assert max(e.depth for e in up.ancestors) == 2
    down = lineage(session, codes[0])
    assert {e.child_code for e in down.descendants} == {*parts, merged}
    assert down.registry["status"] == "retired"
    with pytest.raises(Conflict):
        split_house(session, codes[0], 2, actor="bob")  # retired
    with pytest.raises(InvalidInput):
        split_house(session, codes[2], 1, actor="bob")
    with pytest.raises(InvalidInput):
        merge_houses(session, [codes[2]], actor="bob")
    # never reused: every code ever issued is distinct and still registered
    assert session.execute(text("SELECT count(*) - count(DISTINCT code) FROM code_registry")
                           ).scalar() == 0


def test_merge_rejects_houses_of_different_buildings(session: Session) -> None:
    build_world(session, estates=1, buildings=2, floors=1, per_floor=1, scattered=0)
    assign_codes(session, COMMUNITY, actor="setup")
    codes = session.execute(text("SELECT code FROM house ORDER BY code")).scalars().all()
    with pytest.raises(InvalidInput, match="one building"):
        merge_houses(session, list(codes), actor="x")


def test_relabel_keeps_code_and_logs_previous(session: Session) -> None:
    codes = _coded_world(session)
    house = relabel_object(session, codes[0], actor="dora", room_label="1101室",
                           floor_number=11,
                           realestate_unit_no="330402 001 002 GB00012 F 0003 0101")
    assert isinstance(house, House)
    assert house.code == codes[0]
    assert house.realestate_unit_no == "330402001002GB00012F00030101"
    row = session.execute(text(
        "SELECT previous, current FROM change_log WHERE object_id = :c AND source = 'relabel'"),
        {"c": codes[0]}).one()
    assert row[0]["room_label"] == "101室"
    assert row[1]["room_label"] == "1101室"
    assert [e.event for e in lineage(session, codes[0]).events] == ["issue", "relabel"]
    with pytest.raises(InvalidInput, match="不动产单元号"):
        relabel_object(session, codes[0], actor="d", realestate_unit_no="33040200100")
    with pytest.raises(InvalidInput, match="cannot change"):
        relabel_object(session, codes[0], actor="d", code="x")
    building_code = session.execute(text("SELECT code FROM building")).scalar_one()
    relabel_object(session, building_code, actor="d", building_label="7号楼",
                   ifc_global_id="2O2Fr$t4X7Zf8NOew3FLOH")
    assert session.execute(text("SELECT code FROM building")).scalar_one() == building_code


def test_region_change_moves_objects_not_codes(session: Session) -> None:
    codes = _coded_world(session)
    result = apply_region_changes(session, {COMMUNITY: "330402007099"}, dt.date(2026, 12, 1),
                                  actor="eve", names={"330402007099": "新百福社区"})
    assert (result.regions_added, result.regions_closed) == (1, 1)
    assert result.houses == len(codes)
    assert result.estates == 1
    assert session.execute(text("SELECT code FROM house ORDER BY code")).scalars().all() == codes
    assert session.execute(text("SELECT DISTINCT region_code FROM house")).scalars().all() == [
        "330402007099"]
    new_region = session.execute(text(
        "SELECT name, parent_code, valid_from FROM region WHERE code = '330402007099'")).one()
    assert tuple(new_region) == ("新百福社区", "330402007", dt.date(2026, 12, 1))
    assert session.execute(text("SELECT valid_to FROM region WHERE code = :c"),
                           {"c": COMMUNITY}).scalar() == dt.date(2026, 12, 1)
    # scopes follow the current region; the code still says where it was issued
    assert session.query(House).filter(scope_filter(House, parse_scope("330402007099"))
                                       ).count() == len(codes)
    assert decode(codes[0]).region_code == COMMUNITY
    events = lineage(session, codes[0]).events
    assert events[-1].event == "region_change"
    assert events[-1].effective_date == dt.date(2026, 12, 1)
    # new objects in the new community are coded under its code
    build_world(session, "330402007099", estates=1, buildings=1, floors=1, per_floor=1,
                scattered=0)
    assign_codes(session, "330402007099", actor="x")
    newest = session.execute(text("SELECT max(code) FROM house")).scalar_one()
    assert newest.startswith("330402007099001")


def test_county_level_change_and_bad_input(session: Session) -> None:
    codes = _coded_world(session)
    result = apply_region_changes(session, {"330402": "330498"}, dt.date(2027, 1, 1),
                                  actor="eve")
    assert result.regions_added > 100
    assert result.houses == len(codes)
    assert session.execute(text("SELECT DISTINCT region_code FROM house")).scalar_one() == \
        "330498007024"
    with pytest.raises(InvalidInput, match="does not exist or is already closed"):
        apply_region_changes(session, {"330402": "330497"}, dt.date(2027, 1, 1), actor="e")
    with pytest.raises(InvalidInput, match="same level"):
        apply_region_changes(session, {"330498": "3304"}, dt.date(2027, 1, 1), actor="e")
    with pytest.raises(InvalidInput, match="parent"):
        apply_region_changes(session, {"330498007024": "330498999024"}, dt.date(2027, 1, 1),
                             actor="e")


def test_change_status_through_the_lifecycle(session: Session) -> None:
    codes = _coded_world(session)
    building_code = session.execute(text("SELECT code FROM building")).scalar_one()
    for status in ("planned", "under_construction", "in_use"):
        assert change_status(session, building_code, status, actor="f").status == status
    house = change_status(session, codes[0], "out_of_use", actor="f", reason="空置")
    assert house.status == "out_of_use"
    logged = session.execute(text(
        "SELECT previous->>'status', current->>'reason' FROM change_log "
        "WHERE object_id = :c AND source = 'change_status'"), {"c": codes[0]}).one()
    assert tuple(logged) == ("in_use", "空置")
    with pytest.raises(InvalidInput, match="retire"):
        change_status(session, codes[0], "demolished", actor="f")
    retire_house(session, codes[1], "registered_in_error", actor="f", reason="重复登记")
    with pytest.raises(Conflict):
        change_status(session, codes[1], "in_use", actor="f")
