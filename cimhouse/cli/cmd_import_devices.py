"""``cimhouse import devices FILE``: home-safety devices (issue 19) from CSV."""

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


@import_app.command("devices")
@handle_errors
def devices(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV with uid, kind, house_code and optional id_number "
                                     "(the wearer), status, battery, heartbeat_s; Chinese "
                                     "headers (设备编号, 设备类型, 房屋编码 ...) work too."),
    report: Path | None = report_option("devices"),
    dry_run: bool = dry_run_option(),
    as_json: bool = json_option(),
) -> None:
    """Register devices to houses idempotently; every row is accepted or rejected.

    Example: cimhouse import devices devices.csv --report rejects.csv
    """
    from cimhouse.importers.devices.import_devices import import_devices
    from cimhouse.pii import PiiVault

    run_import("devices", _("devices import"), report, dry_run=dry_run, as_json=as_json,
               run=lambda session, current, path: import_devices(
                   session, file, vault=PiiVault.from_settings(current), actor=cli_actor(),
                   dry_run=dry_run, report_path=path))


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
