"""The embedded cluster: created on first start, data survives stop/start."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cimhouse.db import EmbeddedCluster


@pytest.fixture
def cluster() -> Iterator[EmbeddedCluster]:
    root = Path(tempfile.mkdtemp(prefix="cimemb-", dir="/tmp"))
    c = EmbeddedCluster(root / "pg")
    yield c
    c.destroy()


def test_start_stop_restart_keeps_data(cluster: EmbeddedCluster) -> None:
    assert not cluster.status().initialised
    assert cluster.start() is True
    assert cluster.start() is False  # already running: idempotent
    cluster.ensure_database("keep")
    with psycopg.connect(cluster.conninfo("keep"), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (v text)")
        conn.execute("INSERT INTO t VALUES ('survives')")
        assert conn.execute("SELECT postgis_version()").fetchone()
    status = cluster.status()
    assert status.running
    assert status.pid
    assert cluster.stop() is True
    assert cluster.stop() is False
    assert not cluster.status().running
    cluster.start()
    with psycopg.connect(cluster.conninfo("keep")) as conn:
        assert conn.execute("SELECT v FROM t").fetchone() == ("survives",)


def test_unix_socket_only(cluster: EmbeddedCluster) -> None:
    cluster.start()
    with psycopg.connect(cluster.conninfo("postgres")) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
    assert any(p.name.startswith(".s.PGSQL") for p in cluster.socket_dir.iterdir())
