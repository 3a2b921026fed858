"""``cimhouse import facilities FILE``: public-service facilities from CSV, XLSX or GeoJSON."""

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
    report: Path | None = typer.Option(None, "--report",
                                       help="Write rejected rows here (default: "
                                            "var/reports/facilities-<time>-rejects.csv)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and match, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Import facilities idempotently; every row is accepted or rejected with a reason.

    The summary says what happened: added, updated (any column changed, the name included),
    unchanged, and conflicts (rejected: the key names a facility of another county).

    Example: cimhouse import facilities jiaxing_facilities.xlsx --crs GCJ02 --source minzheng
    """
    from cimhouse.importers.facilities.import_facilities import import_facilities

    current = settings()
    report = report or default_report_path(current, "facilities")
    with session_scope(engine(current)) as session:
        result = import_facilities(session, file, source=source, default_crs=crs,
                                   dry_run=dry_run, max_match_m=max_match_m,
                                   metric_srid=current.metric_srid, report_path=report,
                                   actor=cli_actor())
    summary = result.summary() | {"dry_run": dry_run}
    if as_json:
        print_json(summary)
    else:
        print_summary(summary, _("facilities import"))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
