"""The ``gaps`` layer (issue 17): service gaps as features in file exports, the OGC API and
vector tiles, checked against gaps computed independently here (distances in EPSG:4549 with
pyproj, residents counted in SQL), and limited to the scope."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import mapbox_vector_tile
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text

from cimhouse.db import session_scope
from cimhouse.exports.export_layer import export_layer
from cimhouse.exports.vector_tiles import MIN_ZOOM, tile_of
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.services.policy import AFFECTED_GROUP
from tests.helpers.gaps import Gap, expected_gaps
from tests.helpers.graphql_world import ApiWorld


def test_export_holds_the_gaps_of_the_scope(aw: ApiWorld, tmp_path: Path) -> None:
    truth = expected_gaps(aw.engine)
    world = aw.world
    assert truth
    assert len({c for _e, c in truth}) > 1
    for scope in ("33", world.communities[0], world.estates[1], "330421"):
        path = tmp_path / f"gaps-{scope}.csv"
        with session_scope(aw.engine) as session:
            result = export_layer(session, scope=with_county_keys(session, parse_scope(scope)),
                                  layer="gaps", fmt="csv", path=path)
        with path.open(encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        wanted = {k: v for k, v in truth.items() if world.visible(k[0], scope)}
        assert {(r["estate_code"], r["category"]) for r in rows} == set(wanted)
        assert result.rows == len(wanted)
        for row in rows:
            assert row["id"] == f"{row['estate_code']}-{row['category']}"
            assert row["wkt"].startswith("POINT")
            if row["category"] not in AFFECTED_GROUP:  # everyone living there
                assert int(row["affected"]) == wanted[(row["estate_code"], row["category"])]
        affected = [int(r["affected"]) for r in rows]
        assert affected == sorted(affected, reverse=True)  # ranked like find_gaps


def test_gaps_xlsx_has_chinese_headers(aw: ApiWorld, tmp_path: Path) -> None:
    path = tmp_path / "gaps.xlsx"
    with session_scope(aw.engine) as session:
        result = export_layer(session, scope=with_county_keys(
            session, parse_scope(aw.world.communities[0])), layer="gaps", fmt="xlsx", path=path)
    sheet = load_workbook(path, read_only=True)["服务短板"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("编号", "小区编码", "小区名称", "社区代码", "设施类别")
    assert "受影响人数" in rows[0]
    assert len(rows) == result.rows + 1


def test_ogc_gaps_collection(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    token = {"Authorization": f"Bearer {aw.tokens['city']}"}  # the first community's city
    truth = {k for k in expected_gaps(aw.engine) if world.visible(k[0], world.communities[0][:4])}
    listed = client.get("/ogc/collections", headers=token).json()["collections"]
    assert "gaps" in {c["id"] for c in listed}
    reply = client.get("/ogc/collections/gaps/items", params={"limit": 1000}, headers=token)
    assert reply.status_code == 200, reply.text
    features = reply.json()["features"]
    assert {(f["properties"]["estate_code"], f["properties"]["category"])
            for f in features} == truth
    first = features[0]
    one = client.get(f"/ogc/collections/gaps/items/{first['id']}", headers=token)
    assert one.status_code == 200
    assert one.json()["properties"] == first["properties"]
    page = client.get("/ogc/collections/gaps/items", params={"limit": 2}, headers=token).json()
    assert [f["id"] for f in page["features"]] == [f["id"] for f in features[:2]]
    assert any(link["rel"] == "next" for link in page["links"])
    lon, lat = first["geometry"]["coordinates"]
    boxed = client.get("/ogc/collections/gaps/items", headers=token, params={
        "bbox": f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}", "limit": 1000}).json()
    assert {f["properties"]["estate_code"] for f in boxed["features"]} == {
        first["properties"]["estate_code"]}
    dated = client.get("/ogc/collections/gaps/items", params={
        "datetime": dt.date.today().isoformat()}, headers=token)
    assert dated.status_code == 422  # InvalidInput: gaps are computed for today
    other = client.get(f"/ogc/collections/gaps/items/{first['id']}",
                       headers={"Authorization": f"Bearer {aw.tokens['other_county']}"})
    assert other.status_code == 404


def test_gap_tiles(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    token = {"Authorization": f"Bearer {aw.tokens['province']}"}
    truth = expected_gaps(aw.engine)
    with session_scope(aw.engine) as session:
        points = {code: (lon, lat) for code, lon, lat in session.execute(text(
            "SELECT code, ST_X(ST_PointOnSurface(boundary)), ST_Y(ST_PointOnSurface(boundary))"
            " FROM estate"))}
    z = MIN_ZOOM["gaps"] + 3
    seen: set[Gap] = set()
    for x, y in {tile_of(*points[e], z) for e in world.estates}:
        reply = client.get(f"/tiles/gaps/{z}/{x}/{y}.mvt", headers=token)
        assert reply.status_code == 200, reply.text
        for f in mapbox_vector_tile.decode(reply.content)["gaps"]["features"]:
            props = f["properties"]
            seen.add((props["estate_code"], props["category"]))
            assert props["id"] == f"{props['estate_code']}-{props['category']}"
    assert seen == set(truth)
    low = client.get(f"/tiles/gaps/{MIN_ZOOM['gaps'] - 1}/0/0.mvt", headers=token)
    assert low.status_code == 204
