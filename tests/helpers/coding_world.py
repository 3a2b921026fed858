"""Builders of small uncoded worlds for the house-code tests (no tests here).

Everything is inserted with set-based SQL, so a world of thousands of houses takes
milliseconds. Real community codes of Jiaxing (330402 南湖区, 330411 秀洲区) are used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

COMMUNITY = "330402007024"  # 百福弄社区居委会
COMMUNITY_2 = "330402007029"  # 瓶山社区居委会
OTHER_COUNTY_COMMUNITY = "330411002001"


def add_estate(db: Session | Connection, community: str, name: str) -> int:
    return int(db.execute(text(
        "INSERT INTO estate (county, name, region_code, kind, status) "
        "VALUES (left(:c, 6), :n, :c, 'commodity', 'in_use') "
        "RETURNING id"), {"c": community, "n": name}).scalar_one())


def add_buildings(db: Session | Connection, community: str, estate_id: int | None,
                  labels: list[str]) -> list[int]:
    ids = []
    for label in labels:
        ids.append(int(db.execute(text(
            "INSERT INTO building (county, estate_id, region_code, building_label, status) "
            "VALUES (left(:c, 6), :e, :c, :l, 'in_use') RETURNING id"),
            {"c": community, "e": estate_id, "l": label}).scalar_one()))
    return ids


def add_houses(db: Session | Connection, community: str, building_id: int, floors: int,
               per_floor: int) -> int:
    """Houses 101.., 201.. in unit 1, inserted in *reverse* order (ids do not follow rooms)."""
    result: Any = db.execute(text("""
        INSERT INTO house (county, building_id, region_code, unit_label, floor_number,
                           room_label, use, status)
        SELECT left(:c, 6), :b, :c, '1单元', f, (f * 100 + r)::text || '室', 'residential',
               'in_use'
        FROM generate_series(:floors, 1, -1) AS f, generate_series(:per, 1, -1) AS r"""),
        {"c": community, "b": building_id, "floors": floors, "per": per_floor})
    return int(result.rowcount)


def build_world(db: Session | Connection, community: str = COMMUNITY, *, estates: int = 2,
                buildings: int = 3, floors: int = 3, per_floor: int = 2,
                scattered: int = 1) -> dict[str, int]:
    """``estates`` estates of ``buildings`` buildings, plus ``scattered`` estate-less ones."""
    counts = {"estates": 0, "buildings": 0, "houses": 0}
    for index in range(estates):
        estate_id = add_estate(db, community, f"小区{chr(0x41 + index)}")
        counts["estates"] += 1
        labels = [f"{n}幢" for n in range(buildings, 0, -1)]
        for building_id in add_buildings(db, community, estate_id, labels):
            counts["buildings"] += 1
            counts["houses"] += add_houses(db, community, building_id, floors, per_floor)
    for building_id in add_buildings(db, community, None,
                                     [f"{n}号" for n in range(1, scattered + 1)]):
        counts["buildings"] += 1
        counts["houses"] += add_houses(db, community, building_id, 1, 2)
    return counts


def all_codes(db: Session | Connection) -> dict[str, list[str | None]]:
    return {table: [row[0] for row in db.execute(text(f"SELECT code FROM {table} ORDER BY id"))]
            for table in ("estate", "building", "house")}
