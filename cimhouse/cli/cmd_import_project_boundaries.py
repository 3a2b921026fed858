"""``cimhouse import project-boundaries FILE``: future-community project boundaries."""

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


@import_app.command("project-boundaries")
@handle_errors
def project_boundaries(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="GeoJSON or GeoPackage polygons with 项目编号 (or 项目名称 "
                                     "and 牵头街道) naming an imported project."),
    crs: str = typer.Option("CGCS2000", "--crs",
                            help="Coordinates of GeoJSON: CGCS2000, WGS84, GCJ02, BD09 or "
                                 "EPSG:NNNN (GeoPackage files say their own)."),
    report: Path | None = report_option("project-boundaries"),
    dry_run: bool = dry_run_option(),
    as_json: bool = json_option(),
) -> None:
    """Set the boundaries of future-community projects; every feature is accepted or rejected.

    Importing the same file again changes nothing; a changed boundary is recorded in
    change_log. Run `cimhouse import projects` first.

    Example: cimhouse import project-boundaries projects.geojson --crs GCJ02
    """
    from cimhouse.programme.import_project_boundaries import import_project_boundaries

    run_import("project-boundaries", _("project boundaries import"), report, dry_run=dry_run,
               as_json=as_json,
               run=lambda session, _current, path: import_project_boundaries(
                   session, file, crs=crs, actor=cli_actor(), dry_run=dry_run,
                   report_path=path))


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
