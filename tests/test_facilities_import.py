"""Facility import: formats, Chinese categories, coordinate systems, placement, idempotency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.crs import transform_point, wgs84_to_gcj02
from cimhouse.errors import InvalidInput
from cimhouse.importers.facilities.import_facilities import import_facilities
from cimhouse.schema import Facility, ImportRun
from cimhouse.settings import Settings
from tests.helpers.services_world import (
    COMMUNITY_A,
    COMMUNITY_B,
    ORIGIN,
    World,
    build_world,
    estate_code,
)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres (see tests/helpers/services_world.py) -> CGCS2000 lon/lat."""
    return transform_point(ORIGIN[0] + x, ORIGIN[1] + y, 4549, 4490)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def world(session: Session, test_settings: Settings) -> World:
    return build_world(session, test_settings)


def imported(session: Session, source: str) -> dict[str, Facility]:
    rows = session.scalars(select(Facility).where(Facility.source == source)).all()
    return {f.name: f for f in rows}


def test_csv_placed_by_boundary_code_and_nearest(session: Session, world: World, tmp_path: Path) -> None:
    in_e1 = lonlat(10, 10)        # inside E1's boundary
    near_e3 = lonlat(2000, 300)   # 250 m from E3's boundary, outside every boundary
    far = lonlat(20000, 20000)    # nothing within 1 km
    gcj = wgs84_to_gcj02(*transform_point(*lonlat(0, 20), 4490, 4326))
    path = write_csv(tmp_path / "fac.csv", [
        "编号,名称,类别,地址,经度,纬度,坐标系,床位,社区代码,开放时间",
        f"A1,阳光托育园,托育,E1路2号,{in_e1[0]},{in_e1[1]},,,,8:00-17:00",
        f"A2,颐养中心,居家养老,,{near_e3[0]},{near_e3[1]},,40,,",
        f"A3,高德菜场,菜场,,{gcj[0]},{gcj[1]},GCJ02,,,",
        f"A4,远处卫生站,卫生服务站,,{far[0]},{far[1]},,,,",
        "A5,无坐标警务室,警务,某路1号,,,,,330402007029,",
        "A6,,托育,,120.7,30.7,,,,",
        "A7,奇怪设施,停车场,,120.7,30.7,,,,",
        "A8,颠倒坐标,养老,,30.7,120.7,,,,",
        "A1,阳光托育园,托育,E1路2号,120.7,30.7,,,,",
        "A9,床位错误,养老,,120.7,30.7,,-3,,",
    ])
    report = tmp_path / "rejects.csv"
    result = import_facilities(session, path, source="test", report_path=report)
    assert result.read == 10
    assert result.accepted + len(result.rejected) == result.read
    assert (result.added, result.updated, result.unchanged) == (4, 0, 0)
    assert [r.line for r in result.rejected] == [5, 7, 8, 9, 10, 11]
    reasons = {r.line: " ".join(r.reasons) for r in result.rejected}
    assert "1000 m" in reasons[5]
    assert "名称为空" in reasons[7]
    assert "unknown facility category" in reasons[8]
    assert "outside China" in reasons[9]
    assert "duplicate of line 2" in reasons[10]
    assert "capacity" in reasons[11]
    assert report.read_text(encoding="utf-8-sig").count("\n") == 7
    rows = imported(session, "test")
    toddler = rows["阳光托育园"]
    assert (toddler.category, toddler.subtype, toddler.region_code) == ("childcare", "托育",
                                                                         COMMUNITY_A)
    assert toddler.estate_id == world.estates["E1"].id
    assert toddler.attributes == {"开放时间": "8:00-17:00"}
    care = rows["颐养中心"]
    assert (care.category, care.region_code, care.estate_id, care.capacity) == (
        "elderly_care", COMMUNITY_B, None, 40)
    market = rows["高德菜场"]  # GCJ-02 converted back: inside E1 again
    assert market.estate_id == world.estates["E1"].id
    assert market.geom is not None
    point = to_shape(market.geom)
    x, y = transform_point(point.x, point.y, 4490, 4549)
    assert (x - ORIGIN[0], y - ORIGIN[1]) == pytest.approx((0, 20), abs=0.05)
    police = rows["无坐标警务室"]
    assert (police.category, police.geom, police.region_code) == ("security", None,
                                                                  COMMUNITY_B)
    run = session.get(ImportRun, result.import_run_id)
    assert run is not None
    assert (run.kind, run.rows_read, run.rows_accepted, run.rows_rejected) == (
        "facilities", 10, 4, 6)
    assert run.report_path == str(report)

    again = import_facilities(session, path, source="test")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert len(imported(session, "test")) == 4


@pytest.mark.usefixtures("world")
def test_reimport_updates_changed_rows_and_keys_without_ids(session: Session, tmp_path: Path) -> None:
    lon, lat = lonlat(10, 10)
    first = write_csv(tmp_path / "a.csv", ["name,category,lon,lat,capacity",
                                           f"小太阳幼儿园,幼儿园,{lon},{lat},100"])
    assert import_facilities(session, first, source="s").added == 1
    moved = lonlat(12, 10)  # 2 m away: same place, capacity changed
    second = write_csv(tmp_path / "b.csv", ["name,category,lon,lat,capacity",
                                            f"小太阳幼儿园,幼儿园,{moved[0]},{moved[1]},120"])
    result = import_facilities(session, second, source="s")
    assert (result.added, result.updated) == (0, 1)
    assert imported(session, "s")["小太阳幼儿园"].capacity == 120


def test_geojson_polygons_estate_code_and_dry_run(session: Session, world: World, tmp_path: Path) -> None:
    ring = [list(lonlat(x, y)) for x, y in ((1900, -100), (1950, -100), (1950, -50),
                                            (1900, -50), (1900, -100))]
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "g1", "properties": {"name": "体育公园", "category": "sports"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {"name": "物业中心", "category": "物业",
                                           "estate_code": estate_code(COMMUNITY_A, 2)},
         "geometry": None},
        {"type": "Feature", "properties": {"name": "线", "category": "sports"},
         "geometry": {"type": "LineString", "coordinates": [ring[0], ring[1]]}},
    ]}
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    dry = import_facilities(session, path, source="g", dry_run=True)
    assert (dry.added, len(dry.rejected), dry.import_run_id) == (2, 1, None)
    assert imported(session, "g") == {}
    result = import_facilities(session, path, source="g")
    rows = imported(session, "g")
    assert rows["体育公园"].region_code == COMMUNITY_B  # nearest estate E3
    assert rows["体育公园"].external_id == "g1"
    assert rows["物业中心"].estate_id == world.estates["E2"].id
    assert result.matched_by == {"nearest_estate": 1, "estate_code": 1}


@pytest.mark.usefixtures("world")
def test_xlsx_and_bad_files(session: Session, tmp_path: Path) -> None:
    import xlsxwriter

    lon, lat = lonlat(0, 0)
    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate([["名称", "类型", "经度", "纬度"], ["社区食堂", "老年食堂", lon, lat]]):
        sheet.write_row(r, 0, row)
    book.close()
    result = import_facilities(session, path, source="x")
    assert (result.added, imported(session, "x")["社区食堂"].subtype) == (1, "老年食堂")
    empty = write_csv(tmp_path / "empty.csv", ["name,category"])
    with pytest.raises(InvalidInput):
        import_facilities(session, empty)
    with pytest.raises(InvalidInput):
        import_facilities(session, write_csv(tmp_path / "x.shp", ["x"]))


def test_epsg_spellings_and_projected_coordinates(session: Session, world: World, tmp_path: Path) -> None:
    lon, lat = lonlat(10, 10)
    x, y = ORIGIN[0] + 10, ORIGIN[1] + 10  # the same place in EPSG:4549 metres
    path = write_csv(tmp_path / "e.csv", [
        "name,category,lon,lat,crs",
        f"甲,托育,{lon},{lat},EPSG:4490",
        f"乙,托育,{lon},{lat},epsg:4326",
        f"丙,托育,{x},{y},EPSG:4549",
        f"丁,托育,{lon},{lat},EPSG:999999",
    ])
    result = import_facilities(session, path, source="e")
    assert (result.added, [r.line for r in result.rejected]) == (3, [5])
    assert all(f.estate_id == world.estates["E1"].id for f in imported(session, "e").values())
    geo = tmp_path / "legacy.geojson"
    geo.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
        "features": [{"type": "Feature", "properties": {"name": "戊", "category": "托育"},
                      "geometry": {"type": "Point", "coordinates": [x, y]}}]}),
        encoding="utf-8")
    assert import_facilities(session, geo, source="legacy").added == 1
    assert imported(session, "legacy")["戊"].estate_id == world.estates["E1"].id


def test_demo_facilities_file_imports_cleanly(session: Session, tmp_path: Path) -> None:
    from cimhouse.demo.generate_demo import generate_demo

    summary = generate_demo(tmp_path / "demo", houses=400, seed=3)
    result = import_facilities(session, tmp_path / "demo" / "facilities.csv", source="demo")
    assert result.rejected == []
    assert result.added == result.read == summary.facilities
    assert result.matched_by == {"community_code": summary.facilities}


def test_same_ids_from_another_county_are_conflicts_not_moves(session: Session, tmp_path: Path) -> None:
    """Issue 11 item 7: three sets all named facilities.csv with ids demo-000001... moved
    each other's facilities across counties; a renamed facility was reported unchanged."""
    header = "external_id,name,category,address,community_code,capacity"
    (tmp_path / "nanhu").mkdir()
    (tmp_path / "xiuzhou").mkdir()
    first = write_csv(tmp_path / "nanhu" / "facilities.csv", [
        header, "demo-000001,庆丰社区小学,education,庆丰路1号,330402007024,600",
        "demo-000002,庆丰社区卫生服务站,medical,庆丰路2号,330402007024,"])
    second = write_csv(tmp_path / "xiuzhou" / "facilities.csv",
                       [header, "demo-000001,秀清社区托育,childcare,秀清路9号,330411005005,40",
                        "demo-000003,秀清社区菜场,菜场,秀清路3号,330411005005,"])
    assert import_facilities(session, first).added == 2  # source: the stem, "facilities"
    report = tmp_path / "rejects.csv"
    clash = import_facilities(session, second, report_path=report)
    assert (clash.added, clash.updated, [r.line for r in clash.rejected]) == (1, 0, [2])
    assert clash.conflicts == 1
    reason = clash.rejected[0].reasons[0]
    assert "已属于县（区）330402 的设施“庆丰社区小学”（330402007024），本行位于 330411005005" in reason
    assert "a facility never changes county, so nothing was updated" in reason
    assert "--source" in reason
    assert "demo-000001" in report.read_text("utf-8-sig")
    school = imported(session, "facilities")["庆丰社区小学"]
    assert (school.county, school.region_code, school.address, school.category) == (
        "330402", "330402007024", "庆丰路1号", "education")
    assert imported(session, "facilities")["秀清社区菜场"].county == "330411"
    run = session.get(ImportRun, clash.import_run_id)
    assert run is not None
    assert run.summary["conflicts"] == 1
    assert clash.summary()["conflicts"] == 1
    # the other county's data under its own source is simply added
    own = import_facilities(session, second, source="xiuzhou")
    assert (own.added, own.conflicts, own.rejected) == (2, 0, [])

    # A changed row is an update, the name included; an unchanged one stays unchanged.
    renamed = write_csv(tmp_path / "nanhu" / "facilities.csv", [
        header, "demo-000001,庆丰实验小学,education,庆丰路1号,330402007024,600",
        "demo-000002,庆丰社区卫生服务站,medical,庆丰路2号,330402007024,"])
    result = import_facilities(session, renamed)
    assert (result.added, result.updated, result.unchanged, result.conflicts) == (0, 1, 1, 0)
    session.expire_all()  # the import updates in SQL, not through these objects
    names = imported(session, "facilities")
    assert "庆丰实验小学" in names
    assert "庆丰社区小学" not in names
    assert import_facilities(session, renamed).unchanged == 2


@pytest.mark.usefixtures("world")
def test_same_place_in_another_county_is_a_conflict(session: Session, tmp_path: Path) -> None:
    """Without ids the key is name + category + place: a hit in another county is a conflict."""
    lon, lat = lonlat(10, 10)  # inside E1 (330402007024)
    header = "name,category,lon,lat,community_code"
    import_facilities(session, write_csv(tmp_path / "a.csv", [
        header, f"边界菜场,菜场,{lon},{lat},"]), source="s")
    moved = import_facilities(session, write_csv(tmp_path / "b.csv", [
        header, f"边界菜场,菜场,{lon},{lat},330411005005"]), source="s")
    assert (moved.added, moved.updated, len(moved.rejected)) == (0, 0, 1)
    assert moved.conflicts == 1
    assert "facility never changes county" in moved.rejected[0].reasons[0]
    market = imported(session, "s")["边界菜场"]
    assert (market.county, market.region_code) == ("330402", COMMUNITY_A)
