"""Which cluster the suite runs on, and database clones (the fixtures are in conftest.py)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import Engine, text

from cimhouse.db import EmbeddedCluster

ON_CITUS = os.environ.get("CIMHOUSE_TEST_CITUS", "") not in ("", "0")


def citus_only(reason: str) -> pytest.MarkDecorator:
    """Skip a test on plain PostgreSQL: it checks Citus itself."""
    return pytest.mark.skipif(not ON_CITUS, reason=reason)


def not_on_citus(reason: str) -> pytest.MarkDecorator:
    """Skip a test on Citus, with the reason it cannot work there by design."""
    return pytest.mark.skipif(ON_CITUS, reason=reason)


def clone_database(cluster: EmbeddedCluster, template: str, prefix: str = "t") -> str:
    """A new database copied from ``template``; its name starts with ``prefix``."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    cluster.ensure_database(name, template=template)
    return name


def someone_waits(engine: Engine) -> bool:
    """A backend of the database waits for a lock; on Citus on any node (a reference
    table's shard lock is taken on the first worker: ``citus_lock_waits``)."""
    with engine.connect() as conn:
        if ON_CITUS:
            return bool(conn.execute(text("SELECT count(*) FROM citus_lock_waits")).scalar())
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()")).scalar())
