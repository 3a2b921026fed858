"""OGC API Features under /ogc, read by GDAL's own client (ogrinfo OAPIF:) from a running
server: collections, features, paging, bbox, and a county's token never gets another county's
features (issue 17)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy import Engine

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, make_engine, session_scope
from cimhouse.settings import Settings
from tests.helpers.graphql_world import World, build_world, issue_token

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
