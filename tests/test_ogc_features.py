"""OGC API Features under /ogc, read by GDAL's own client (ogrinfo OAPIF:) from a running
server: collections, features, paging, bbox, CRS (Part 2) and datetime, and a county's token
never gets another county's features, with or without crs and datetime (issue 17).

GDAL 3.6 has no CRS option of its own; it passes the query of the URL it is given
(``OAPIF:.../ogc?crs=...&datetime=...``) on to every items request, which is how these tests
ask for another CRS or a day.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from cimhouse.api.app import create_app
from cimhouse.coding.retire_house import retire_house
from cimhouse.crs import OGC_CRS84, OGC_STORAGE_CRS
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.settings import Settings
from tests.helpers.graphql_world import World, build_world, issue_token
from tests.helpers.projects import add_bounded_projects, boundary_visible_in

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None,
                                reason="gdal-bin (ogrinfo) is installed by `make test`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings
           ) -> Iterator[tuple[str, World, dict[str, str]]]:
    from tests.helpers.database import clone_database

    name = clone_database(pg_cluster, template_db, "ogc")
    engine: Engine = make_engine(test_settings, url=pg_cluster.url(name))
    with session_scope(engine) as session:
        world = build_world(session, test_settings, estates=2, buildings=2, houses=3)
        a, b = world.communities[0], world.communities[-1]
        tokens = {"a": issue_token(session, a[:6], "reader", name="ogc-a"),
                  "b": issue_token(session, b[:6], "reader", name="ogc-b")}
        # demolished today: absent from datetime=today, present the day before
        demolished = min(c for c, o in world.objects.items()
                         if o.kind == "house" and o.county == a[:6])
        retire_house(session, demolished, "demolished", actor="tests", reason="拆除")
        tokens["demolished"] = demolished
    PROJECTS.update(add_bounded_projects(engine, world))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(test_settings, engine=engine),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/ogc", world, tokens
    srv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    pg_cluster.drop_database(name)


PROJECTS: dict[int, list[str]] = {}  # future projects with a boundary: id -> communities


def _ogrinfo(url: str, token: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    config = (["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"]
              if token else [])
    env = {**os.environ, "CPL_DEBUG": "OFF"}
    return subprocess.run(["ogrinfo", "-ro", *config, f"OAPIF:{url}", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def _codes(out: str) -> set[str]:
    return {line.split("=", 1)[1].strip() for line in out.splitlines()
            if line.strip().startswith("code (String) =")}


def test_gdal_lists_collections_and_reads_features(
        server: tuple[str, World, dict[str, str]]) -> None:
    url, world, tokens = server
    listed = _ogrinfo(url, tokens["a"])
    assert listed.returncode == 0, listed.stderr
    for layer in ("estates", "buildings", "houses", "facilities"):
        assert layer in listed.stdout
    county = world.communities[0][:6]
    got = _ogrinfo(url, tokens["a"], "houses")
    assert got.returncode == 0, got.stderr
    expected = {c for c, o in world.objects.items() if o.kind == "house"
                and world.visible(c, county)}
    assert _codes(got.stdout) == expected


def test_paging_follows_next_links(server: tuple[str, World, dict[str, str]]) -> None:
    url, _, tokens = server
    whole = _codes(_ogrinfo(url, tokens["a"], "houses").stdout)
    paged = _ogrinfo(url, tokens["a"], "-oo", "PAGE_SIZE=2", "houses")
    assert paged.returncode == 0, paged.stderr
    assert _codes(paged.stdout) == whole
    assert len(whole) > 2


def test_bbox_filters(server: tuple[str, World, dict[str, str]]) -> None:
    url, _, tokens = server
    got = _ogrinfo(url, tokens["a"], "-spat", "0", "0", "1", "1", "estates")
    assert got.returncode == 0, got.stderr
    assert _codes(got.stdout) == set()
    near = _ogrinfo(url, tokens["a"], "-spat", "119", "29", "122", "32", "estates")
    assert _codes(near.stdout)


def test_one_county_never_gets_the_other(server: tuple[str, World, dict[str, str]]) -> None:
    url, world, tokens = server
    a, b = world.communities[0][:6], world.communities[-1][:6]
    assert a != b
    for layer, kind in (("houses", "house"), ("estates", "estate"), ("buildings", "building")):
        seen_by_b = _codes(_ogrinfo(url, tokens["b"], layer).stdout)
        assert seen_by_b
        assert not seen_by_b & {c for c, o in world.objects.items()
                                              if o.kind == kind and world.visible(c, a)}
    refused = _ogrinfo(url, None, "houses")
    assert refused.returncode != 0


def _points(out: str) -> list[tuple[float, float]]:
    found = []
    for line in out.splitlines():
        text = line.strip()
        if text.startswith("POINT ("):
            x, y = text.removeprefix("POINT (").rstrip(")").split()
            found.append((float(x), float(y)))
    return found


def _get(url: str, token: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def test_gdal_reads_features_in_another_crs(server: tuple[str, World, dict[str, str]]) -> None:
    """EPSG:4490 (CGCS2000) has latitude first: the same points, axes swapped."""
    url, _, tokens = server
    crs84 = _ogrinfo(url, tokens["a"], "facilities")
    cgcs = _ogrinfo(f"{url}?crs={EPSG4490}", tokens["a"], "facilities")
    assert crs84.returncode == 0, crs84.stderr
    assert cgcs.returncode == 0, cgcs.stderr
    lonlat, latlon = _points(crs84.stdout), _points(cgcs.stdout)
    assert lonlat
    assert len(latlon) == len(lonlat)
    for (lon, lat), (lat2, lon2) in zip(lonlat, latlon, strict=True):
        assert 119 < lon < 122 and 29 < lat < 32  # noqa: PT018 (one coordinate pair)
        # WGS 84 and CGCS2000 agree to centimetres here
        assert abs(lon - lon2) < 1e-6 and abs(lat - lat2) < 1e-6  # noqa: PT018


def test_gdal_reads_features_on_a_day(server: tuple[str, World, dict[str, str]]) -> None:
    url, world, tokens = server
    county = world.communities[0][:6]
    mine = {c for c, o in world.objects.items() if o.kind == "house"
            and world.visible(c, county)}
    today = dt.date.today()
    now = _codes(_ogrinfo(f"{url}?datetime={today}", tokens["a"], "houses").stdout)
    before = _codes(_ogrinfo(f"{url}?datetime={today - dt.timedelta(days=1)}T12:00:00Z",
                             tokens["a"], "houses").stdout)
    assert now == mine - {tokens["demolished"]}
    assert before == mine
    built = _codes(_ogrinfo(f"{url}?datetime=2018-06-01", tokens["a"], "houses").stdout)
    assert built == set()  # the world was built on 2019-01-01
    interval = _ogrinfo(f"{url}?datetime=2018-06-01/{today}&crs={EPSG4490}", tokens["a"],
                        "houses")
    assert _codes(interval.stdout) == mine  # existed on some day of it


def test_crs_metadata_headers_and_bbox_crs(server: tuple[str, World, dict[str, str]]) -> None:
    url, _, tokens = server
    status, _, conformance = _get(f"{url}/conformance", tokens["a"])
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in \
        conformance["conformsTo"]
    _, _, meta = _get(f"{url}/collections/facilities", tokens["a"])
    assert meta["storageCrs"] == OGC_STORAGE_CRS
    assert {OGC_CRS84, EPSG4490} <= set(meta["crs"])
    status, headers, body = _get(f"{url}/collections/facilities/items?crs={EPSG4490}",
                                 tokens["a"])
    assert status == 200
    assert headers["content-crs"] == f"<{EPSG4490}>"
    lat, lon = body["features"][0]["geometry"]["coordinates"]
    # bbox-crs EPSG:4490 is latitude first as well
    box = f"{lat - 0.0001},{lon - 0.0001},{lat + 0.0001},{lon + 0.0001}"
    _, headers, near = _get(f"{url}/collections/facilities/items?bbox={box}"
                            f"&bbox-crs={EPSG4490}", tokens["a"])
    assert headers["content-crs"] == f"<{OGC_CRS84}>"
    assert [f["id"] for f in near["features"]] == [body["features"][0]["id"]]
    wrong, _, _ = _get(f"{url}/collections/facilities/items?crs=EPSG:3857", tokens["a"])
    assert wrong == 422
    one_id = body["features"][0]["id"]
    status, headers, one = _get(f"{url}/collections/facilities/items/{one_id}?crs={EPSG4490}",
                                tokens["a"])
    assert (status, one["geometry"]["coordinates"]) == (200, [lat, lon])
    assert _get(f"{url}/collections/facilities/items/{one_id}", tokens["b"])[0] == 404


def test_scope_holds_with_crs_and_datetime(server: tuple[str, World, dict[str, str]]) -> None:
    url, world, tokens = server
    a = world.communities[0][:6]
    theirs = {c for c, o in world.objects.items() if world.visible(c, a)}
    for query in (f"?crs={EPSG4490}", f"?datetime={dt.date.today()}",
                  f"?datetime=../{dt.date.today()}&crs={EPSG4490}",
                  f"?datetime=2020-01-01/..&bbox-crs={EPSG4490}"):
        for layer in ("houses", "estates", "buildings"):
            seen_by_b = _codes(_ogrinfo(f"{url}{query}", tokens["b"], layer).stdout)
            assert seen_by_b, (query, layer)
            assert not seen_by_b & theirs, (query, layer)
        for code in sorted(theirs)[:3]:
            kind = world.objects[code].kind + "s"
            assert _get(f"{url}/collections/{kind}/items/{code}{query}",
                        tokens["b"])[0] == 404


def test_gdal_reads_project_boundaries_of_the_scope_only(
        server: tuple[str, World, dict[str, str]]) -> None:
    """The ``projects`` collection: a county's token gets the boundaries of the projects
    all of whose communities are in the county, not one spanning two counties."""
    url, world, tokens = server
    listed = _ogrinfo(url, tokens["a"])
    assert "projects" in listed.stdout, listed.stdout
    for token, community in (("a", world.communities[0]), ("b", world.communities[-1])):
        county = community[:6]
        got = _ogrinfo(url, tokens[token], "projects")
        assert got.returncode == 0, got.stderr
        ids = {int(line.split("=", 1)[1]) for line in got.stdout.splitlines()
               if line.strip().startswith("id (Integer") and "=" in line}
        expected = {p for p, cs in PROJECTS.items() if boundary_visible_in(cs, county)}
        assert expected
        assert ids == expected, got.stdout
        assert "MULTIPOLYGON" in got.stdout
    spanning = [p for p, cs in PROJECTS.items() if len({c[:6] for c in cs}) > 1]
    assert spanning
    for token in ("a", "b"):
        status, _headers, _body = _get(f"{url}/collections/projects/items/{spanning[0]}",
                                       tokens[token])
        assert status == 404
    # no history to rewind: a day is refused, worded in the request's language
    status, _headers, body = _get(f"{url}/collections/projects/items?datetime=2026-01-01",
                                  tokens["a"])
    assert status == 422, body
    assert "datetime" in json.dumps(body, ensure_ascii=False)

