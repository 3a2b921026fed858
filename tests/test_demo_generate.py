"""The demo generator: real Jiaxing regions, valid fictitious persons, dirt that imports."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.demo.generate_demo import DEMO_TODAY, REGISTER_HEADER, generate_demo
from cimhouse.demo.places import jiaxing_communities
from cimhouse.idnumber import parse_id_number
from cimhouse.importers.register.import_register import import_register
from cimhouse.programme.project_rows import DATE_HEADERS
from cimhouse.schema.vocab import FacilityCategory
from tests.helpers.keys import VAULT


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate_demo(out, houses=600, seed=11)
    return out


def test_same_seed_same_files(clean: Path, tmp_path: Path) -> None:
    generate_demo(tmp_path, houses=600, seed=11)
    for name in ("register.csv", "estates.geojson", "buildings.geojson", "facilities.csv"):
        assert (tmp_path / name).read_bytes() == (clean / name).read_bytes(), name


def test_register_persons_are_valid_and_varied(clean: Path) -> None:
    with (clean / "register.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0].keys()) == REGISTER_HEADER
    ids = {row["公民身份号码"] for row in rows}
    ages = {i: (DEMO_TODAY - parse_id_number(i, today=DEMO_TODAY).birth_date).days // 365
            for i in ids}
    by_house: dict[str, list[str]] = {}
    for row in rows:
        if row["人房关系"] == "常住":
            by_house.setdefault(row["房屋坐落"], []).append(row["公民身份号码"])
    alone_elderly = [h for h, people in by_house.items()
                     if len(people) == 1 and ages[people[0]] >= 70]
    with_toddlers = [h for h, people in by_house.items() if any(ages[p] < 3 for p in people)]
    assert alone_elderly
    assert with_toddlers
    assert {row["人房关系"] for row in rows} == {"产权", "户籍", "常住", "租住"}
    assert all(row["房屋坐落"].startswith("浙江省嘉兴市") for row in rows)


def test_geometry_and_facilities(clean: Path) -> None:
    estates = json.loads((clean / "estates.geojson").read_text("utf-8"))
    buildings = json.loads((clean / "buildings.geojson").read_text("utf-8"))
    assert estates["features"]
    assert buildings["features"]
    ring = buildings["features"][0]["geometry"]["coordinates"][0][0]
    assert ring[0] == ring[-1]
    assert 120 < ring[0][0] < 122
    assert 30 < ring[0][1] < 31.2
    with (clean / "facilities.csv").open(encoding="utf-8") as handle:
        categories = Counter(row["category"] for row in csv.DictReader(handle))
    assert set(categories) == {c.value for c in FacilityCategory}


def test_programme_covers_streets_levels_and_statuses(clean: Path) -> None:
    with (clean / "projects.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    streets = {c.code[:9] for c in jiaxing_communities()}
    with_projects = {r["牵头街道"] for r in rows}
    assert with_projects < streets  # some streets have none
    assert {r["级别"] for r in rows} == {"省级", "市级"}
    last = Counter(next((h for h in reversed(DATE_HEADERS.values()) if r[h]), "") for r in rows)
    assert set(last) == set(DATE_HEADERS.values())  # every status


def test_messy_register_imports_with_exactly_the_bad_rows_rejected(
        session: Session, tmp_path: Path) -> None:
    summary = generate_demo(tmp_path, houses=400, seed=5, messy=True)
    raw = (tmp_path / "register.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert summary.dirt["bad_checksum"] > 0
    assert summary.dirt["duplicate_rows"] > 0
    result = import_register(session, tmp_path / "register.csv", vault=VAULT,
                             report_path=tmp_path / "rejects.csv")
    assert result.encoding == "gb18030"
    assert result.header_line == 3
    assert result.read == summary.register_rows
    assert result.accepted + result.rejected == result.read
    assert result.rejected == summary.rejected_expected, result.reasons
    assert result.blank_lines == summary.dirt["blank_lines"]
    assert result.repeated_headers == summary.dirt["stray_headers"]
    assert result.counts["houses_added"] == summary.houses
    assert result.unknown_columns == ["备注", "民族"]
    houses = session.execute(text("SELECT count(*), count(area_m2), count(realestate_unit_no), "
                                  "count(location), count(*) FILTER (WHERE ST_Intersects(location, "
                                  "ST_MakeEnvelope(120.3, 30.2, 121.3, 31.1, 4490))) FROM house")
                             ).one()
    assert houses[0] == houses[1] == summary.houses
    assert houses[2] > 0
    assert houses[3] == houses[4] == summary.houses  # a CGCS2000 point in Jiaxing each


def test_footprints_attach_to_registered_buildings(session: Session, clean: Path) -> None:
    from cimhouse.importers.register.attach_footprints import attach_footprints

    import_register(session, clean / "register.csv", vault=VAULT)
    result = attach_footprints(session, clean / "buildings.geojson")
    assert result.rejected == []
    assert result.updated == result.read > 0
    with_footprint = session.scalar(text(
        "SELECT count(*) FROM building WHERE ST_IsValid(footprint) AND floors_above > 0"))
    assert with_footprint == result.read
    again = attach_footprints(session, clean / "buildings.geojson")
    assert (again.updated, again.unchanged) == (0, result.read)


def test_each_address_names_one_house_even_with_many_village_groups(tmp_path: Path) -> None:
    """Regression: ``--houses 6000 --seed 21`` gave 2,392 conflicting register rows.

    Two causes, both fixed: a village house (single-family building) was written once per
    floor, each floor a house of the same address (1组10号) with its own area; and the
    estates cycle over the chosen communities while a village named its group
    ``index % 9 + 1``: with 9 communities, estates 8 and 17 both became 9组 of one village.
    """
    generate_demo(tmp_path, houses=6000, seed=21)
    with (tmp_path / "register.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    areas: dict[str, set[str]] = {}
    for row in rows:
        areas.setdefault(row["房屋坐落"], set()).add(row["建筑面积"])
    shared = {address for address, seen in areas.items() if len(seen) > 1}
    assert not shared, sorted(shared)[:3]


def test_demo_households_import_without_a_rejected_row(session: Session, clean: Path) -> None:
    """Couples, children, grandparents, collective households and 人户分离 all import."""
    result = import_register(session, clean / "register.csv", vault=VAULT)
    assert result.rejected == 0, result.reasons
    assert result.counts["households_added"] > 0
    relations: dict[str, int] = dict(session.execute(text(
        "SELECT relation, count(*) FROM household_member GROUP BY relation")).all())
    assert {"head", "spouse", "son", "daughter"} <= set(relations)
    assert relations.keys() & {"father", "mother"}
    assert relations.get("other", 0) > 0
    kinds: dict[str, int] = dict(session.execute(text(
        "SELECT kind, count(*) FROM household GROUP BY kind")).all())
    assert kinds.get("collective", 0) > 0
    assert kinds["family"] > kinds["collective"]
    # registered at one house, living at another
    # (the residents first: their relations lie in any county, and Citus joins distributed
    # tables only on county; a CTE's rows it can ship to every shard)
    apart = session.scalar(text("""
        WITH resident AS MATERIALIZED (
            SELECT person_id, county, house_id FROM person_house WHERE relation = 'resident')
        SELECT count(DISTINCT h.id) FROM household h
        JOIN household_member m ON m.county = h.county AND m.household_id = h.id
        JOIN resident ph ON ph.person_id = m.person_id
        WHERE (ph.county, ph.house_id) <> (h.county, h.house_id)"""))
    assert apart > 0
    # the same file again changes nothing
    again = import_register(session, clean / "register.csv", vault=VAULT)
    assert again.counts["households_added"] == again.counts["members_added"] == 0
