"""GraphiQL and the map in headless Chromium, with no internet (issue 18): the pages load
their pinned assets from the app, GraphiQL runs a query, the map draws the scoped data and
its search flies to a house. The map's data endpoints keep to the token's scope."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.settings import Settings
from cimhouse.web.assets import ASSETS, integrity, missing
from cimhouse.web.browser import CHROMIUM, Chromium
from tests.helpers.gaps import expected_gaps
from tests.helpers.graphql_world import ApiWorld, api_world

browser = pytest.mark.skipif(not Path(CHROMIUM).exists() or bool(missing()),
                             reason="needs Debian chromium (make chromium) and the web assets "
                                    "(make install)")
PIXELS = """(() => {
  const source = window.cimhouseMap.getCanvas();
  const c = document.createElement('canvas'); c.width = source.width; c.height = source.height;
  const g = c.getContext('2d'); g.drawImage(source, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set(); let painted = 0, red = 0, green = 0;
  for (let i = 0; i < d.length; i += 16) {
    const [r, gr, b] = [d[i], d[i + 1], d[i + 2]];
    colours.add((r >> 4) * 256 + (gr >> 4) * 16 + (b >> 4));
    if (Math.abs(r - 0xf2) + Math.abs(gr - 0xef) + Math.abs(b - 0xe9) > 24) painted++;
    if (r > 180 && gr < 80 && b < 80) red++;
    if (gr > r + 20 && gr > b + 20) green++;
  }
  return {painted: painted / (d.length / 16), colours: colours.size, red, green};
})()"""


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        yield built


@pytest.fixture(scope="module")
def server(aw: ApiWorld, test_settings: Settings) -> Iterator[str]:
    """The app (dev mode: GraphiQL on) served on a free local port in a thread."""
    app = create_app(test_settings.with_changes(dev=True), engine=aw.engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def test_vendor_serves_only_the_pinned_files(aw: ApiWorld, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    for item in ASSETS:
        reply = client.get(item.url)
        assert reply.status_code == 200, item.url
        assert integrity(reply.content) == item.integrity, item.url
    assert client.get("/vendor/react/18.2.0/../../../settings.py").status_code == 404
    assert client.get("/vendor/left-pad/1.0.0/index.js").status_code == 404


def test_pages_name_no_remote_address(aw: ApiWorld, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings.with_changes(dev=True), engine=aw.engine))
    graphiql = client.get("/graphql", headers={"Accept": "text/html"}).text
    page = client.get("/map").text
    for html in (graphiql, page):
        assert "unpkg.com" not in html
        assert "cdn" not in html.lower()
        assert 'src="/vendor/' in html
        assert 'integrity="sha384-' in html


def test_map_data_keeps_to_the_scope(aw: ApiWorld, test_settings: Settings) -> None:
    """Every map endpoint filters by the token's scope: a narrower token sees a subset, and
    nothing of another county (not a code, not a name)."""
    client = TestClient(create_app(test_settings, engine=aw.engine))

    def layer(token: str, name: str) -> list[dict[str, object]]:
        reply = client.get(f"/map/layers/{name}.geojson",
                           headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.text
        return [f["properties"] for f in reply.json()["features"]]

    assert client.get("/map/layers/regions.geojson").status_code == 401
    for gone in ("estates", "buildings", "facilities", "gaps"):  # the tiles draw them now
        assert client.get(f"/map/layers/{gone}.geojson",
                          headers={"Authorization": f"Bearer {aw.tokens['province']}"}
                          ).status_code == 404
    wide, narrow = aw.tokens["province"], aw.tokens["other_county"]
    other = aw.world.communities[-1][:6]
    for name in ("regions", "alerts"):
        everything, mine = layer(wide, name), layer(narrow, name)
        assert len(mine) <= len(everything), name
        codes = [str(p.get("code") or "") for p in mine]
        assert all(c.startswith(other) or not c for c in codes if len(c) in (12, 25)), name
        names = {p.get("name") for p in mine}
        assert names <= {p.get("name") for p in everything}, name
    assert layer(wide, "regions")
    inside = {str(p["code"]) for p in layer(narrow, "regions")}
    assert inside
    assert all(c.startswith(other) or other.startswith(c) for c in inside)
    outside = next(code for code, obj in aw.world.objects.items()
                   if obj.kind == "house" and not code.startswith(other))
    for token, hits in ((wide, 1), (narrow, 0)):
        found = client.get("/map/search", params={"q": outside},
                           headers={"Authorization": f"Bearer {token}"}).json()
        assert sum(hit["code"] == outside for hit in found) == hits
        assert all(str(hit["code"]).startswith(other) for hit in found) or token == wide


@browser
def test_graphiql_runs_a_query_offline(server: str, aw: ApiWorld) -> None:
    query = f'{{ validateCode(code: "{aw.world.estates[0]}") {{ valid code }} }}'
    headers = json.dumps({"Authorization": f"Bearer {aw.tokens['town']}"})
    url = f"{server}/graphql?" + urllib.parse.urlencode({"q": query, "headers": headers},
                                                          quote_via=urllib.parse.quote)
    with Chromium() as page:
        page.goto(url)
        page.wait_for("!!document.querySelector('.graphiql-execute-button')")
        page.evaluate("document.querySelector('.graphiql-execute-button').click(); true")
        result = page.wait_for("(() => { const r = document.querySelector('.result-window');"
                               " return r && r.innerText.includes('valid') && r.innerText; })()")
    assert '"valid": true' in result
    assert aw.world.estates[0] in result


SETTLED = "!window.cimhouseMap.isMoving() && window.cimhouseMap.areTilesLoaded()"
CLICK = """((lngLat) => {{ const map = window.cimhouseMap; window.cimhouseLastClick = null;
  document.querySelectorAll('.maplibregl-popup').forEach(p => p.remove());
  map.fire('click', {{ point: map.project(lngLat), lngLat: new maplibregl.LngLat(...lngLat) }});
  const popup = document.querySelector('.maplibregl-popup');
  return {{ props: window.cimhouseLastClick, popup: popup && popup.innerText }}; }})({})"""
SOURCE = ("window.cimhouseMap.querySourceFeatures('{0}', {{sourceLayer: '{0}'}})"
          ".map(f => [f.properties, f.geometry.coordinates])")


@browser
def test_map_draws_the_data_and_search_flies_to_a_house(server: str, aw: ApiWorld) -> None:
    """The map's layers come from the scoped vector tiles: at a gap estate the one ``gaps``
    layer is drawn in red and its popup lists the missing categories; after the search flies
    to a house, the house is among the tile's features at its point and its popup names it."""
    token = aw.tokens["province"]
    truth = expected_gaps(aw.engine)
    with Chromium() as page:
        page.goto(f"{server}/map#token={token}")
        # "load" waits for the first tiles in view, each a scoped statement (on Citus, under
        # the CI's load, slower than the default wait)
        page.wait_for("window.cimhouseReady === true", timeout=120)
        page.wait_for(SETTLED, timeout=120)
        time.sleep(0.5)
        stats = page.evaluate(PIXELS)
        # the regions cover part of the frame (the world spans counties)
        assert stats["painted"] > 0.005, stats
        assert stats["colours"] >= 2, stats
        # the gaps of an estate, from /tiles/gaps (vector_tiles: find_gaps), drawn in red
        estate = sorted(truth)[0][0]
        with session_scope(aw.engine) as session:
            centre = session.execute(text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p "
                "FROM estate WHERE code = :c) s"), {"c": estate}).one()
        page.evaluate(f"window.cimhouseMap.jumpTo({{center: {list(centre)}, zoom: 16}}); true")
        gaps = page.wait_for(f"{SETTLED} && (() => {{ const g = {SOURCE.format('gaps')}"
                             f".filter(f => f[0].estate_code === '{estate}');"
                             " return g.length > 0 && g; })()", timeout=120)
        assert {g[0]["category"] for g in gaps} == {c for e, c in truth if e == estate}
        time.sleep(0.3)
        stats = page.evaluate(PIXELS)
        assert stats["red"] > 0, stats
        assert stats["colours"] >= 4, stats
        clicked = page.evaluate(CLICK.format(json.dumps(gaps[0][1])))
        assert clicked["props"]["code"] == estate, clicked
        missing = set(clicked["props"]["missing"].split("、"))
        assert missing == {g[0]["category_label"] for g in gaps}, clicked
        assert "缺少 / missing" in clicked["popup"]
        # the search flies to a house; the houses come from /tiles/houses at that zoom
        before = page.evaluate("window.cimhouseMap.getCenter().toArray()")
        house = next(code for code, obj in aw.world.objects.items() if obj.kind == "house")
        page.evaluate(f"document.getElementById('search').value = {json.dumps(house)};"
                      "document.getElementById('search-form').requestSubmit()")
        flown = page.wait_for("window.cimhouseLastFly")
        page.wait_for("!window.cimhouseMap.isMoving()")
        after = page.evaluate("window.cimhouseMap.getCenter().toArray()")
        assert after != before
        assert abs(after[0] - flown["lon"]) < 1e-4
        assert abs(after[1] - flown["lat"]) < 1e-4
        assert page.evaluate("window.cimhouseMap.getZoom()") > 16
        drawn = page.wait_for(f"{SETTLED} && (() => {{ const h = {SOURCE.format('houses')};"
                              " return h.length > 0 && h; })()", timeout=120)
        at = {props["code"]: point for props, point in drawn}
        assert house in at, drawn
        assert abs(at[house][0] - flown["lon"]) < 1e-3
        assert abs(at[house][1] - flown["lat"]) < 1e-3
        time.sleep(0.3)
        assert page.evaluate("window.cimhouseMap.queryRenderedFeatures("
                             "{layers: ['houses']}).length") > 0
        # houses without a location of their own share their building's point: the popup
        # names one house drawn there
        clicked = page.evaluate(CLICK.format(json.dumps(at[house])))
        code = clicked["props"]["code"]
        assert code in at, clicked
        assert abs(at[code][0] - at[house][0]) < 1e-6, clicked
        assert abs(at[code][1] - at[house][1]) < 1e-6, clicked
        assert code in clicked["popup"]
