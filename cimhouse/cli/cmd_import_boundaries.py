"""``cimhouse import boundaries FILE --level community|estate``: polygons from GeoJSON/GPKG."""

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
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and match, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Set community or estate boundaries; then assign buildings lacking an estate.

    Example: cimhouse import boundaries nanhu_estates.geojson --level estate --within 330402
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.importers.boundaries.import_boundaries import import_boundaries

    current = settings()
    report = report or default_report_path(current, "boundaries")
    with session_scope(engine(current)) as session:
        if within is not None:  # else every feature is rejected as "no estate with this name"
            resolve_scope(session, within)
        result = import_boundaries(session, file, level=level, crs=crs, within=within,
                                   dry_run=dry_run, report_path=report, actor=cli_actor())
    summary = result.summary() | {"level": level, "dry_run": dry_run}
    if as_json:
        print_json(summary)
    else:
        print_summary(summary, _("boundaries import"))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
