"""``cimhouse import boundaries FILE --level community|estate``: polygons from GeoJSON/GPKG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cimhouse.cli.cmd_import import import_app
from cimhouse.cli.common import (
    cli_actor,
    dry_run_option,
    handle_errors,
    json_option,
    run_import,
)
from cimhouse.i18n import _

if TYPE_CHECKING:  # SQLAlchemy is imported when the command runs
    from sqlalchemy.orm import Session

    from cimhouse.cli.common import ImportOutcome
    from cimhouse.settings import Settings


@import_app.command("boundaries")
@handle_errors
def boundaries(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="GeoJSON or GeoPackage polygons with a code or name."),
    level: str = typer.Option(..., "--level", help="community or estate."),
    crs: str = typer.Option("CGCS2000", "--crs",
                            help="Coordinates of GeoJSON: CGCS2000, WGS84, GCJ02, BD09 or "
                                 "EPSG:NNNN (GeoPackage files say their own)."),
    within: str | None = typer.Option(None, "--within",
                                      help="Only match names inside this region code "
                                           "(e.g. 330402), so that a name is unique."),
    report: Path | None = typer.Option(None, "--report", help="Write rejected features here."),
    dry_run: bool = dry_run_option("Validate and match, write nothing."),
    as_json: bool = json_option(),
) -> None:
    """Set community or estate boundaries; then assign buildings lacking an estate.

    Example: cimhouse import boundaries nanhu_estates.geojson --level estate --within 330402
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.importers.boundaries.import_boundaries import import_boundaries

    def run(session: Session, _current: Settings, path: Path) -> ImportOutcome:
        if within is not None:  # else every feature is rejected as "no estate with this name"
            resolve_scope(session, within)
        return import_boundaries(session, file, level=level, crs=crs, within=within,
                                 dry_run=dry_run, report_path=path, actor=cli_actor())

    run_import("boundaries", _("boundaries import"), report, dry_run=dry_run, as_json=as_json,
               run=run, extra={"level": level})


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
