"""A local Citus cluster: a coordinator and workers, each an :class:`EmbeddedCluster`.

Used by the test suite (``CIMHOUSE_TEST_CITUS=1``) and ``bench/bench_citus.py``; production
runs Citus from its own packages. Every node listens on a Unix socket only, under
``root/<node>/run``, and loads ``citus`` at start. It offers the database methods of
:class:`EmbeddedCluster` (``url``, ``conninfo``, ``ensure_database``, ``drop_database``) so
callers need not know they talk to several nodes.

Citus 13.0 does not propagate ``CREATE DATABASE``: :meth:`ensure_database` creates the database
with PostGIS and Citus on every node and registers the coordinator and the workers in it. A copy
(``template=``) is made node by node from the same template on each node, which is consistent
because the Citus metadata names shards and nodes, never the database.

Example::

    nodes = LocalCitusCluster(Path("/tmp/citus"), workers=2)
    nodes.start()
    nodes.ensure_database("cimhouse")        # on 3 nodes, workers registered
    print(nodes.url("cimhouse"))             # the coordinator
    nodes.destroy()
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from psycopg import sql

from cimhouse.db.embedded import EmbeddedCluster
from cimhouse.errors import DatabaseUnavailable
from cimhouse.i18n import _

PORT = 5432  # every node its own socket directory, so all use the default port

NODE_OPTIONS = {
    "shared_preload_libraries": "'citus'",
    # Citus runs a maintenance daemon per database: room for many test databases.
    "max_worker_processes": "64",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "max_prepared_transactions": "200",  # 2PC of multi-node writes
}


class LocalCitusCluster:
    """Coordinator + ``workers`` worker nodes under ``root``."""

    def __init__(self, root: Path, *, workers: int = 2, shard_count: int = 32,
                 bindir: Path | None = None, options: dict[str, str] | None = None) -> None:
        opts = {**NODE_OPTIONS, "citus.shard_count": str(shard_count), **(options or {})}
        self.root = root.resolve()
        self.coordinator = EmbeddedCluster(self.root / "coordinator", bindir, opts)
        self.workers = [EmbeddedCluster(self.root / f"worker{i + 1}", bindir, opts)
                        for i in range(workers)]

    @property
    def nodes(self) -> list[EmbeddedCluster]:
        return [self.coordinator, *self.workers]

    @property
    def socket_dir(self) -> Path:
        return self.coordinator.socket_dir

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> bool:
        started = [node.start() for node in self.nodes]
        return any(started)

    def stop(self, mode: str = "fast") -> bool:
        stopped = [node.stop(mode) for node in self.nodes]
        return any(stopped)

    def destroy(self) -> None:
        for node in self.nodes:
            node.destroy()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -----------------------------------------------------------------------
    def conninfo(self, dbname: str) -> str:
        return self.coordinator.conninfo(dbname)

    def url(self, dbname: str) -> str:
        return self.coordinator.url(dbname)

    def ensure_database(self, dbname: str, template: str | None = None) -> bool:
        """Create ``dbname`` on every node (PostGIS, Citus, nodes registered), or copy
        ``template`` on every node; return True when it was created."""
        with psycopg.connect(self.coordinator.conninfo("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (dbname,)).fetchone():
                return False
        if template:
            # the nodes copy at the same time (each its own server): a copy waits mostly
            # for its files, and the test suite makes one per test that commits
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                list(pool.map(lambda node: _copy_database(node, dbname, template), self.nodes))
            return True
        for node in self.workers:
            _create_database(node, dbname)
        _create_database(self.coordinator, dbname)
        with psycopg.connect(self.coordinator.conninfo(dbname), autocommit=True) as conn:
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)",
                         (str(self.coordinator.socket_dir), PORT))
            for node in self.workers:
                conn.execute("SELECT citus_add_node(%s, %s)", (str(node.socket_dir), PORT))
        return True

    def drop_database(self, dbname: str) -> None:
        """Drop ``dbname`` on every node; retried while Citus's maintenance daemon (which
        ``WITH (FORCE)`` does not end) still holds it."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: _drop_database(node, dbname), self.nodes))


def _drop_database(node: EmbeddedCluster, dbname: str) -> None:
    for attempt in range(50):
        try:
            node.drop_database(dbname)
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(0.05 * (attempt + 1))
    raise DatabaseUnavailable(_("database {dbname} stays in use on {node}",
                                dbname=dbname, node=node.root.name))


def _create_database(node: EmbeddedCluster, dbname: str) -> None:
    with psycopg.connect(node.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    with psycopg.connect(node.conninfo(dbname), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS citus")


def _copy_database(node: EmbeddedCluster, dbname: str, template: str) -> None:
    """CREATE DATABASE ... TEMPLATE on one node: the template must have no session, and
    Citus keeps one open (its maintenance daemon, cached connections): end them and retry."""
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(dbname), sql.Identifier(template))
    with psycopg.connect(node.conninfo("postgres"), autocommit=True) as conn:
        for attempt in range(50):
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (template,))
            try:
                conn.execute(create)
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.05 * (attempt + 1))
    raise DatabaseUnavailable(_("template {template} stays in use on {root}", template=template,
                                root=node.root.name))
