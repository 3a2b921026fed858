"""Scope parsing and the SQL predicates that enforce scopes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cimhouse.checksum import mod11_2
from cimhouse.errors import InvalidInput
from cimhouse.schema import Building, Estate, Facility, House, PersonHouse, Region, Space, Storey
from cimhouse.scope import (
    county_keys,
    parse_scope,
    prefix_range,
    scope_filter,
    with_county_keys,
)
from cimhouse.services.sql import scope_sql


def estate_code(community: str, number: int) -> str:
    body = f"{community}{number:03d}000000000"
    return body + mod11_2(body)


@pytest.mark.parametrize(("raw", "level"), [
    ("33", 1), ("3304", 2), ("330402", 3), ("330402007", 4), ("330402007024", 5),
])
def test_region_levels(raw: str, level: int) -> None:
    assert parse_scope(raw).level == level


def test_estate_scope_accepts_display_form() -> None:
    code = estate_code("330402007024", 1)
    display = f"{code[:12]}-{code[12:15]}-{code[15:19]}-{code[19:24]}-{code[24]}"
    scope = parse_scope(display.replace("0", "０", 1))
    assert scope.level == 6
    assert scope.code == code
    assert scope.region_prefix == code[:12]


@pytest.mark.parametrize("raw", ["3", "33040", "abc", "3304020070240010000000000",
                                 estate_code("330402007024", 1)[:-1] + "X"])
def test_bad_scopes(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_scope(raw)


def test_covers() -> None:
    assert parse_scope("3304").covers_scope(parse_scope("330402007024"))
    assert not parse_scope("3305").covers_scope(parse_scope("330402"))
    est = parse_scope(estate_code("330402007024", 1))
    assert parse_scope("330402").covers_scope(est)
    assert not est.covers_scope(parse_scope("33"))


def test_prefix_range_selects_exactly_the_prefix(session: Session) -> None:
    for prefix in ("33", "3304", "330402", "330402007"):
        by_range = session.scalar(select(func.count()).select_from(Region)
                                  .where(prefix_range(Region.code12, prefix)))
        by_like = session.scalar(select(func.count()).select_from(Region)
                                 .where(Region.code12.startswith(prefix)))
        assert by_range == by_like
        assert by_range


def test_scope_filter_on_objects(session: Session) -> None:
    def add_estate(community: str, number: int) -> tuple[Estate, House]:
        est = Estate(county=community[:6], name=f"小区{number}", region_code=community,
                     code=estate_code(community, number))
        session.add(est)
        session.flush()
        bld = Building(county=est.county, estate_id=est.id, region_code=community)
        session.add(bld)
        session.flush()
        house = House(county=est.county, building_id=bld.id, region_code=community)
        session.add(house)
        session.flush()
        return est, house

    est_a, house_a = add_estate("330402007024", 1)
    est_b, house_b = add_estate("330411002001", 2)

    def ids(model: type[House | Estate | Building | PersonHouse], code: str) -> set[int]:
        return set(session.scalars(select(model.id).where(scope_filter(model, parse_scope(code)))))

    assert ids(House, "330402") == {house_a.id}
    assert ids(House, "3304") >= {house_a.id, house_b.id}
    assert ids(House, est_b.code or "") == {house_b.id}
    assert ids(Estate, est_a.code or "") == {est_a.id}
    assert ids(Building, "330411002")
    assert not ids(Building, "330421")
    assert ids(PersonHouse, "3304") == set()
    assert session.scalars(select(Region.code).where(
        scope_filter(Region, parse_scope(est_a.code or "")))).all() == []


def test_county_keys_follow_region_changes() -> None:
    # a county renumbered (330402 -> 330498), then one of its communities moved to 330499
    moves = {"330402": "330498", "330498007024": "330499001001"}
    assert county_keys(parse_scope("330498"), moves) == ("330402", "330498")
    assert county_keys(parse_scope("330499"), moves) == ("330402", "330498", "330499")
    assert county_keys(parse_scope("330499001001"), moves) == ("330402", "330498", "330499")
    assert county_keys(parse_scope("330481"), moves) == ("330481",)
    assert county_keys(parse_scope("3304"), moves) == ()


def test_county_predicate_keeps_objects_moved_across_counties(session: Session) -> None:
    """The county predicate (for Citus routing) must not lose objects whose region moved to
    another county: their ``county`` stays the old one."""
    from cimhouse.coding.apply_region_changes import apply_region_changes
    from tests.helpers.coding_world import build_world

    build_world(session, estates=1, buildings=1, floors=1, per_floor=2, scattered=0)
    apply_region_changes(session, {"330402": "330498"}, dt.date(2027, 1, 1), actor="t")
    scope = with_county_keys(session, parse_scope("330498"))
    assert scope.county_keys == ("330402", "330498")
    assert "county" in str(scope_filter(House, scope))
    found = session.scalar(select(func.count()).select_from(House)
                           .where(scope_filter(House, scope)))
    assert found == 2
    assert with_county_keys(session, parse_scope("330402")).county_keys == ("330402",)


@pytest.mark.parametrize("model", [Building, Storey, Space, House, Facility, PersonHouse])
def test_scope_sql_subqueries_correlate_with_the_scoped_table(model: Any) -> None:
    """Compiled alone, an estate scope's EXISTS listed the scoped table again in its own FROM
    (``FROM building AS building_1, house, estate``): a cross join with every row, slow on
    PostgreSQL and refused by Citus ("complex joins are only supported ...")."""
    table = model.__table__.name
    for code in ("3304020070240010000000001", "330402007"):
        sql = scope_sql(model, replace(parse_scope(code), county_keys=("330402",)))
        froms = re.findall(r"FROM ([^\n]*)", sql)
        listed = {part.strip().split(" ")[0] for f in froms for part in f.split(",")}
        assert table not in listed, sql
