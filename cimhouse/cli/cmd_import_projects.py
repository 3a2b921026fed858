"""``cimhouse import projects FILE``: future-community projects from CSV or XLSX."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.cmd_import import import_app
from cimhouse.cli.common import (
    cli_actor,
    dry_run_option,
    handle_errors,
    json_option,
    report_option,
    run_import,
)
from cimhouse.i18n import _


@import_app.command("projects")
@handle_errors
def projects(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV or XLSX with Chinese headers: 项目编号, 项目名称, 级别, "
                                     "类型, 牵头街道, 覆盖社区, the stage dates, the nine "
                                     "场景 columns (docs/programme.md)."),
    report: Path | None = report_option("projects"),
    dry_run: bool = dry_run_option(),
    as_json: bool = json_option(),
) -> None:
    """Import future-community projects idempotently; every row is accepted or rejected.

    Rows are keyed by 项目编号 (else lead street + name): importing the file again changes
    nothing, a changed row is an update recorded in change_log.

    Example: cimhouse import projects jiaxing_future_projects.xlsx --report rejects.csv
    """
    from cimhouse.programme.import_projects import import_projects

    run_import("projects", _("projects import"), report, dry_run=dry_run, as_json=as_json,
               run=lambda session, _current, path: import_projects(
                   session, file, actor=cli_actor(), dry_run=dry_run, report_path=path))


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
