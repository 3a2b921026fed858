"""A private PostgreSQL + PostGIS cluster run by cimhouse itself (Unix socket only).

The cluster lives in one directory (``data/`` for the cluster, ``run/`` for the socket, ``log``
for the server log). When the caller is root, the server runs as the ``postgres`` OS user,
because initdb and postgres refuse to run as root.

Example::

    cluster = EmbeddedCluster(Path("var/pg"))
    cluster.start()          # initdb on first use, then pg_ctl start
    cluster.ensure_database("cimhouse")
    print(cluster.url("cimhouse"))
    cluster.stop()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from cimhouse.errors import ConfigurationError, DatabaseUnavailable
from cimhouse.i18n import _

SUPERUSER = "postgres"
SERVER_OPTIONS = {
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
    "fsync": "on",
    "max_connections": "100",
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "timezone": "'UTC'",
}


def find_pg_bindir(explicit: Path | None = None) -> Path:
    """Locate the PostgreSQL 15 server binaries (``initdb``, ``pg_ctl``)."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(explicit)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/15/bin"))]
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(Path(which).resolve().parent)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ConfigurationError(
        _("PostgreSQL server binaries not found: install postgresql-15-postgis-3 (make demo does) "
          "or set CIMHOUSE_PG_BINDIR")
    )


@dataclass
class ClusterStatus:
    initialised: bool
    running: bool
    data_dir: Path
    socket_dir: Path
    pid: int | None


class EmbeddedCluster:
    """Create, start and stop a private PostgreSQL cluster under ``root``."""

    def __init__(self, root: Path, bindir: Path | None = None,
                 options: dict[str, str] | None = None) -> None:
        self.root = root.resolve()
        # Server settings over SERVER_OPTIONS, written by initdb (e.g. Citus's preload library).
        self.options = {**SERVER_OPTIONS, **(options or {})}
        self.bindir = find_pg_bindir(bindir)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0

    # -- paths and processes -------------------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        if self._as_postgres:
            return ["runuser", "-u", SUPERUSER, "--", *args]
        return list(args)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self._cmd(*args), capture_output=True, text=True, cwd="/", check=False
        )
        if check and proc.returncode != 0:
            raise DatabaseUnavailable(
                _("{name} failed (exit {returncode}): {stderr}", name=Path(args[0]).name,
                  returncode=proc.returncode, stderr=(proc.stderr or proc.stdout).strip()[-800:])
            )
        return proc

    def _prepare_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if not self._as_postgres:
            return
        try:
            pg = pwd.getpwnam(SUPERUSER)
        except KeyError as exc:
            raise ConfigurationError(
                _("running as root needs the 'postgres' OS user (installed with postgresql-15)")
            ) from exc
        # The server, running as postgres, must reach its directory: grant search (x) on
        # ancestors that lack it, e.g. /root (mode 0700) when the clone lives there.
        for parent in reversed(self.root.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)
        for path in (self.root, self.socket_dir):
            os.chown(path, pg.pw_uid, pg.pw_gid)
        if self.log_file.exists():
            os.chown(self.log_file, pg.pw_uid, pg.pw_gid)

    # -- lifecycle -----------------------------------------------------------------------
    def status(self) -> ClusterStatus:
        initialised = (self.data_dir / "PG_VERSION").exists()
        pid: int | None = None
        running = False
        if initialised:
            proc = self._run(str(self.bindir / "pg_ctl"), "status", "-D", str(self.data_dir),
                             check=False)
            running = proc.returncode == 0
            pid_file = self.data_dir / "postmaster.pid"
            if running and pid_file.exists():
                pid = int(pid_file.read_text().splitlines()[0])
        return ClusterStatus(initialised, running, self.data_dir, self.socket_dir, pid)

    def init(self) -> bool:
        """Run initdb if the cluster does not exist yet; return True when it was created."""
        if (self.data_dir / "PG_VERSION").exists():
            return False
        self._prepare_dirs()
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
            "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-instructions",
        )
        conf = self.data_dir / "postgresql.auto.conf"
        lines = [f"{key} = {value}" for key, value in self.options.items()]
        lines.append(f"unix_socket_directories = '{self.socket_dir}'")
        with conf.open("a") as handle:
            handle.write("\n".join(lines) + "\n")
        return True

    def start(self) -> bool:
        """Initialise if needed and start; return True when a server was started now."""
        self.init()
        if self.status().running:
            return False
        self._prepare_dirs()
        self._run(
            str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data_dir),
            "-l", str(self.log_file),
        )
        return True

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; return True when one was running."""
        if not self.status().running:
            return False
        self._run(str(self.bindir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data_dir))
        return True

    def destroy(self) -> None:
        """Stop the server (immediately) and delete the cluster directory."""
        if (self.data_dir / "PG_VERSION").exists():
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -----------------------------------------------------------------------
    def conninfo(self, dbname: str) -> str:
        return f"host={self.socket_dir} user={SUPERUSER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def ensure_database(self, dbname: str, template: str | None = None) -> bool:
        """Create ``dbname`` with PostGIS if missing; return True when it was created."""
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone()
            if exists:
                return False
            ident = sql.Identifier(dbname)
            if template:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        ident, sql.Identifier(template)
                    )
                )
                return True
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return True

    def drop_database(self, dbname: str) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(dbname)
                )
            )
