"""Every importer and the API accept the same CRS forms (issue 14 point 1): cimhouse.crs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, box
from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.crs import (
    COORDINATE_SYSTEMS,
    crs_name,
    geometry_from_storage,
    geometry_to_storage,
    transform_point,
    wgs84_to_gcj02,
)
from cimhouse.idnumber import make_id_number
from cimhouse.importers.boundaries.import_boundaries import _validate
from cimhouse.importers.facilities.rows import validate_row
from cimhouse.importers.register.attach_footprints import attach_footprints
from cimhouse.importers.register.import_register import import_register
from cimhouse.pii import PiiVault
from cimhouse.schema import Building, House

LON, LAT = 120.75, 30.75  # CGCS2000
X, Y = transform_point(LON, LAT, 4490, 4549)  # the same point in Gauss-Kruger metres
# (crs as a user writes it, x, y): all the same place
FORMS = [("CGCS2000", LON, LAT), ("epsg:4490", LON, LAT), ("EPSG::4326", LON, LAT),
         ("EPSG:4549", X, Y), ("epsg 4549", X, Y), ("高德", *wgs84_to_gcj02(LON, LAT))]


@pytest.mark.parametrize(("name", "expected"), [
    ("", "CGCS2000"), ("EPSG:4490", "CGCS2000"), ("epsg:4326", "WGS84"), ("百度", "BD09"),
    ("EPSG:4549", "EPSG:4549"), ("EPSG::4549", "EPSG:4549"), ("epsg:04549", "EPSG:4549")])
def test_one_spelling_of_every_form(name: str, expected: str) -> None:
    assert crs_name(name) == expected


@pytest.mark.parametrize("name", ["Beijing54", "EPSG:999999", "EPSG:"])
def test_unknown_forms_raise_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown coordinate system"):
        crs_name(name)


@pytest.mark.parametrize("system", COORDINATE_SYSTEMS)
def test_output_and_input_round_trip(system: str) -> None:
    point = Point(LON, LAT)
    back = geometry_to_storage(geometry_from_storage(point, system), system)
    assert (back.x, back.y) == pytest.approx((LON, LAT), abs=1e-8)


@pytest.mark.parametrize(("crs", "x", "y"), FORMS)
def test_facilities_accept_every_form(crs: str, x: float, y: float) -> None:
    row, reasons = validate_row({"name": "菜场", "category": "菜场", "lon": str(x),
                                 "lat": str(y)}, default_crs=crs)
    assert reasons == []
    assert row is not None
    assert row.wkt is not None
    assert Point(*_xy(row.wkt)).distance(Point(LON, LAT)) < 1e-6


@pytest.mark.parametrize(("crs", "x", "y"), FORMS)
def test_boundaries_accept_every_form(crs: str, x: float, y: float) -> None:
    square = box(x - 1e-4, y - 1e-4, x + 1e-4, y + 1e-4) if x < 1000 else box(x - 10, y - 10,
                                                                               x + 10, y + 10)
    staged, rejected = _validate([(1, {"code": "330402007024", "name": "百福弄"}, square, None)],
                                 crs, "community")
    assert rejected == []
    assert len(staged) == 1


def _xy(wkt: str) -> tuple[float, float]:
    from shapely import wkt as shapely_wkt
    point = shapely_wkt.loads(wkt.split(";")[-1]).centroid
    return float(point.x), float(point.y)


ADDRESS = "浙江省嘉兴市南湖区建设街道百福弄社区居委会梅花苑小区3幢2单元501室"


@pytest.mark.parametrize(("crs", "x", "y"), FORMS)
def test_register_accepts_every_form(session: Session, tmp_path: Path, crs: str, x: float,
                                     y: float) -> None:
    path = tmp_path / "r.csv"
    person = make_id_number("330402", dt.date(1950, 3, 1), 11, "F")
    path.write_text("房屋坐落,姓名,公民身份号码,人房关系,经度,纬度,坐标系\n"
                    f"{ADDRESS},王芳,{person},产权,{x},{y},{crs}\n", encoding="utf-8")
    result = import_register(session, path, vault=PiiVault(b"k" * 32),
                             report_path=tmp_path / "rejects.csv")
    assert (result.accepted, result.rejected) == (1, 0), result.reasons
    house = session.scalars(select(House)).one()
    assert house.location is not None
    assert to_shape(house.location).distance(Point(LON, LAT)) < 1e-6


@pytest.mark.parametrize(("crs", "x", "y"), FORMS)
def test_footprints_accept_every_form(session: Session, tmp_path: Path, crs: str, x: float,
                                      y: float) -> None:
    path = tmp_path / "r.csv"
    person = make_id_number("330402", dt.date(1950, 3, 1), 11, "F")
    path.write_text(f"房屋坐落,姓名,公民身份号码,人房关系\n{ADDRESS},王芳,{person},产权\n",
                    encoding="utf-8")
    import_register(session, path, vault=PiiVault(b"k" * 32), report_path=tmp_path / "x.csv")
    half = 1e-4 if x < 1000 else 10.0
    ring = [[x - half, y - half], [x + half, y - half], [x + half, y + half],
            [x - half, y + half], [x - half, y - half]]
    (tmp_path / "f.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"address": ADDRESS.split("2单元")[0], "crs": crs},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}, ensure_ascii=False),
        encoding="utf-8")
    result = attach_footprints(session, tmp_path / "f.geojson")
    assert (result.updated, result.rejected) == (1, []), result.rejected
    building = session.scalars(select(Building)).one()
    assert building.footprint is not None
    assert to_shape(building.footprint).centroid.distance(Point(LON, LAT)) < 1e-6
