"""Vector tiles ``/tiles/{layer}/{z}/{x}/{y}.mvt`` (issue 17): decoded with mapbox-vector-tile.

Properties without personal data, empty tiles 204, private per-token caching with ETags, one
statement per tile. Scope isolation is in the property test of every exit
(tests/test_exits_scope.py::test_vector_tiles).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.exports.vector_tiles import MIN_ZOOM, render_tile, tile_of
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token
from tests.helpers.tiles import ZOOM, fetch_tile, tile_places

Places = dict[str, dict[str, tuple[int, int]]]

@pytest.fixture(scope="module")
def tw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[tuple[ApiWorld, Places]]:
    with api_world(pg_cluster, template_db, test_settings, estates=2, buildings=2,
                   houses=2) as built:
        scopes = {c[:n] for c in built.world.communities for n in (2, 4, 6, 9, 12)}
        scopes |= set(built.world.estates) | {"330421"}
        with session_scope(built.engine) as session:
            built.tokens.update({f"scope:{s}": issue_token(session, s, "reader", name=f"t-{s}")
                                 for s in scopes})
            places = tile_places(session)
        yield built, places


@pytest.fixture(scope="module")
def tclient(tw: tuple[ApiWorld, Places],
            test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, engine=tw[0].engine))


def _get(client: TestClient, token: str | None, path: str,
         **headers: str) -> Any:
    sent = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers={**sent, **headers})


def test_properties_carry_no_personal_data(tw: tuple[ApiWorld, Places],
                                           tclient: TestClient) -> None:
    aw, places = tw
    token = aw.tokens["scope:33"]
    expected = {"estates": {"code", "name", "status", "status_label", "region_code"},
                "buildings": {"code", "label", "status", "status_label", "floors", "houses"},
                "houses": {"code", "building", "room", "status", "status_label"},
                "facilities": {"id", "name", "category", "category_label", "radius_m"}}
    for layer, keys in expected.items():
        x, y = next(iter(places[layer].values()))
        features = fetch_tile(tclient, token, layer, ZOOM[layer], x, y)
        assert features
        for feature in features:
            assert set(feature["properties"]) <= keys | {"unit", "floor", "subtype",
                                                         "status", "status_label"}
            assert keys - {"floors", "status", "status_label"} <= set(feature["properties"])
    buildings = fetch_tile(tclient, token, "buildings", ZOOM["buildings"],
                          *next(iter(places["buildings"].values())))
    assert {f["properties"]["houses"] for f in buildings} == {2}  # houses per building
    assert {f["geometry"]["type"] for f in buildings} == {"Polygon"}


def test_empty_headers_errors_and_cache(tw: tuple[ApiWorld, Places],
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


def test_a_tile_is_one_statement(tw: tuple[ApiWorld, Places]) -> None:
    aw, places = tw
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    county = aw.world.communities[0][:6]
    # a house of that county (places come in the database's order: on Citus shard by shard)
    x, y = next(xy for code, xy in sorted(places["houses"].items()) if code.startswith(county))
    with session_scope(aw.engine) as session:
        scope = with_county_keys(session, parse_scope(county))
        event.listen(aw.engine, "before_cursor_execute", count)
        try:
            data = render_tile(session, scope, "houses", 16, x, y)
        finally:
            event.remove(aw.engine, "before_cursor_execute", count)
    assert data
    assert len(statements) == 1
    assert "ST_AsMVT(" in statements[0]
    assert "county IN" in statements[0] or "county =" in statements[0]  # routed on Citus
