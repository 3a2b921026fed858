"""``cimhouse import devices FILE``: home-safety devices (issue 19) from CSV."""

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


@import_app.command("devices")
@handle_errors
def devices(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV with uid, kind, house_code and optional id_number "
                                     "(the wearer), status, battery, heartbeat_s; Chinese "
                                     "headers (设备编号, 设备类型, 房屋编码 ...) work too."),
    report: Path | None = typer.Option(None, "--report",
                                       help="Write rejected rows here (default: "
                                            "var/reports/devices-<time>-rejects.csv)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Register devices to houses idempotently; every row is accepted or rejected.

    Example: cimhouse import devices devices.csv --report rejects.csv
    """
    from cimhouse.importers.devices.import_devices import import_devices
    from cimhouse.pii import PiiVault

    current = settings()
    report = report or default_report_path(current, "devices")
    with session_scope(engine(current)) as session:
        result = import_devices(session, file, vault=PiiVault.from_settings(current),
                                actor=cli_actor(), dry_run=dry_run, report_path=report)
    summary = result.summary() | {"dry_run": dry_run}
    if as_json:
        print_json(summary)
    else:
        print_summary(summary, _("devices import"))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
