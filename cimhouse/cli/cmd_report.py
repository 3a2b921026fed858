"""``cimhouse report services``: coverage, gaps, service index and elderly living alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from cimhouse.cli.common import console, engine, handle_errors, progress, session_scope, settings
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _, requested_language

# the report modules (SQLAlchemy, openpyxl) are imported inside each command: `--help`
# answers without them

report_app = typer.Typer(help="Reports for community work.", no_args_is_help=True)


@report_app.command("services")
@handle_errors
def services(
    scope: str = typer.Option(..., "--scope",
                              help="Region code (2/4/6/9/12 digits) or an estate code."),
    fmt: str = typer.Option("json", "--format", help="json, csv or xlsx."),
    out: Path | None = typer.Option(None, "--out",
                                    help="File to write (xlsx needs one; csv writes one file "
                                         "per section next to it). Default: stdout."),
    radius: list[str] = typer.Option([], "--radius",
                                     help="Override a walking radius: category=metres, the "
                                          "category in English or Chinese (repeatable), e.g. "
                                          "--radius 托育=250."),
    elderly_age: int = typer.Option(60, "--elderly-age",
                                    help="Minimum age for the elderly-living-alone list."),
    as_of: str | None = typer.Option(None, "--as-of",
                                     help="Reference date for ages, YYYY-MM-DD (default "
                                          "today)."),
) -> None:
    """Facility coverage, gaps ranked by people affected, the service index, elderly alone.

    Headers, sheet names and categories are Chinese unless --lang en is given.

    Example: cimhouse report services --scope 330402 --format xlsx --out nanhu.xlsx
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.services.policy import ServicePolicy, parse_radius_options
    from cimhouse.services.report import build_services_report, write_report

    current = settings()
    policy = ServicePolicy.default().with_radii(parse_radius_options(radius))
    try:
        reference = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InvalidInput(_("--as-of must be a date like 2026-06-30")) from None
    with progress(transient=True) as bar, session_scope(engine(current)) as session:
        parsed = resolve_scope(session, scope)
        task = bar.add_task(_("services report"), total=4)

        started: list[str] = []

        def step(name: str) -> None:  # each step but the first ends the one before
            bar.update(task, description=name, advance=1 if started else 0)
            started.append(name)

        report = build_services_report(session, parsed, policy=policy,
                                       metric_srid=current.metric_srid, as_of=reference,
                                       elderly_min_age=elderly_age, on_step=step)
        bar.update(task, advance=1)
    # written after the live display has stopped: it would capture stdout otherwise
    for path in write_report(report, fmt, out, language=requested_language() or "zh"):
        console.print(_("wrote {path}", path=path))


@report_app.command("programme")
@handle_errors
def programme(
    scope: str = typer.Option(..., "--scope",
                              help="Region code (2/4/6/9/12 digits) to report on."),
    as_of: str | None = typer.Option(None, "--as-of",
                                     help="Reference date, YYYY-MM-DD (default today); "
                                          "selects the 2023 or 2025 targets."),
    fmt: str = typer.Option("json", "--format", help="json, csv or xlsx."),
    out: Path | None = typer.Option(None, "--out",
                                    help="File to write (xlsx needs one; csv writes one file "
                                         "per table next to it). Default: stdout."),
) -> None:
    """Future-community programme progress against the policy's targets, per county and street.

    Example: cimhouse report programme --scope 3304 --as-of 2023-12-31 --format xlsx --out p.xlsx
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.programme.progress import compute_progress
    from cimhouse.programme.progress_report import write_progress

    try:
        reference = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        raise InvalidInput(_("--as-of must be a date like 2023-12-31")) from None
    with session_scope(engine(settings())) as session:
        parsed = resolve_scope(session, scope)
        result = compute_progress(session, None, parsed.code, reference)
    for path in write_progress(result, fmt, out):
        console.print(_("wrote {path}", path=path))


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
