"""The life of an :class:`~cimhouse.schema.ImportRun`, shared by the importers.

An import runs in a savepoint of the caller's transaction: :func:`begin_run` opens it and
records the run, :func:`end_run` records how every row ended and either keeps the work or,
for a dry run, rolls all of it back (run row included).

Example::

    handle = begin_run(session, kind="facilities", path=path, actor="cli", dry_run=False,
                       rows_read=120)
    ...  # stage and apply
    run_id = end_run(session, handle, accepted=118, rejected=2, summary={"added": 118},
                     report_path=None, dry_run=False)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, SessionTransaction

from cimhouse.schema import ImportRun
from cimhouse.schema.vocab import RunStatus


@dataclass
class RunHandle:
    run: ImportRun
    savepoint: SessionTransaction

    @property
    def id(self) -> int:
        return self.run.id


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (registers can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def begin_run(session: Session, *, kind: str, path: Path, actor: str, dry_run: bool,
              rows_read: int = 0, options: dict[str, Any] | None = None,
              sha256: str | None = None) -> RunHandle:
    """Open the savepoint of an import and record its run as running."""
    savepoint = session.begin_nested()  # a dry run rolls back to here, leaving no trace
    run = ImportRun(kind=kind, file_name=path.name, file_sha256=sha256 or file_sha256(path),
                    dry_run=dry_run, actor=actor, status=RunStatus.RUNNING.value,
                    rows_read=rows_read, options=options or {})
    session.add(run)
    session.flush()
    return RunHandle(run, savepoint)


def end_run(session: Session, handle: RunHandle, *, accepted: int, rejected: int,
            summary: dict[str, Any], dry_run: bool, report_path: Path | None = None,
            rows_read: int | None = None) -> int | None:
    """Record the outcome; keep the work (return the run id) or roll back a dry run (None)."""
    run = handle.run
    if rows_read is not None:
        run.rows_read = rows_read
    run.rows_accepted, run.rows_rejected = accepted, rejected
    run.report_path = str(report_path) if report_path else None
    run.summary = summary
    run.status = RunStatus.SUCCEEDED.value
    run.finished_at = session.scalar(select(func.now()))
    session.flush()
    if dry_run:
        handle.savepoint.rollback()
        return None
    handle.savepoint.commit()
    return run.id
