"""``cimhouse regions ...``: load the statistical division codes."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.common import (
    cli_actor,
    engine,
    handle_errors,
    print_json,
    print_summary,
    session_scope,
)
from cimhouse.errors import EXIT_REJECTED
from cimhouse.i18n import _

regions_app = typer.Typer(help="Administrative regions (levels 1-5).", no_args_is_help=True)


@regions_app.command("load")
@handle_errors
def load(
    file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False,
                                     help="CSV with code,name,level,parentCode "
                                          "(default: packaged Zhejiang 2023)."),
    report: Path | None = typer.Option(None, "--report", help="Write rejected rows here."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Load division codes idempotently: reload changes nothing, nothing is deleted.

    Example: cimhouse regions load --file zhejiang_2024.csv --report rejects.csv
    """
    from cimhouse.importers.load_regions import load_regions

    with session_scope(engine()) as session:
        result = load_regions(session, file, dry_run=dry_run, report_path=report,
                              actor=cli_actor())
    summary = {
        "read": result.read, "accepted": result.accepted, "rejected": len(result.rejected),
        "added": result.added, "renamed": result.renamed, "reparented": result.reparented,
        "closed": result.closed, "reopened": result.reopened, "unchanged": result.unchanged,
        "import_run_id": result.import_run_id, "dry_run": dry_run,
    }
    if as_json:
        print_json(summary)
    else:
        print_summary(summary, _("regions load"))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def register(app: typer.Typer) -> None:
    app.add_typer(regions_app, name="regions")
