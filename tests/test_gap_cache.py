"""The ``gaps`` tiles' cache (cimhouse/exports/gap_cache.py): a scope's gaps are computed once
per data version, never served to another scope, and recomputed after a committed change.

Every answer is compared with the same tile rendered without the cache and with the gaps
computed independently (tests/helpers/gaps.py). Scope isolation of the cached path over
every level is also in tests/test_exits_scope.py::test_vector_tiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.exports.gap_cache import GapCache, data_version
from cimhouse.exports.vector_tiles import render_tile, tile_of
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.importers.facilities.import_facilities import import_facilities
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.gaps import expected_gaps
from tests.helpers.graphql_world import ApiWorld, api_world, issue_token

Z = 12


@pytest.fixture(scope="module")
def gw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings, estates=2, buildings=1,
                   houses=2) as built:
        scopes = {c[:6] for c in built.world.communities} | set(built.world.estates)
        with session_scope(built.engine) as session:
            built.tokens.update({f"scope:{s}": issue_token(session, s, "reader", name=f"g-{s}")
                                 for s in scopes})
        yield built


def _estate_tiles(aw: ApiWorld) -> dict[str, tuple[int, int]]:
    with session_scope(aw.engine) as session:
        return {code: tile_of(lon, lat, Z) for code, lon, lat in session.execute(text(
            "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(boundary) p "
            "FROM estate) s"))}


def _tile_ids(client: TestClient, token: str, x: int, y: int) -> set[str]:
    reply = client.get(f"/tiles/gaps/{Z}/{x}/{y}.mvt", headers={"Authorization": f"Bearer {token}"})
    if reply.status_code == 204:
        return set()
    assert reply.status_code == 200, reply.text
    return {str(f["properties"]["id"])
            for f in mapbox_vector_tile.decode(reply.content)["gaps"]["features"]}


def _uncached_ids(aw: ApiWorld, scope: str, x: int, y: int) -> set[str]:
    with session_scope(aw.engine) as session:
        data = render_tile(session, with_county_keys(session, parse_scope(scope)), "gaps", Z,
                           x, y, gap_cache=None)
    return ({str(f["properties"]["id"]) for f in mapbox_vector_tile.decode(data)["gaps"]
             ["features"]} if data else set())


def test_a_scope_computes_its_gaps_once_per_data_version(gw: ApiWorld,
                                                         test_settings: Settings) -> None:
    app = create_app(test_settings, engine=gw.engine)
    client, cache = TestClient(app), app.state.gap_cache
    county = gw.world.communities[0][:6]
    tiles = sorted(set(_estate_tiles(gw).values()))
    assert len(tiles) > 1
    for x, y in tiles:
        assert _tile_ids(client, gw.tokens[f"scope:{county}"], x, y) == \
            _uncached_ids(gw, county, x, y)
    assert (cache.misses, cache.hits) == (1, len(tiles) - 1)


def test_scopes_never_share_an_entry(gw: ApiWorld, test_settings: Settings) -> None:
    """The same tiles asked by turns by scopes of different counties and by estates: each
    answer is the uncached tile of that scope, each scope one computation."""
    app = create_app(test_settings, engine=gw.engine)
    client, cache = TestClient(app), app.state.gap_cache
    scopes = sorted({c[:6] for c in gw.world.communities}) + gw.world.estates[:2]
    assert len({s[:6] for s in scopes}) > 1
    tiles = sorted(set(_estate_tiles(gw).values()))
    for _round in range(2):
        for x, y in tiles:
            for scope in scopes:
                got = _tile_ids(client, gw.tokens[f"scope:{scope}"], x, y)
                assert got == _uncached_ids(gw, scope, x, y), (scope, x, y)
                assert all(g.startswith(scope[:6]) for g in got)
    assert cache.misses == len(scopes)


def test_a_committed_change_recomputes_the_gaps(gw: ApiWorld, test_settings: Settings,
                                                tmp_path: Path) -> None:
    """A facility imported (change_log in its transaction) closes a gap: the next tile shows
    it closed before the feed's stamper has run, and again after it has."""
    app = create_app(test_settings, engine=gw.engine)
    client, cache = TestClient(app), app.state.gap_cache
    places = _estate_tiles(gw)
    estate, category = sorted(expected_gaps(gw.engine))[0]
    scope, (x, y) = estate[:6], places[estate]
    token = gw.tokens[f"scope:{scope}"]
    gap = f"{estate}-{category}"
    assert gap in _tile_ids(client, token, x, y)
    assert gap in _tile_ids(client, token, x, y)
    assert (cache.misses, cache.hits) == (1, 1)
    with session_scope(gw.engine) as session:
        before = data_version(session)
        lon, lat = session.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p FROM estate "
            "WHERE code = :c) s"), {"c": estate}).one()
    source = tmp_path / "closing.csv"
    source.write_text(f"name,category,lon,lat,status\n补缺设施,{category},{lon},{lat},in_use\n",
                      encoding="utf-8")
    with session_scope(gw.engine) as session:
        assert import_facilities(session, source, actor="test").rejected == []
    with session_scope(gw.engine) as session:
        after = data_version(session)
    assert after != before
    now = _tile_ids(client, token, x, y)
    assert gap not in now
    assert now == _uncached_ids(gw, scope, x, y)
    assert cache.misses == 2
    stamp_changes(gw.engine)  # numbered: the version moves again, the answer stays
    assert _tile_ids(client, token, x, y) == now
    assert cache.misses == 3
    assert {g for g in now} <= {f"{e}-{c}" for e, c in expected_gaps(gw.engine)}


def test_entries_are_bounded(gw: ApiWorld) -> None:
    cache = GapCache(size=2)
    with session_scope(gw.engine) as session:
        for scope in sorted({c[:6] for c in gw.world.communities}) * 2:
            cache.rows(session, parse_scope(scope), metric_srid=4549, compute=list)
    assert len(cache._entries) <= 2


def test_concurrent_tiles_of_a_scope_compute_once(gw: ApiWorld) -> None:
    """A map asks for several tiles at once: one computation, the others wait for it."""
    import threading
    import time

    cache, calls, results = GapCache(), [], []
    scope = parse_scope(gw.world.communities[0][:6])

    def compute() -> list[object]:
        calls.append(1)
        time.sleep(0.3)
        return ["gaps"]

    def tile() -> None:
        with session_scope(gw.engine) as session:
            results.append(cache.rows(session, scope, metric_srid=4549, compute=compute))

    threads = [threading.Thread(target=tile) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [["gaps"]] * 4
    assert (cache.misses, cache.hits) == (1, 3)
