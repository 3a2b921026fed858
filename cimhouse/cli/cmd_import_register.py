"""``cimhouse import register FILE``: housing registers (CSV/XLSX) into houses and persons."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cimhouse.cli.choices import COORDINATE_SYSTEMS
from cimhouse.cli.cmd_import import import_app
from cimhouse.cli.common import (
    cli_actor,
    console,
    default_report_path,
    engine,
    handle_errors,
    print_json,
    print_summary,
    progress,
    session_scope,
    settings,
)
from cimhouse.errors import EXIT_REJECTED, InvalidInput
from cimhouse.i18n import _

if TYPE_CHECKING:  # SQLAlchemy, pyproj and openpyxl are imported when the command runs
    from sqlalchemy.orm import Session


@import_app.command("register")
@handle_errors
def register_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV/TSV (UTF-8, UTF-8-BOM, GBK, GB18030) or XLSX register, "
                                     "one row per person-house relation."),
    mapping: Path | None = typer.Option(None, "--mapping", exists=True, dir_okay=False,
                                        help="JSON {\"源列名\": \"field\"} or CSV column,field "
                                             "naming columns the synonyms do not know."),
    report: Path | None = typer.Option(None, "--report",
                                       help="Write rejected rows here (default: var/reports/"
                                            "register-<time>-rejects.csv); fix and re-import."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and match, write nothing."),
    assign_codes: bool = typer.Option(False, "--assign-codes",
                                      help="Give new estates, buildings and houses their house "
                                           "codes in the same transaction."),
    crs: str = typer.Option("CGCS2000", "--crs",
                            help=f"Coordinates of rows without a 坐标系 column: "
                                 f"{', '.join(COORDINATE_SYSTEMS)} or EPSG:NNNN."),
    workers: int | None = typer.Option(None, "--workers", min=0,
                                       help="Validation processes (0: in this process; "
                                            "default: one per core for files over 4 MiB)."),
    update_persons: bool = typer.Option(False, "--update-persons",
                                        help="An ID number already stored with another "
                                             "name takes the file's name (default: the "
                                             "rows are rejected, the stored name kept)."),
    as_of: str | None = typer.Option(None, "--as-of",
                                     help="When the file's data was extracted (2026-12-01 "
                                          "= end of that day, or 2026-12-01T18:00). House "
                                          "edits made by codes relabel/split/merge after it "
                                          "are kept (their rows rejected); without it every "
                                          "such edit is kept."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Import a register idempotently: re-importing changes nothing, updates keep history.

    Every row ends accepted or rejected (accepted + rejected = read); rejected rows go to the
    report with line number and reasons in Chinese and English; rows of one house or person
    that disagree with each other are all rejected, with the values that disagree, and so
    are rows that would rename a stored person or undo a newer codes relabel/split/merge.

    Example: cimhouse import register 南湖区住户登记.xlsx --report rejects.csv --assign-codes
    """
    from cimhouse.crs import crs_name
    from cimhouse.importers.register.import_register import import_register
    from cimhouse.pii import PiiVault

    current = settings()
    data_as_of = _parse_as_of(as_of)
    try:
        crs = crs_name(crs)
    except ValueError:
        raise InvalidInput(_("--crs must be one of {names} or EPSG:xxxx",
                             names=", ".join(COORDINATE_SYSTEMS))) from None
    report = report or default_report_path(current, "register")
    actor = cli_actor()
    vault = PiiVault.from_settings(current)
    codes: list[dict[str, Any]] = []
    with progress() as bar, session_scope(engine(current)) as session:
        task = bar.add_task(_("rows"), total=_count_lines(file))
        result = import_register(session, file, vault=vault, mapping=mapping,
                                 report_path=report, dry_run=dry_run, actor=actor,
                                 default_crs=crs, workers=workers,
                                 update_persons=update_persons, as_of=data_as_of,
                                 on_progress=lambda n: bar.update(task, completed=n))
        bar.update(task, total=result.read, completed=result.read)
        if assign_codes and not dry_run and result.accepted:
            codes = _assign_codes(session, sorted({c[:6] for c in result.communities}), actor)
    summary = result.summary() | {"codes": codes if assign_codes else None}
    if as_json:
        print_json(summary)
    else:
        shown = {k: v for k, v in summary.items() if k != "estate_warnings"}
        print_summary(shown, _("register import (dry run: nothing written)") if dry_run
                      else _("register import"))
        if result.rejected:
            console.print(_("[yellow]{count} rows rejected[/yellow]: see {report}",
                            count=result.rejected, report=report))
        for warning in result.estate_warnings:
            console.print(_("[yellow]new estate {estate} resembles {similar}[/yellow] ({rows} "
                            "rows, see {report})", estate=warning["estate"],
                            similar="、".join(warning["similar"]), rows=warning["rows"],
                            report=report))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


@import_app.command("footprints")
@handle_errors
def footprints_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="GeoJSON polygons with the building's register address "
                                     "(property address/地址) and optional floors_above."),
    crs: str = typer.Option("CGCS2000", "--crs",
                            help=f"Coordinates of features without a crs property: "
                                 f"{', '.join(COORDINATE_SYSTEMS)} or EPSG:NNNN."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Attach footprints to buildings created by a register import (matched by address).

    Example: cimhouse import footprints var/demo/buildings.geojson
    """
    from cimhouse.importers.register.attach_footprints import attach_footprints

    current = settings()
    with session_scope(engine(current)) as session:
        result = attach_footprints(session, file, actor=cli_actor(),
                                   default_crs=crs)
    summary = result.summary()
    if as_json:
        print_json(summary)
    else:
        print_summary({"read": result.read, "updated": result.updated,
                       "unchanged": result.unchanged, "rejected": len(result.rejected)},
                      _("footprints"))
        for number, address, reasons in result.rejected[:20]:
            console.print(_("  feature {number} {address}: {reasons}", number=number,
                            address=address, reasons="; ".join(reasons)))
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def _parse_as_of(value: str | None) -> datetime | None:
    """``2026-12-01`` (the end of that day) or ``2026-12-01T18:00``, in local time."""
    if value is None:
        return None
    try:
        if len(value.strip()) == 10:
            return datetime.combine(date.fromisoformat(value.strip()), time.max).astimezone()
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(_("--as-of must be a date (2026-12-01) or a date-time "
                             "(2026-12-01T18:00), not {value!r}", value=value)) from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def _count_lines(file: Path) -> int | None:
    """Rows of a register, the progress bar's total (data rows end up a little fewer: header,
    blank lines): lines of a CSV/TSV counted in binary at disk speed, ``<row>`` elements of
    an XLSX's first sheet counted in its compressed XML stream (no cell is parsed); None for
    other workbooks (.xls, .ods) and for a file that is not what its name says."""
    suffix = file.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _count_sheet_rows(file)
    if suffix in (".xls", ".ods"):
        return None
    lines = 0
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines, 1)


_ROW_TAG = re.compile(rb"<((?:[A-Za-z][\w.-]*:)?)row[\s>/]")


def _count_sheet_rows(file: Path) -> int | None:
    """``<row>`` elements of the first worksheet of an XLSX (the one the import reads)."""
    try:
        with zipfile.ZipFile(file) as book:
            workbook = book.read("xl/workbook.xml")
            first = re.search(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"", workbook)
            rels = book.read("xl/_rels/workbook.xml.rels")
            target = None
            for rel in re.finditer(rb"<Relationship\b[^>]*>", rels):
                if first and re.search(rb'\bId="' + re.escape(first[1]) + rb'"', rel[0]):
                    found = re.search(rb'\bTarget="([^"]+)"', rel[0])
                    target = found[1].decode() if found else None
            if target is None:
                return None
            name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            rows, tail = 0, b""
            tags: tuple[bytes, ...] = ()
            with book.open(name) as sheet:
                while chunk := sheet.read(1 << 20):
                    data = tail + chunk  # a tag split between two chunks counts once
                    if not tags and (found := _ROW_TAG.search(data)):
                        tag = b"<" + found[1] + b"row"  # <row ...> or <x:row ...>
                        tags = (tag + b" ", tag + b">", tag + b"/")
                    rows += sum(data.count(t) - tail.count(t) for t in tags)
                    tail = data[-32:]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    return max(rows, 1)


def _assign_codes(session: Session, counties: list[str], actor: str) -> list[dict[str, Any]]:
    """Code what the import created, county by county, in the import's transaction."""
    from cimhouse.coding.assign_codes import assign_codes  # heavy: only when asked

    return [assign_codes(session, county, actor=actor).as_dict() for county in counties]


def register(app: typer.Typer) -> None:
    """Nothing to add: the command hangs on ``import_app`` (see cmd_import)."""
