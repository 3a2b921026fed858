"""The one engine factory and the edge-owned transaction helper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from cimhouse.db.embedded import EmbeddedCluster
from cimhouse.settings import Settings


def embedded_cluster(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.pg_dir, settings.pg_bindir)


def database_url(settings: Settings, *, start: bool = True) -> str:
    """The URL to use: ``CIMHOUSE_DATABASE_URL``, or the embedded cluster (started on demand)."""
    if settings.database_url:
        return settings.database_url
    cluster = embedded_cluster(settings)
    if start:
        cluster.start()
        cluster.ensure_database(settings.database_name)
    return cluster.url(settings.database_name)


def make_engine(settings: Settings, *, url: str | None = None,
                statement_timeout_ms: int | None = None, custom_plans: bool = True,
                **kwargs: object) -> Engine:
    """Create the SQLAlchemy engine for ``settings`` (the only place engines are made).

    Connections use UTC and, when given, a statement timeout in milliseconds.

    ``custom_plans`` (default on) sets ``plan_cache_mode = force_custom_plan``: psycopg
    prepares a statement after its fifth execution, and PostgreSQL then may switch to one
    generic plan for all parameter values. Scoped statements carry the scope as parameters
    (a range of community codes that holds one community or a whole province), so a generic
    plan fits none of them: at 1M houses it walked the county-wide range of the house index
    and the nested GraphQL query's houses statement went from ~2 ms to 44-50 ms. Custom
    plans keep the prepared statement (no parse per execution) and plan with the values;
    planning these statements costs well under a millisecond (docs/performance.md).
    ``False`` is for measuring that choice only.
    """
    timeout = statement_timeout_ms
    engine = create_engine(
        url or database_url(settings),
        pool_pre_ping=True,
        future=True,
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            if timeout:
                cur.execute(f"SET statement_timeout = {int(timeout)}")
            if custom_plans:
                cur.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_conn.commit()

    return engine


@lru_cache(maxsize=8)
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Open a session whose transaction commits on success and rolls back on error.

    Only edges (CLI commands, HTTP requests, worker tasks) use this; domain functions take
    the session and never commit.
    """
    session = _sessionmaker(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
