"""Database access: the engine factory, the embedded cluster and migrations.

Start with :func:`make_engine` (one engine per process) and :func:`session_scope` (the
transaction owned by the edge). :mod:`cimhouse.db.migrate` runs the Alembic migrations.
"""

from cimhouse.db.embedded import EmbeddedCluster
from cimhouse.db.engine import database_url, embedded_cluster, make_engine, session_scope

__all__ = ["EmbeddedCluster", "database_url", "embedded_cluster", "make_engine", "session_scope"]
