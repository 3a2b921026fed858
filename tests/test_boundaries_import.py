"""Boundary import: GeoJSON and GeoPackage, keys by code or name, building assignment."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.crs import transform_point
from cimhouse.errors import InvalidInput
from cimhouse.importers.boundaries.import_boundaries import import_boundaries
from cimhouse.schema import Building, ChangeLog, Estate, ImportRun, Region
from cimhouse.settings import Settings
from tests.helpers.services_world import (
    COMMUNITY_A,
    COMMUNITY_B,
    World,
    build_world,
    estate_code,
    square,
    to_storage,
)


@pytest.fixture
def world(session: Session, test_settings: Settings) -> World:
    return build_world(session, test_settings)


def feature(props: dict[str, Any], geom: BaseGeometry) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": mapping(geom) if geom is not None else None}


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def area_m2(geom: BaseGeometry) -> float:
    from cimhouse.crs import transform_geometry
    return float(transform_geometry(to_shape(geom), 4490, 4549).area)


def test_estate_boundaries_assign_buildings(session: Session, world: World, tmp_path: Path) -> None:
    loose = Building(county="330402", estate_id=None, region_code=COMMUNITY_A,
                     footprint=from_shape(MultiPolygon([to_storage(square(0, 700, 5))]),
                                          srid=4490), code=None)
    outside = Building(county="330402", estate_id=None, region_code=COMMUNITY_A,
                       footprint=from_shape(MultiPolygon([to_storage(square(0, 5000, 5))]),
                                            srid=4490))
    session.add_all([loose, outside])
    session.flush()
    path = write_geojson(tmp_path / "estates.geojson", [
        feature({"code": estate_code(COMMUNITY_A, 2)}, to_storage(square(0, 750, 100))),
        feature({"name": "E3小区"}, to_storage(square(2000, 0, 60))),
        feature({"name": "不存在小区"}, to_storage(square(0, 0, 10))),
        feature({"name": "E1小区"}, None),
        feature({"code": estate_code(COMMUNITY_A, 2)}, to_storage(square(0, 0, 10))),
    ])
    report = tmp_path / "rej.csv"
    result = import_boundaries(session, path, level="estate", report_path=report)
    assert (result.read, result.accepted, len(result.rejected)) == (5, 2, 3)
    assert [r.line for r in result.rejected] == [3, 4, 5]
    assert "no estate" in result.rejected[0].reasons[0]
    assert "Polygon" in result.rejected[1].reasons[0]
    assert "duplicate of feature 1" in result.rejected[2].reasons[0]
    assert report.exists()
    assert result.updated == 2
    assert result.buildings_assigned == 1
    e2 = session.get(Estate, ("330402", world.estates["E2"].id))
    assert e2 is not None
    session.refresh(e2)
    assert area_m2(e2.boundary) == pytest.approx(200 * 200, rel=1e-3)
    session.refresh(loose)
    session.refresh(outside)
    assert loose.estate_id == world.estates["E2"].id
    assert outside.estate_id is None
    logs = session.scalars(select(ChangeLog).where(
        ChangeLog.source == f"import_run:{result.import_run_id}")).all()
    kinds = sorted(log.object_kind for log in logs)
    assert kinds == ["building", "estate", "estate"]
    run = session.get(ImportRun, result.import_run_id)
    assert run is not None
    assert run.kind == "boundaries"

    again = import_boundaries(session, path, level="estate")
    assert (again.updated, again.unchanged, again.buildings_assigned) == (0, 2, 0)


def test_community_by_name_suffix_and_within(session: Session, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "c.geojson", [
        feature({"名称": "百福弄社区"}, to_storage(square(0, 0, 500))),
        feature({"code": COMMUNITY_B}, to_storage(square(2000, 0, 500))),
        feature({"code": "330402999999"}, to_storage(square(0, 0, 500))),
    ])
    result = import_boundaries(session, path, level="community", within="330402")
    assert (result.updated, [r.line for r in result.rejected]) == (2, [3])
    region = session.get(Region, COMMUNITY_A)
    assert region is not None
    session.refresh(region)
    assert area_m2(region.boundary) == pytest.approx(1000 * 1000, rel=1e-3)
    with pytest.raises(InvalidInput):
        import_boundaries(session, path, level="county")


def _gpkg_blob(geom: BaseGeometry, srs_id: int) -> bytes:
    wkb: bytes = geom.wkb
    return b"GP" + bytes([0, 1]) + struct.pack("<i", srs_id) + wkb


def test_geopackage_in_projected_crs(session: Session, world: World, tmp_path: Path) -> None:
    from shapely.affinity import translate

    from tests.helpers.services_world import ORIGIN
    polygon = translate(square(0, 0, 80), *ORIGIN)  # metres in EPSG:4549
    path = tmp_path / "e.gpkg"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY,
            organization TEXT, organization_coordsys_id INTEGER, definition TEXT);
        CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT);
        CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT);
        INSERT INTO gpkg_spatial_ref_sys VALUES ('GK', 4549, 'EPSG', 4549, '');
        INSERT INTO gpkg_contents VALUES ('estates', 'features');
        INSERT INTO gpkg_geometry_columns VALUES ('estates', 'geom');
        CREATE TABLE estates (fid INTEGER PRIMARY KEY, name TEXT, geom BLOB);
    """)
    conn.execute("INSERT INTO estates (name, geom) VALUES (?, ?)",
                 ("E1小区", _gpkg_blob(Polygon(polygon.exterior), 4549)))
    conn.commit()
    conn.close()
    result = import_boundaries(session, path, level="estate")
    assert (result.updated, len(result.rejected)) == (1, 0)
    e1 = session.get(Estate, ("330402", world.estates["E1"].id))
    assert e1 is not None
    session.refresh(e1)
    assert area_m2(e1.boundary) == pytest.approx(160 * 160, rel=1e-3)
    lon, lat = transform_point(ORIGIN[0], ORIGIN[1], 4549, 4490)
    assert e1.boundary is not None
    centre = to_shape(e1.boundary).centroid
    assert (centre.x, centre.y) == pytest.approx((lon, lat), abs=1e-6)


def test_estate_names_narrowed_by_community_and_legacy_crs(session: Session, world: World, tmp_path: Path) -> None:
    twin = Estate(county="330402", name="E1小区", region_code=COMMUNITY_B)  # same name in B
    session.add(twin)
    session.flush()
    path = tmp_path / "e.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": [
            feature({"name": "E1小区"}, to_storage(square(0, 0, 70))),
            feature({"name": "E1小区", "community": "百福弄社区居委会"},
                    to_storage(square(0, 0, 70))),
            feature({"name": "E1小区", "community_code": COMMUNITY_B},
                    to_storage(square(3000, 0, 70))),
        ]}, ensure_ascii=False), encoding="utf-8")
    result = import_boundaries(session, path, level="estate", crs="BD09")  # file says 4490
    assert [r.line for r in result.rejected] == [1]
    assert "matches 2 estates" in result.rejected[0].reasons[0]
    assert result.updated == 2
    session.refresh(twin)
    assert area_m2(twin.boundary) == pytest.approx(140 * 140, rel=1e-3)
    e1 = session.get(Estate, ("330402", world.estates["E1"].id))
    assert e1 is not None
    session.refresh(e1)
    assert area_m2(e1.boundary) == pytest.approx(140 * 140, rel=1e-3)
