"""Property: the ways out of the database other than GraphQL leak nothing outside the scope.

The GraphQL queries have their own property test (tests/test_graphql_scope.py); this one
draws a principal at any of the six levels and one of the other exits over the same
three-county world, and checks every code, name and count that comes back:

- the map's GeoJSON layers (regions, alerts) and its search box (``/map/layers/*.geojson``,
  ``/map/search``); the map's other layers are the vector tiles below;
- OGC API Features items and single features (``/ogc/collections/*/items[/id]``), with
  ``datetime`` (asOf) and ``crs``, and the ``gaps`` collection;
- file exports (:func:`cimhouse.exports.export_layer.export_layer`, the ``cimhouse export``
  use case) in CSV, the ``gaps`` layer included (service gaps, against gaps computed
  independently: tests/helpers/gaps.py);
- the community roster (``cimhouse roster --with-persons``): written only for a token whose
  scope holds the community, and then only the community's houses, households and persons;
- the programme's progress report (:func:`cimhouse.programme.progress.compute_progress`,
  ``cimhouse report programme``);
- the alert subscription over a real WebSocket (``safetyAlertChanges``): a subscriber hears
  the changed alerts of its scope and nothing else (issue 19);
- ``POST /safety/readings``: a gateway's token stores readings only for the devices of its
  scope; a device outside it is answered exactly like a device that does not exist;
- vector tiles (``/tiles/{layer}/{z}/{x}/{y}.mvt``), decoded: every object of the layer in
  its tile when the scope holds it, nowhere otherwise (gaps too, through the app's gap cache
  that every scope drawn shares);
- the future-community projects' boundaries (``projects``) in OGC items and single
  features, vector tiles and file exports: shown only to a scope holding every community of
  the project (the rule of ``FutureProject.geometry``);
- change-feed webhooks: the batches a real receiver on 127.0.0.1 gets (signed) hold every
  change of the webhook's scope and kinds, in feed order, and nothing else.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.exports.export_layer import export_layer
from cimhouse.exports.vector_tiles import tile_of
from cimhouse.feed.manage_webhooks import add_webhook, remove_webhook
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.programme.progress import compute_progress
from cimhouse.programme.progress_report import as_dict
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.delivery_worker import drain_webhook, received_changes
from tests.helpers.gaps import expected_gaps
from tests.helpers.graphql_world import ApiWorld, World, api_world, issue_token
from tests.helpers.keys import TEST_KEY
from tests.helpers.projects import add_bounded_projects, boundary_visible_in
from tests.helpers.receiver import Receiver
from tests.helpers.tiles import KEY, ZOOM, fetch_tile, tile_places

PROJECTS: dict[int, list[str]] = {}  # future projects with a boundary: id -> communities
PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        scopes = {c[:n] for c in built.world.communities for n in (2, 4, 6, 9, 12)}
        scopes |= set(built.world.estates) | {"330421", "3305"}  # and empty ones
        with session_scope(built.engine) as session:
            built.tokens.update({f"scope:{s}": issue_token(session, s, "admin", "importer",
                                                           name=f"x-{s}") for s in scopes})
            session.execute(text(
                "INSERT INTO device (county, uid, kind, house_id) "
                "SELECT county, 'D-' || county || '-' || id, 'gas', id FROM house"))
            session.execute(text(  # an open alert at every house (map layer, subscription)
                "INSERT INTO safety_alert (county, kind, severity, house_id, opened_at, "
                "last_evidence_at) SELECT county, 'sos', 'high', id, now(), now() FROM house"))
        PROJECTS.update(add_bounded_projects(built.engine, built.world))
        yield built


def scopes_of(aw: ApiWorld) -> list[str]:
    return sorted(k.split(":", 1)[1] for k in aw.tokens if k.startswith("scope:"))


def visible_region(scope: str, world: World, code: str) -> bool:
    """A region code the scope may name: inside it, or the scope's own ancestors (a county
    principal's report names its county; the estate scope lies in its community)."""
    own = world.objects[scope].community if len(scope) == 25 else scope
    return code.startswith(own) or own.startswith(code)


def names_of(world: World) -> dict[str, str]:
    """Estate and facility names (tests/helpers/graphql_world.py) -> the estate code."""
    out: dict[str, str] = {}
    for estate in world.estates:
        ci = world.communities.index(world.objects[estate].community)
        e = int(estate[12:15])
        out[f"测试小区{ci}-{e}"] = estate
        out[f"设施{ci}-{e}"] = estate
    return out


def check(value: Any, scope: str, world: World, key: str = "") -> None:
    """Every code, region code and estate/facility name in ``value`` lies inside ``scope``."""
    names = names_of(world)
    if isinstance(value, dict):
        for k, v in value.items():
            check(v, scope, world, k)
    elif isinstance(value, list):
        for v in value:
            check(v, scope, world, key)
    elif isinstance(value, str):
        if value in world.objects:
            assert world.visible(value, scope), (scope, key, value)
        if value in names:
            assert world.visible(names[value], scope), (scope, key, value)
        if key in ("region_code", "regionCode", "code") and value.isdigit() \
                and len(value) <= 12:
            assert visible_region(scope, world, value), (scope, key, value)


def bearer(aw: ApiWorld, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {aw.tokens[f'scope:{scope}']}"}


def test_map_layers_and_search(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    layers = ("regions", "alerts")  # the rest of the map comes from the tiles (below)
    for gone in ("estates", "buildings", "facilities", "gaps"):
        reply = client.get(f"/map/layers/{gone}.geojson", headers=bearer(aw, world.estates[0]))
        assert reply.status_code == 404, gone

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)), st.sampled_from(layers),
           st.sampled_from(sorted(world.objects)))
    def run(scope: str, layer: str, code: str) -> None:
        reply = client.get(f"/map/layers/{layer}.geojson", headers=bearer(aw, scope))
        assert reply.status_code == 200, reply.text
        features = reply.json()["features"]
        check(features, scope, world)
        if layer == "alerts":  # one open alert per house, drawn at its estate at least
            assert len(features) == sum(o.kind == "house" and world.visible(c, scope)
                                        for c, o in world.objects.items())
        obj = world.objects[code]
        ci = world.communities.index(obj.community)
        for typed in (code, f"测试小区{ci}-{int(obj.estate_code[12:15])}"):
            found = client.get("/map/search", params={"q": typed}, headers=bearer(aw, scope))
            assert found.status_code == 200, found.text
            check(found.json(), scope, world)
            if typed == code and not world.visible(code, scope):
                assert found.json() == []

    run()


OGC_DAYS = (None, "2018-06-01", "2020-01-01", dt.date.today().isoformat(),
            "2018-06-01/..", f"../{dt.date.today().isoformat()}")
OGC_CRSS = (None, "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            "http://www.opengis.net/def/crs/EPSG/0/4490")


def test_ogc_items(aw: ApiWorld, client: TestClient) -> None:
    """Items and single features, with and without ``datetime`` (asOf) and ``crs``."""
    world = aw.world

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)),
           st.sampled_from(("estates", "buildings", "houses", "facilities")),
           st.sampled_from(OGC_DAYS), st.sampled_from(OGC_CRSS),
           st.sampled_from(sorted(world.objects)))
    def run(scope: str, collection: str, day: str | None, crs: str | None,
            code: str) -> None:
        params: dict[str, str | int] = {"limit": 1000}
        params.update({k: v for k, v in (("datetime", day), ("crs", crs)) if v})
        reply = client.get(f"/ogc/collections/{collection}/items", params=params,
                           headers=bearer(aw, scope))
        assert reply.status_code == 200, reply.text
        features = reply.json()["features"]
        check([f["properties"] for f in features], scope, world)
        # the world was built on 2019-01-01 and nothing in it was retired since
        built = day is None or not day.startswith("2018") or day.endswith("..")
        if collection in ("estates", "buildings", "houses"):
            kind = collection[:-1]
            assert len(features) == (sum(o.kind == kind and world.visible(c, scope)
                                         for c, o in world.objects.items()) if built else 0)
        one = client.get(f"/ogc/collections/{world.objects[code].kind}s/items/{code}",
                         params=params, headers=bearer(aw, scope))
        assert one.status_code == (200 if world.visible(code, scope) and built else 404), \
            (scope, code, one.text)
        if one.status_code == 200:
            check(one.json()["properties"], scope, world)

    run()


def test_ogc_gap_items(aw: ApiWorld, client: TestClient) -> None:
    """The computed ``gaps`` collection: exactly the scope's gaps, single gaps 404 outside."""
    world = aw.world
    gaps = sorted(f"{e}-{c}" for e, c in expected_gaps(aw.engine))
    owner = {g: g[:25] for g in gaps}

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)), st.sampled_from(OGC_CRSS), st.sampled_from(gaps))
    def run(scope: str, crs: str | None, gap: str) -> None:
        params: dict[str, str | int] = {"limit": 1000, **({"crs": crs} if crs else {})}
        reply = client.get("/ogc/collections/gaps/items", params=params,
                           headers=bearer(aw, scope))
        assert reply.status_code == 200, reply.text
        features = reply.json()["features"]
        check([f["properties"] for f in features], scope, world)
        assert sorted(f["id"] for f in features) == [
            g for g in gaps if world.visible(owner[g], scope)]
        one = client.get(f"/ogc/collections/gaps/items/{gap}", params=params,
                         headers=bearer(aw, scope))
        assert one.status_code == (200 if world.visible(owner[gap], scope) else 404), one.text

    run()


def test_file_exports(aw: ApiWorld, tmp_path: Path) -> None:
    world = aw.world
    gaps = {f"{e}-{c}": e for e, c in expected_gaps(aw.engine)}

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)),
           st.sampled_from(("estates", "buildings", "houses", "facilities", "gaps")))
    def run(scope: str, layer: str) -> None:
        out = tmp_path / f"{layer}-{scope}.csv"
        with session_scope(aw.engine) as session:
            export_layer(session, scope=with_county_keys(session, parse_scope(scope)),
                         layer=layer, fmt="csv", path=out)
        with out.open(encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        body = rows[1:]
        check(body, scope, world)
        if layer == "gaps":
            assert sorted(r[0] for r in body) == sorted(
                g for g, estate in gaps.items() if world.visible(estate, scope))
        elif layer != "facilities":
            kind = layer[:-1]
            assert len(body) == sum(o.kind == kind and world.visible(c, scope)
                                    for c, o in world.objects.items())
        else:
            assert len(body) == sum(world.visible(e, scope) for e in world.estates)

    run()


def test_roster(aw: ApiWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = aw.world
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL",
                       aw.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CIMHOUSE_SECRET_KEY", TEST_KEY)
    with session_scope(aw.engine) as session:
        names = {name: pid for pid, name in session.execute(text("SELECT id, name FROM person"))}

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)), st.sampled_from(world.communities))
    def run(scope: str, community: str) -> None:
        out = tmp_path / f"roster-{scope}-{community}.xlsx"
        monkeypatch.setenv("CIMHOUSE_TOKEN", aw.tokens[f"scope:{scope}"])
        done = CliRunner().invoke(app, ["roster", "--community", community, "--with-persons",
                                        "--out", str(out)])
        if len(scope) == 25 or not community.startswith(scope):
            assert done.exit_code != 0
            assert not out.exists()
            return
        assert done.exit_code == 0, done.output
        book = load_workbook(out, read_only=True)
        sheets = {n: list(book[n].iter_rows(values_only=True))[1:] for n in book.sheetnames}
        check(sheets, community, world)
        assert {names[r[0]] for r in sheets["人员"]} <= world.persons_in(community)
        assert {r[0] for r in sheets["户"]} == {
            n for n, (code, _m) in world.households.items() if world.visible(code, community)}

    run()


def test_programme_report(aw: ApiWorld) -> None:
    world = aw.world

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)),
           st.sampled_from(sorted({c[:n] for c in world.communities for n in (2, 4, 6, 9)})))
    def run(scope: str, region: str) -> None:
        with session_scope(aw.engine) as session:
            progress = compute_progress(session, with_county_keys(session, parse_scope(scope)),
                                        region, dt.date(2026, 6, 30))
        report = as_dict(progress)
        for county in report["counties"]:
            assert visible_region(scope, world, county["code"]), (scope, county["code"])
            for street in county["streets"]:
                assert visible_region(scope, world, street["code"]), (scope, street["code"])

    run()


def test_alert_subscription(aw: ApiWorld, test_settings: Settings) -> None:
    """Over a real WebSocket: the changed alerts a subscriber hears are exactly the drawn ones
    of its scope (the marker, an alert of the scope notified last, ends each example)."""
    from tests.helpers.live_alerts import live_server, next_alert, notify, subscribe
    from tests.helpers.live_alerts import wait_subscribers as wait

    world = aw.world
    with session_scope(aw.engine) as session:
        alerts = [(str(r.county), int(r.id), str(r.code)) for r in session.execute(text(
            "SELECT a.county, a.id, h.code FROM safety_alert a JOIN house h ON "
            "h.county = a.county AND h.id = a.house_id ORDER BY a.county, a.id"))]
    with live_server(test_settings, aw.engine) as base:

        @settings(PROPERTY, max_examples=25)
        @given(st.sampled_from(scopes_of(aw)),
               st.lists(st.sampled_from(alerts), min_size=1, max_size=8, unique=True))
        def run(scope: str, drawn: list[tuple[str, int, str]]) -> None:
            from cimhouse.graphql.safety_live import subscriber_count

            deadline = dt.datetime.now() + dt.timedelta(seconds=10)
            while subscriber_count():  # the previous example's socket has gone
                assert dt.datetime.now() < deadline
            visible = [a for a in alerts if world.visible(a[2], scope)]
            marker = visible[:1]
            ws = subscribe(base, aw.tokens[f"scope:{scope}"])
            try:
                wait(1)
                notify(aw.engine, [(c, i) for c, i, _ in drawn + marker])
                expected = {code for _c, _i, code in drawn + marker
                            if world.visible(code, scope)}
                heard: set[str] = set()
                while heard != expected:
                    got = next_alert(ws)
                    assert world.visible(got["houseCode"], scope), (scope, got)
                    heard.add(got["houseCode"])
                with pytest.raises(TimeoutError):  # and nothing after the marker
                    next_alert(ws, timeout=0.3 if marker else 1.0)
            finally:
                ws.close()

        run()


def test_readings_only_for_devices_in_scope(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    houses = sorted((o.county, o.id, c) for c, o in world.objects.items() if o.kind == "house")
    at = dt.datetime(2026, 6, 30, 8, 0, tzinfo=dt.UTC)

    drawn = iter(range(1_000_000))  # one timestamp per example: its readings alone

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)), st.lists(st.sampled_from(houses), min_size=1,
                                                     max_size=12, unique=True))
    def run(scope: str, chosen: list[tuple[str, int, str]]) -> None:
        ts = at + dt.timedelta(seconds=next(drawn))
        readings = [{"device": f"D-{county}-{house_id}", "metric": "gas_lel",
                     "ts": ts.isoformat(), "value": 1} for county, house_id, _ in chosen]
        ghost = {"device": "D-000000-0", "metric": "gas_lel", "ts": ts.isoformat(), "value": 1}
        reply = client.post("/safety/readings", json={"readings": [*readings, ghost]},
                            headers=bearer(aw, scope))
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        inside = [code for _c, _i, code in chosen if world.visible(code, scope)]
        # an out-of-scope device reads exactly like the device that does not exist
        assert answer["unknown_device"] == len(chosen) - len(inside) + 1
        with session_scope(aw.engine) as session:
            stored = session.execute(text(
                "SELECT d.county, d.house_id FROM device_reading r JOIN device d "
                "ON d.county = r.county AND d.id = r.device_id WHERE r.ts = :ts"),
                {"ts": ts}).all()
        assert sorted(tuple(r) for r in stored) == sorted(
            (c, i) for c, i, code in chosen if world.visible(code, scope))
        # the answer's notes name the refused devices only as the caller typed them
        notes = " ".join(answer.get("problems", []))
        assert all(o.code not in notes for o in world.objects.values())

    run()


def test_vector_tiles(aw: ApiWorld, client: TestClient) -> None:
    world = aw.world
    zoom, key = {**ZOOM, "gaps": ZOOM["estates"]}, {**KEY, "gaps": "id"}
    with session_scope(aw.engine) as session:
        places = tile_places(session)
        facility_estate = {str(k): v for k, v in session.execute(text(
            "SELECT f.id, e.code FROM facility f JOIN estate e "
            "ON e.county = f.county AND e.id = f.estate_id"))}
    # a gap lies at its estate's point (the estates' tile at the same zoom)
    gap_estate = {f"{e}-{c}": e for e, c in expected_gaps(aw.engine)}
    places["gaps"] = {g: places["estates"][e] for g, e in gap_estate.items()}

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)), st.sampled_from(sorted(places)))
    def run(scope: str, layer: str) -> None:
        token = aw.tokens[f"scope:{scope}"]
        seen: set[str] = set()
        for x, y in sorted(set(places[layer].values())):
            features = fetch_tile(client, token, layer, zoom[layer], x, y)
            check([f["properties"] for f in features], scope, world)
            seen |= {str(f["properties"][key[layer]]) for f in features}
        owner = facility_estate if layer == "facilities" else gap_estate \
            if layer == "gaps" else {k: k for k in places[layer]}
        assert seen == {k for k in places[layer] if world.visible(owner[k], scope)}

    cache = client.app.state.gap_cache  # type: ignore[attr-defined]
    hits = cache.hits
    run()
    # the gaps tiles went through the app's one cache, shared by every scope drawn (a scope
    # is part of its key): the property above holds with the cache serving them
    assert cache.hits > hits or cache.misses > 0


def test_webhook_deliveries(aw: ApiWorld, test_settings: Settings) -> None:
    world = aw.world
    with session_scope(aw.engine) as session:  # one change per object, by code
        after = session.execute(text("SELECT last_seq FROM change_feed_mark")).scalar_one()
        for obj in world.objects.values():
            session.execute(text(
                "INSERT INTO change_log (county, object_kind, object_id, operation, current) "
                "VALUES (:c, :k, :o, 'update', '{\"status\": \"in_use\"}')"),
                {"c": obj.county, "k": obj.kind, "o": obj.code})
    stamp_changes(aw.engine)
    kinds = ["estate", "building", "house", "code"]

    @settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(st.sampled_from(scopes_of(aw)), st.integers(1, 9),
           st.none() | st.lists(st.sampled_from(kinds), min_size=1, unique=True),
           st.booleans())
    def run(scope: str, batch: int, wanted: list[str] | None, flaky: bool) -> None:
        with Receiver(fail_first=1 if flaky else 0) as rx:
            with session_scope(aw.engine) as session:
                hook, secret = add_webhook(session, test_settings, url=rx.url(), scope=scope,
                                           kinds=wanted, actor="t", since=after,
                                           batch_size=batch, base_delay_s=0)
                hook_id = hook.id
            try:
                drain_webhook(aw.engine, test_settings, hook_id)
            finally:
                with session_scope(aw.engine) as session:
                    remove_webhook(session, hook_id, "t")
        got = received_changes(rx.delivered, secret)
        check(got, scope, world)
        objects = [c["objectId"] for c in got if c["kind"] != "code"]
        assert sorted(objects) == sorted(
            code for code, o in world.objects.items() if world.visible(code, scope)
            and (wanted is None or o.kind in wanted))
        assert not [c for c in got if c["kind"] in ("person", "person_house")]
        cursors = [int(c["cursor"]) for c in got]
        assert cursors == sorted(set(cursors))  # in feed order, each once

    run()


def test_project_boundaries(aw: ApiWorld, client: TestClient, tmp_path: Path) -> None:
    """The ``projects`` layer (OGC, tiles, export): exactly the projects every community of
    which lies in the scope; a single feature outside reads as unknown."""
    assert len(PROJECTS) > 2
    with session_scope(aw.engine) as session:
        tiles = {pid: tile_of(lon, lat, 12) for pid, lon, lat in session.execute(text(
            "SELECT id, ST_X(ST_PointOnSurface(boundary)), ST_Y(ST_PointOnSurface(boundary)) "
            "FROM future_project WHERE boundary IS NOT NULL"))}
    assert set(tiles) == set(PROJECTS)
    out = tmp_path / "projects.csv"

    @PROPERTY
    @given(st.sampled_from(scopes_of(aw)), st.sampled_from(sorted(PROJECTS)))
    def run(scope: str, pid: int) -> None:
        expected = {p for p, cs in PROJECTS.items() if boundary_visible_in(cs, scope)}
        reply = client.get("/ogc/collections/projects/items", params={"limit": 1000},
                           headers=bearer(aw, scope))
        assert reply.status_code == 200, reply.text
        assert {f["properties"]["id"] for f in reply.json()["features"]} == expected, scope
        one = client.get(f"/ogc/collections/projects/items/{pid}", headers=bearer(aw, scope))
        assert one.status_code == (200 if pid in expected else 404), (scope, pid)
        seen: set[int] = set()
        for x, y in sorted(set(tiles.values())):
            features = fetch_tile(client, aw.tokens[f"scope:{scope}"], "projects", 12, x, y)
            seen |= {int(f["properties"]["id"]) for f in features}
        assert seen == expected, scope
        with session_scope(aw.engine) as session:
            export_layer(session, scope=with_county_keys(session, parse_scope(scope)),
                         layer="projects", fmt="csv", path=out)
        with out.open(encoding="utf-8-sig") as f:
            assert {int(r[0]) for r in list(csv.reader(f))[1:]} == expected, scope

    run()

