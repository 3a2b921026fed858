"""What every benchmark shares: a throwaway cluster, migrated databases, and the load line.

A benchmark's own file keeps what it measures; this module keeps how it gets a database::

    from harness import bench_cluster, print_load

    with bench_cluster() as bench:
        engine = bench.database("template_codes")          # created, migrated
        ...fill it...
        engine.dispose()
        bound = bench.database("bound", template="template_codes")  # a copy
        ...
        print_load()

The cluster lives in a temp dir under /tmp and is destroyed on the way out (``keep``: a
directory that survives, the cluster only stopped, for re-running a benchmark on its data).
A local Citus cluster (coordinator + workers) lives next to it::

    with bench_cluster() as bench, bench_citus(bench, shard_count=32) as nodes:
        engine = make_engine(bench.settings, url=nodes.url("bench"))
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from cimhouse.db import EmbeddedCluster, make_engine
from cimhouse.db.citus_nodes import LocalCitusCluster
from cimhouse.db.migrate import upgrade
from cimhouse.settings import Settings

#: a fixed PII key: benchmarks hold synthetic persons only
KEY = "a" * 43 + "="


@dataclass
class Bench:
    root: Path
    cluster: EmbeddedCluster
    settings: Settings

    def database(self, name: str, *, template: str | None = None,
                 migrate: bool = True) -> Engine:
        """An engine on database ``name``, created when missing (a copy of ``template`` when
        given, else empty and migrated to head unless ``migrate`` is False)."""
        self.cluster.ensure_database(name, template=template)
        engine = make_engine(self.settings, url=self.cluster.url(name))
        if template is None and migrate:
            upgrade(engine)
        return engine


@contextmanager
def bench_cluster(prefix: str = "cimbench-", keep: Path | None = None) -> Iterator[Bench]:
    """A started throwaway cluster; destroyed afterwards (only stopped when ``keep``)."""
    root = keep or Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    cluster = EmbeddedCluster(root / "pg")
    cluster.start()
    try:
        yield Bench(root, cluster, Settings(var_dir=root, secret_key_b64=KEY))
    finally:
        if keep is None:
            cluster.destroy()
            shutil.rmtree(root, ignore_errors=True)
        else:
            cluster.stop()


@contextmanager
def bench_citus(bench: Bench, *, workers: int = 2,
                shard_count: int = 32) -> Iterator[LocalCitusCluster]:
    """A started local Citus cluster (coordinator + ``workers``, Unix sockets under
    ``bench.root``), ``shard_count`` shards per distributed table; destroyed afterwards."""
    nodes = LocalCitusCluster(bench.root / "citus", workers=workers, shard_count=shard_count)
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.destroy()


def time_statements(engine: Engine) -> list[tuple[float, str]]:
    """Collect (seconds, statement start) of every statement the engine runs from now on."""
    timings: list[tuple[float, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def finished(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seconds = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        timings.append((seconds, " ".join(statement.split())[:90]))

    return timings


def machine_load() -> str:
    """``1.2, 0.9, 0.7 on 2 cores``: printed with the figures, since they depend on it."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{load} on {os.cpu_count()} cores"


def print_load() -> None:
    print(f"machine load average at the end (1/5/15 min): {machine_load()}")


def copy_bound(engine: Engine, path: Path) -> float:
    """Seconds to COPY a CSV file into an unlogged table of text columns: the lower bound of
    any import of that file. The table is dropped at once (autovacuum would otherwise work
    on its fresh rows on one of the cores while the measured import runs)."""
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8-sig")
    columns = ", ".join(f"c{i} text" for i in range(len(header.split(","))))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"CREATE UNLOGGED TABLE copy_bound ({columns})")
        started = time.perf_counter()
        with path.open("rb") as handle, cur.copy(
                "COPY copy_bound FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        raw.commit()
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE copy_bound")
        raw.commit()
        return seconds
    finally:
        raw.close()
