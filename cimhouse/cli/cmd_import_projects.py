"""``cimhouse import projects FILE``: future-community projects from CSV or XLSX."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.cmd_import import import_app
from cimhouse.cli.common import (
    cli_actor,
    default_report_path,
    engine,
    handle_errors,
    print_json,
    print_summary,
    session_scope,
    settings,
)
from cimhouse.errors import EXIT_REJECTED
from cimhouse.i18n import _


@import_app.command("projects")
@handle_errors
def projects(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV or XLSX with Chinese headers: 项目编号, 项目名称, 级别, "
                                     "类型, 牵头街道, 覆盖社区, the stage dates, the nine "
                                     "场景 columns (docs/programme.md)."),
    report: Path | None = typer.Option(None, "--report",
                                       help="Write rejected rows here (default: "
                                            "var/reports/projects-<time>-rejects.csv)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Import future-community projects idempotently; every row is accepted or rejected.

    Rows are keyed by 项目编号 (else lead street + name): importing the file again changes
    nothing, a changed row is an update recorded in change_log.

    Example: cimhouse import projects jiaxing_future_projects.xlsx --report rejects.csv
    """
    from cimhouse.programme.import_projects import import_projects

    current = settings()
    report = report or default_report_path(current, "projects")
    with session_scope(engine(current)) as session:
        result = import_projects(session, file, actor=cli_actor(), dry_run=dry_run,
                                 report_path=report)
    summary = result.summary() | {"dry_run": dry_run}
    if as_json:
        print_json(summary)
    else:
        print_summary(summary, _("projects import"))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
