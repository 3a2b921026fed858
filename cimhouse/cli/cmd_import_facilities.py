"""``cimhouse import facilities FILE``: public-service facilities from CSV, XLSX or GeoJSON."""

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


@import_app.command("facilities")
@handle_errors
def facilities(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV, XLSX or GeoJSON with name, category (or a Chinese "
                                     "word such as 托育/养老/菜场), address and/or lon,lat."),
    source: str | None = typer.Option(None, "--source",
                                      help="Who owns the data; with the external id it keys "
                                           "re-imports within a county (default: the file "
                                           "name stem). An id naming another county's "
                                           "facility is a conflict, never a move."),
    crs: str = typer.Option("CGCS2000", "--crs",
                            help="Coordinates of rows without a crs column: CGCS2000, WGS84, "
                                 "GCJ02, BD09 or EPSG:NNNN (projected x/y in metres)."),
    max_match_m: float = typer.Option(1000.0, "--max-match-m",
                                      help="Farthest distance to the nearest estate when no "
                                           "boundary contains the facility."),
    report: Path | None = report_option("facilities"),
    dry_run: bool = dry_run_option("Validate and match, write nothing."),
    as_json: bool = json_option(),
) -> None:
    """Import facilities idempotently; every row is accepted or rejected with a reason.

    The summary says what happened: added, updated (any column changed, the name included),
    unchanged, and conflicts (rejected: the key names a facility of another county).

    Example: cimhouse import facilities jiaxing_facilities.xlsx --crs GCJ02 --source minzheng
    """
    from cimhouse.importers.facilities.import_facilities import import_facilities

    run_import("facilities", _("facilities import"), report, dry_run=dry_run, as_json=as_json,
               run=lambda session, current, path: import_facilities(
                   session, file, source=source, default_crs=crs, dry_run=dry_run,
                   max_match_m=max_match_m, metric_srid=current.metric_srid, report_path=path,
                   actor=cli_actor()))


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
