"""assign_codes on a real database: structure, ordering, idempotence, registry, dry run."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.checksum import mod11_2
from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.house_code import decode, is_valid
from cimhouse.errors import InvalidInput
from cimhouse.schema import Job
from tests.helpers.coding_world import (
    COMMUNITY,
    COMMUNITY_2,
    OTHER_COUNTY_COMMUNITY,
    add_buildings,
    add_houses,
    all_codes,
    build_world,
)


def test_codes_every_object_with_valid_structured_codes(session: Session) -> None:
    counts = build_world(session)
    result = assign_codes(session, COMMUNITY, actor="tester")
    assert (result.estates, result.buildings, result.houses) == (
        counts["estates"], counts["buildings"], counts["houses"])
    codes = all_codes(session)
    for table, values in codes.items():
        assert all(code is not None and is_valid(code) for code in values), table
        assert {decode(code).object_kind for code in values if code} == {table}
    estates: dict[str, str] = dict(session.execute(text("SELECT name, code FROM estate")).all())
    assert estates == {"小区A": COMMUNITY + "001" + "0" * 9 + mod11_2(COMMUNITY + "001" + "0" * 9),
                       "小区B": COMMUNITY + "002" + "0" * 9 + mod11_2(COMMUNITY + "002" + "0" * 9)}
    # buildings were inserted 3幢, 2幢, 1幢: numbered by label, not by insertion order
    rows = session.execute(text(
        "SELECT b.building_label, b.code, e.code FROM building b "
        "LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id "
        "WHERE e.name = '小区A' OR b.estate_id IS NULL")).all()
    for label, code, estate_code in rows:
        if estate_code:
            assert code[:15] == estate_code[:15]
            assert int(code[15:19]) == int(label.rstrip("幢"))
        else:
            assert code[:15] == COMMUNITY + "000"
            assert code[15:19] == "0001"
    # houses inserted in reverse room order: numbered unit, floor, room
    first_building = session.execute(text(
        "SELECT h.room_label, h.code FROM house h JOIN building b "
        "ON b.county = h.county AND b.id = h.building_id "
        "WHERE b.code LIKE :p ORDER BY h.code"), {"p": COMMUNITY + "0010001%"}).all()
    assert [label for label, _ in first_building] == [
        "101室", "102室", "201室", "202室", "301室", "302室"]
    assert all(code[:19] == first_building[0][1][:19] for _, code in first_building)


def test_registry_lineage_counters_and_job(session: Session) -> None:
    counts = build_world(session, estates=1, buildings=2)
    result = assign_codes(session, "330402", actor="tester")
    total = sum(counts.values())
    assert session.execute(text("SELECT count(*) FROM code_registry")).scalar() == total
    assert session.execute(text(
        "SELECT count(*) FROM code_lineage WHERE event = 'issue' AND actor = 'tester' "
        "AND job_id = :j AND parent_code IS NULL"), {"j": result.job_id}).scalar() == total
    assert session.execute(text(
        "SELECT count(*) FROM code_registry r JOIN house h ON h.county = r.county "
        "AND h.code = r.code "
        "AND h.id = r.object_id AND r.object_kind = 'house'")).scalar() == counts["houses"]
    assert session.execute(text(
        "SELECT last_number FROM code_counter WHERE prefix = :p"),
        {"p": COMMUNITY}).scalar() == 1
    job = session.get(Job, result.job_id)
    assert job is not None
    assert job.status == "succeeded"
    assert job.requested_by == "tester"
    assert job.counts["houses"] == counts["houses"]
    assert job.finished_at is not None
    assert job.scope_code == "330402"
    assert job.kind == "code_assignment"


def test_idempotent_and_continues_numbering(session: Session) -> None:
    build_world(session, estates=1, buildings=2)
    assign_codes(session, COMMUNITY, actor="t")
    before = all_codes(session)
    again = assign_codes(session, COMMUNITY, actor="t")
    assert again.issued == 0
    assert all_codes(session) == before
    # new objects later: numbers continue after the highest issued, old codes untouched
    estate_id = session.execute(text("SELECT id FROM estate")).scalar_one()
    (new_building,) = add_buildings(session, COMMUNITY, estate_id, ["1幢"])  # same label
    add_houses(session, COMMUNITY, new_building, 1, 1)
    old_building = session.execute(text(
        "SELECT id FROM building WHERE code LIKE :p"),
        {"p": COMMUNITY + "0010001%"}).scalar_one()
    add_houses(session, COMMUNITY, old_building, 1, 1)
    third = assign_codes(session, COMMUNITY, actor="t")
    assert (third.buildings, third.houses) == (1, 2)
    new_code = session.execute(text("SELECT code FROM building WHERE id = :i"),
                               {"i": new_building}).scalar_one()
    assert new_code[15:19] == "0003"
    newest_house = session.execute(text(
        "SELECT code FROM house WHERE building_id = :b ORDER BY code DESC LIMIT 1"),
        {"b": old_building}).scalar_one()
    assert newest_house[19:24] == "00007"  # after the 6 houses of the first run
    for table, codes in before.items():
        assert all_codes(session)[table][:len(codes)] == codes


def test_scope_limits_work_and_pulls_in_parents(session: Session) -> None:
    build_world(session, COMMUNITY, estates=1, buildings=1)
    build_world(session, COMMUNITY_2, estates=1, buildings=1)
    build_world(session, OTHER_COUNTY_COMMUNITY, estates=1, buildings=1)
    result = assign_codes(session, COMMUNITY_2, actor="t")
    assert result.counties == ["330402"]
    coded = session.execute(text(
        "SELECT DISTINCT region_code FROM house WHERE code IS NOT NULL")).scalars().all()
    assert coded == [COMMUNITY_2]
    # an estate scope codes the estate's buildings and houses only
    estate_code = session.execute(text(
        "SELECT code FROM estate WHERE region_code = :c"), {"c": COMMUNITY_2}).scalar_one()
    (building_id,) = add_buildings(session, COMMUNITY_2, None, ["9号"])
    estate_id = session.execute(text("SELECT id FROM estate WHERE code = :e"),
                                {"e": estate_code}).scalar_one()
    session.execute(text("UPDATE building SET estate_id = :s WHERE id = :b"),
                    {"s": estate_id, "b": building_id})
    add_houses(session, COMMUNITY_2, building_id, 1, 1)
    by_estate = assign_codes(session, estate_code, actor="t")
    assert (by_estate.estates, by_estate.buildings, by_estate.houses) == (0, 1, 1)
    # a house scope reaches into an uncoded building outside the scope's buildings
    other = assign_codes(session, "330411", actor="t")
    assert other.counties == ["330411"]
    assert other.houses > 0


def test_dry_run_writes_nothing_but_the_job(session: Session) -> None:
    counts = build_world(session, estates=1, buildings=1)
    result = assign_codes(session, "3304", actor="t", dry_run=True)
    assert result.houses == counts["houses"]
    assert result.dry_run
    assert session.execute(text("SELECT count(*) FROM house WHERE code IS NOT NULL")).scalar() == 0
    assert session.execute(text("SELECT count(*) FROM code_registry")).scalar() == 0
    job = session.get(Job, result.job_id)
    assert job is not None
    assert job.counts["dry_run"] is True


def test_deterministic_across_databases(session: Session) -> None:
    build_world(session, estates=2, buildings=2)
    assign_codes(session, COMMUNITY, actor="a")
    first = all_codes(session)
    session.execute(text("DELETE FROM code_lineage; DELETE FROM code_registry; "
                         "DELETE FROM code_counter; UPDATE house SET code = NULL; "
                         "UPDATE building SET code = NULL; UPDATE estate SET code = NULL"))
    assign_codes(session, "33", actor="b")
    assert all_codes(session) == first


def test_progress_reports_and_bad_scope(session: Session) -> None:
    counts = build_world(session, estates=1, buildings=1)
    seen: list[tuple[str, int, int]] = []
    assign_codes(session, COMMUNITY, actor="t", on_progress=lambda *a: seen.append(a))
    assert seen[-1] == ("houses", counts["houses"], counts["houses"])
    with pytest.raises(InvalidInput):
        assign_codes(session, "3304020", actor="t")
