"""``cimhouse import projects FILE``: future-community projects from CSV or XLSX.

Every row ends accepted (added, updated or unchanged) or rejected with bilingual reasons
(accepted + rejected = read); rejected rows go to the one rejects report
(:mod:`cimhouse.importers.rejects`, the file's own columns first, so a corrected report imports
again). Rows are keyed by 项目编号, else by lead street + name (see
:mod:`cimhouse.programme.upsert_project`), so importing the same file again changes nothing;
a later row with the key of an earlier one is rejected as a duplicate. Each row is applied in a
savepoint: a row the database refuses (unknown community, estate outside the communities) is
rejected alone. The whole import is one transaction of the caller: a killed import leaves no
trace and a rerun does the whole job.

Example::

    with session_scope(engine) as session:
        result = import_projects(session, Path("projects.xlsx"), actor="cli:alice",
                                 report_path=Path("projects-rejects.csv"))
    result.read, result.added, len(result.rejected)      # (312, 305, 7)
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from cimhouse.errors import CimhouseError, InvalidInput
from cimhouse.i18n import _, bilingual
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.rejects import RejectedRow, write_rejects
from cimhouse.importers.result import UpsertResult
from cimhouse.programme.project_rows import parse_row as parse_project_row
from cimhouse.programme.project_rows import read_project_file
from cimhouse.programme.upsert_project import upsert_project


class ProjectImportResult(UpsertResult):
    """Projects read, added, updated, unchanged, rejected (:mod:`cimhouse.importers.result`)."""


def import_projects(session: Session, path: Path, *, actor: str = "cli",
                    dry_run: bool = False,
                    report_path: Path | None = None) -> ProjectImportResult:
    """Import ``path`` (see the module docstring); ``dry_run`` validates and leaves no trace."""
    rows = read_project_file(path)
    if not rows:
        raise InvalidInput(_("{file}: no rows", file=path.name))
    result = ProjectImportResult(read=len(rows))
    handle = begin_run(session, kind="projects", path=path, actor=actor, dry_run=dry_run,
                       rows_read=result.read)
    first_line: dict[tuple[str, ...], int] = {}
    for line, raw in rows:
        data, reasons = parse_project_row(raw)
        if data is None:
            result.rejected.append(RejectedRow(line, raw, reasons))
            continue
        key = (("id", data.external_id) if data.external_id
               else ("name", data.lead_street, data.name))
        if key in first_line:
            result.rejected.append(RejectedRow(line, raw, [
                f"与第{first_line[key]}行重复 / duplicate of line {first_line[key]}"]))
            continue
        first_line[key] = line
        savepoint = session.begin_nested()
        try:
            outcome = upsert_project(session, data, actor=actor, source=f"import:{path.name}")
        except CimhouseError as exc:
            savepoint.rollback()
            result.rejected.append(RejectedRow(line, raw, [bilingual(exc.message)]))
            continue
        savepoint.commit()
        result.added += outcome.created
        result.updated += outcome.changed and not outcome.created
    if report_path is not None and result.rejected:
        result.report_path = write_rejects(report_path, result.rejected)
    result.import_run_id = end_run(
        session, handle, accepted=result.accepted, rejected=len(result.rejected),
        summary={"added": result.added, "updated": result.updated,
                 "unchanged": result.unchanged},
        dry_run=dry_run, report_path=result.report_path)
    return result
