"""Vector tiles ``/tiles/{layer}/{z}/{x}/{y}.mvt`` (issue 17): decoded with mapbox-vector-tile.

Every object of a layer appears in the tile that holds it for a token whose scope contains it,
and in no tile for any other token (property-based over the six scope levels and the layers,
like tests/test_graphql_scope.py); empty tiles are 204; caching is private, per token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.exports.vector_tiles import MIN_ZOOM, render_tile, tile_of
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token

# layer -> (zoom tested, SQL giving (key, lon, lat) of every object: where its tile is)
PLACES = {
    "estates": (12, "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, "
                    "ST_PointOnSurface(boundary) p FROM estate) s"),
    "buildings": (15, "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, "
                      "ST_PointOnSurface(footprint) p FROM building) s"),
    "houses": (16, "SELECT h.code, ST_X(p), ST_Y(p) FROM house h JOIN (SELECT county, id, "
                   "ST_PointOnSurface(footprint) p FROM building) b "
                   "ON b.county = h.county AND b.id = h.building_id"),
    "facilities": (14, "SELECT f.id::text, ST_X(p), ST_Y(p) FROM (SELECT id, "
                       "ST_PointOnSurface(geom) p FROM facility) f"),
}
KEY = {"estates": "code", "buildings": "code", "houses": "code", "facilities": "id"}


@pytest.fixture(scope="module")
def tw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[tuple[ApiWorld, dict[str, dict[str, Any]]]]:
    with api_world(pg_cluster, template_db, test_settings, estates=2, buildings=2,
                   houses=2) as built:
        scopes = {c[:n] for c in built.world.communities for n in (2, 4, 6, 9, 12)}
        scopes |= set(built.world.estates) | {"330421"}
        places: dict[str, dict[str, Any]] = {}
        with session_scope(built.engine) as session:
            built.tokens.update({f"scope:{s}": issue_token(session, s, "reader", name=f"t-{s}")
                                 for s in scopes})
            for layer, (z, sql) in PLACES.items():
                places[layer] = {key: tile_of(lon, lat, z) for key, lon, lat
                                 in session.execute(text(sql))}
            facility_estate: dict[str, str] = dict(session.execute(text(
                "SELECT f.id::text, e.code FROM facility f JOIN estate e "
                "ON e.county = f.county AND e.id = f.estate_id")).all())
        places["facility_estate"] = facility_estate
        yield built, places


@pytest.fixture(scope="module")
def tclient(tw: tuple[ApiWorld, dict[str, dict[str, Any]]],
            test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, engine=tw[0].engine))


def _get(client: TestClient, token: str | None, path: str,
         **headers: str) -> Any:
    sent = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers={**sent, **headers})


def _features(client: TestClient, token: str, layer: str, z: int, x: int,
              y: int) -> list[dict[str, Any]]:
    reply = _get(client, token, f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    if reply.status_code == 204:
        assert reply.content == b""
        return []
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(reply.content)
    assert set(decoded) == {layer}
    return list(decoded[layer]["features"])


def _visible(aw: ApiWorld, places: dict[str, dict[str, Any]], layer: str, key: str,
             scope: str) -> bool:
    code = places["facility_estate"][key] if layer == "facilities" else key
    return aw.world.visible(code, scope)


def test_tiles_never_leave_the_scope(tw: tuple[ApiWorld, dict[str, dict[str, Any]]],
                                     tclient: TestClient) -> None:
    aw, places = tw
    scopes = sorted(k.split(":", 1)[1] for k in aw.tokens if k.startswith("scope:"))

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(st.sampled_from(scopes), st.sampled_from(sorted(PLACES)))
    def run(scope: str, layer: str) -> None:
        z = PLACES[layer][0]
        token = aw.tokens[f"scope:{scope}"]
        seen: set[str] = set()
        for x, y in sorted(set(places[layer].values())):
            for feature in _features(tclient, token, layer, z, x, y):
                key = str(feature["properties"][KEY[layer]])
                assert _visible(aw, places, layer, key, scope), (scope, layer, key)
                seen.add(key)
        expected = {k for k in places[layer] if _visible(aw, places, layer, k, scope)}
        assert seen == expected, (scope, layer)

    run()


def test_properties_carry_no_personal_data(tw: tuple[ApiWorld, dict[str, dict[str, Any]]],
                                           tclient: TestClient) -> None:
    aw, places = tw
    token = aw.tokens["scope:33"]
    expected = {"estates": {"code", "name", "status", "status_label", "region_code"},
                "buildings": {"code", "label", "status", "status_label", "floors", "houses"},
                "houses": {"code", "building", "room", "status", "status_label"},
                "facilities": {"id", "name", "category", "category_label", "radius_m"}}
    for layer, keys in expected.items():
        x, y = next(iter(places[layer].values()))
        features = _features(tclient, token, layer, PLACES[layer][0], x, y)
        assert features
        for feature in features:
            assert set(feature["properties"]) <= keys | {"unit", "floor", "subtype",
                                                         "status", "status_label"}
            assert keys - {"floors", "status", "status_label"} <= set(feature["properties"])
    buildings = _features(tclient, token, "buildings", PLACES["buildings"][0],
                          *next(iter(places["buildings"].values())))
    assert {f["properties"]["houses"] for f in buildings} == {2}  # houses per building
    assert {f["geometry"]["type"] for f in buildings} == {"Polygon"}


def test_empty_headers_errors_and_cache(tw: tuple[ApiWorld, dict[str, dict[str, Any]]],
                                        tclient: TestClient) -> None:
    aw, places = tw
    token = aw.tokens["scope:33"]
    x, y = next(iter(places["buildings"].values()))
    path = f"/tiles/buildings/15/{x}/{y}.mvt"
    full = _get(tclient, token, path)
    assert full.status_code == 200
    assert full.headers["cache-control"] == "private, max-age=60"
    assert full.headers["vary"] == "Authorization"
    assert full.headers["x-content-type-options"] == "nosniff"
    again = _get(tclient, token, path, **{"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    sea = tile_of(125.0, 28.0, 15)  # the East China Sea: nothing there
    empty = _get(tclient, token, f"/tiles/buildings/15/{sea[0]}/{sea[1]}.mvt")
    assert empty.status_code == 204
    assert empty.content == b""
    low = tile_of(120.0, 30.5, MIN_ZOOM["houses"] - 1)
    assert _get(tclient, token, f"/tiles/houses/{MIN_ZOOM['houses'] - 1}/{low[0]}/{low[1]}"
                                ".mvt").status_code == 204
    other = _get(tclient, aw.tokens["scope:330421"], path)
    assert other.status_code == 204  # a county with nothing: not even an empty layer
    assert _get(tclient, None, path).status_code == 401
    assert _get(tclient, "nope", path).status_code == 401
    assert _get(tclient, token, f"/tiles/persons/15/{x}/{y}.mvt").status_code == 404
    assert _get(tclient, token, "/tiles/buildings/3/8/0.mvt").status_code == 404
    assert _get(tclient, token, "/tiles/buildings/23/0/0.mvt").status_code == 404


def test_a_tile_is_one_statement(tw: tuple[ApiWorld, dict[str, dict[str, Any]]]) -> None:
    aw, places = tw
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    x, y = next(iter(places["houses"].values()))
    with session_scope(aw.engine) as session:
        scope = with_county_keys(session, parse_scope(aw.world.communities[0][:6]))
        event.listen(aw.engine, "before_cursor_execute", count)
        try:
            data = render_tile(session, scope, "houses", 16, x, y)
        finally:
            event.remove(aw.engine, "before_cursor_execute", count)
    assert data
    assert len(statements) == 1
    assert "ST_AsMVT(" in statements[0]
    assert "county IN" in statements[0] or "county =" in statements[0]  # routed on Citus
