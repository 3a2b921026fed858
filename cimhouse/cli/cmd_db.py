"""``cimhouse db ...``: the embedded cluster and migrations."""

from __future__ import annotations

import typer

from cimhouse.cli.common import (
    console,
    engine,
    handle_errors,
    print_json,
    print_summary,
    quiet_logs,
    settings,
)
from cimhouse.errors import EXIT_NOT_RUNNING, ConfigurationError, InvalidInput
from cimhouse.i18n import _

# the database modules (SQLAlchemy, Alembic) are imported inside each command: `db --help`
# answers without them

db_app = typer.Typer(help="Run the embedded PostgreSQL + PostGIS cluster and migrations.",
                     no_args_is_help=True)


def _require_embedded() -> None:
    if not settings().embedded:
        raise ConfigurationError(_("CIMHOUSE_DATABASE_URL is set: the server is managed "
                                   "elsewhere"))


@db_app.command("start")
@handle_errors
def start() -> None:
    """Create (first time) and start the embedded cluster under ./var/pg.

    Example: cimhouse db start
    """
    from cimhouse.db import embedded_cluster
    from cimhouse.pii import load_master_key

    _require_embedded()
    current = settings()
    cluster = embedded_cluster(current)
    started = cluster.start()
    cluster.ensure_database(current.database_name)
    load_master_key(current)  # generates var/secret.key on first start
    console.print(_("started: {where}", where=cluster.socket_dir) if started
                  else _("already running: {where}", where=cluster.socket_dir))


@db_app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the embedded cluster (data stays in ./var/pg).

    Example: cimhouse db stop
    """
    from cimhouse.db import embedded_cluster

    _require_embedded()
    stopped = embedded_cluster(settings()).stop()
    console.print(_("stopped") if stopped else _("not running"))


@db_app.command("status")
@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show whether the embedded cluster exists and runs.

    Example: cimhouse db status --json
    """
    from cimhouse.db import embedded_cluster

    current = settings()
    info: dict[str, object]
    if not current.embedded:
        info = {"mode": "external", "url": "CIMHOUSE_DATABASE_URL"}
    else:
        st = embedded_cluster(current).status()
        info = {"mode": "embedded", "initialised": st.initialised, "running": st.running,
                "pid": st.pid, "data_dir": str(st.data_dir), "socket_dir": str(st.socket_dir)}
    if as_json:
        print_json(info)
    else:  # a process id is a name, not a quantity: no thousands separator
        print_summary(info | {"pid": str(info["pid"]) if info.get("pid") else None},
                      _("database"))
    if current.embedded and not info["running"]:
        raise typer.Exit(code=EXIT_NOT_RUNNING)


@db_app.command("upgrade")
@handle_errors
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply the Alembic migrations (starts the embedded cluster if needed).

    Example: cimhouse db upgrade
    """
    from alembic.util import CommandError

    from cimhouse.db import database_url
    from cimhouse.db import migrate as migrations

    _check_revision(revision)  # before the cluster starts: a typo is no reason to start it
    current = settings()
    database_url(current)
    try:
        with quiet_logs():
            migrations.upgrade(engine(current), revision)
    except CommandError as exc:  # e.g. a relative target past the newest revision
        raise InvalidInput(_("cannot upgrade to {revision!r}: {error}", revision=revision,
                             error=exc)) from None
    console.print(_("database at {revision}", revision=revision))


def _check_revision(revision: str) -> None:
    """InvalidInput unless ``revision`` names migrations (an id, a prefix, heads, +N, ...)."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from cimhouse.db import migrate as migrations

    script = ScriptDirectory.from_config(migrations.alembic_config())
    try:
        script.get_revisions(revision)
    except (CommandError, RevisionError) as exc:
        known = ", ".join(sorted(r.revision for r in script.walk_revisions()))
        raise InvalidInput(_("unknown revision {revision!r} ({error}); the revisions are "
                             "{known}, or heads", revision=revision, error=exc,
                             known=known)) from None


@db_app.command("distribute")
@handle_errors
def distribute(
    shard_count: int = typer.Option(0, "--shard-count", min=0,
                                    help="Shards per distributed table (0: citus.shard_count)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Distribute the migrated schema on Citus: reference and county-distributed tables.

    Idempotent (tables already distributed are skipped); needs the citus extension in the
    database and the workers registered (citus_add_node). Run it after `db upgrade`.

    Example: CIMHOUSE_DATABASE_URL=postgresql+psycopg://postgres@/cimhouse?host=/run/pg \\
        cimhouse db distribute --json
    """
    from cimhouse.db import database_url
    from cimhouse.db import distribute as distribution

    current = settings()
    database_url(current)
    with engine(current).connect() as conn:
        report = distribution.distribute(conn, shard_count=shard_count or None)
    if as_json:
        print_json(report.__dict__)
    else:
        console.print(_("Citus {version}, {workers} workers: {created} tables distributed "
                        "now, {skipped} already were", version=report.citus_version,
                        workers=report.workers, created=len(report.created),
                        skipped=len(report.skipped)))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
