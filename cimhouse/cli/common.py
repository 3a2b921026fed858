"""What every CLI command shares: settings, engine, console, progress style, errors."""

from __future__ import annotations

import functools
import getpass
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, Protocol, TypeVar

import typer

from cimhouse.errors import EXIT_REJECTED, CimhouseError, InvalidInput, exit_code
from cimhouse.i18n import _, current_language, render, translate
from cimhouse.settings import Settings

if TYPE_CHECKING:  # the CLI imports SQLAlchemy only for the commands that use the database
    from rich.console import Console
    from rich.progress import Progress
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session



class _StderrConsole:
    """The rich console on stderr, made when first used (rich costs ~0.1 s to import, and
    ``codes validate`` never needs it)."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            type(self)._console = Console(stderr=True)
        return getattr(self._console, name)


console: Console = _StderrConsole()  # type: ignore[assignment]
P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    return Settings.from_env()


def engine(current: Settings | None = None) -> Engine:
    from cimhouse.db import make_engine

    return make_engine(current or settings())


@contextmanager
def session_scope(eng: Engine) -> Iterator[Session]:
    """:func:`cimhouse.db.session_scope`, imported when a command first uses the database."""
    from cimhouse.db import session_scope as scope

    with scope(eng) as session:
        yield session


def progress(*, transient: bool = False, disable: bool = False) -> Progress:
    """The one progress-bar style of the CLI (written to stderr)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=disable or not console.is_terminal,
    )


ACTOR_HELP = ("Who does this (recorded in jobs, import runs, lineage and the change log); "
              "default cli:<user>.")


def cli_actor(actor: str | None = None) -> str:
    """The one acting user of a CLI command: ``--actor`` if given, else ``cli:<login name>``."""
    return actor or f"cli:{getpass.getuser()}"


def default_report_path(current: Settings, kind: str) -> Path:
    """Where an import writes its rejected rows unless ``--report`` says otherwise:
    ``<reports_dir>/<kind>-<YYYYmmdd-HHMMSS>-rejects.csv``."""
    return current.reports_dir / f"{kind}-{datetime.now():%Y%m%d-%H%M%S}-rejects.csv"


def report_option(kind: str) -> Any:
    """The ``--report`` option of ``cimhouse import <kind>`` (default
    :func:`default_report_path`)."""
    return typer.Option(None, "--report", help=f"Write rejected rows here (default: "
                                               f"var/reports/{kind}-<time>-rejects.csv).")


def dry_run_option(help: str = "Validate, write nothing.") -> Any:
    return typer.Option(False, "--dry-run", help=help)


def json_option() -> Any:
    return typer.Option(False, "--json", help="Print a JSON summary.")


class ImportOutcome(Protocol):
    """What an importer returns: its summary and the rows it rejected."""

    @property
    def rejected(self) -> Any: ...

    def summary(self) -> dict[str, Any]: ...


def run_import(kind: str, title: str, report: Path | None, *, dry_run: bool, as_json: bool,
               run: Callable[[Session, Settings, Path], ImportOutcome],
               extra: dict[str, Any] | None = None) -> None:
    """The body of an ``import`` command: run ``run(session, settings, report)`` in one
    transaction (``report`` defaults to :func:`default_report_path`), print the summary
    (``--json`` or a table titled ``title``) and exit with ``EXIT_REJECTED`` when a row was
    rejected.

    Example (in a command)::

        run_import("projects", _("projects import"), report, dry_run=dry_run, as_json=as_json,
                   run=lambda session, current, path: import_projects(
                       session, file, actor=cli_actor(), dry_run=dry_run, report_path=path))
    """
    current = settings()
    report_path = report or default_report_path(current, kind)
    with session_scope(engine(current)) as session:
        result = run(session, current, report_path)
    summary = result.summary() | (extra or {}) | {"dry_run": dry_run}
    if as_json:
        print_json(summary)
    else:
        print_summary(summary, title)
    if result.rejected:
        raise typer.Exit(code=EXIT_REJECTED)


def print_json(data: Any) -> None:
    """Print a machine-readable result to stdout (one JSON object)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`CimhouseError` into a one-line message and its exit code (4-9, see
    :mod:`cimhouse.errors`); a database integrity error first becomes its domain error.

    File-system errors on paths the user named (``--report /no/such/dir/r.csv``, a read-only
    ``--out``) are bad input too: one line, the exit code of ``InvalidInput``, no traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CimhouseError as exc:
            fail(exc)
        except OSError as exc:
            fail(InvalidInput(os_error_message(exc)))
        except Exception as exc:
            from cimhouse.db.integrity import integrity_error, is_integrity_error

            if not is_integrity_error(exc):
                raise
            fail(integrity_error(exc))

    return wrapper


def os_error_message(exc: OSError) -> str:
    """A file-system error in the user's language (the C library's ``strerror`` is English).

    >>> print(os_error_message(FileNotFoundError(2, "No such file or directory", "r.csv")))
    No such file or directory: r.csv
    """
    import errno

    reasons = {errno.ENOENT: _("No such file or directory"), errno.EACCES: _("Permission denied"),
               errno.EPERM: _("Permission denied"), errno.EISDIR: _("Is a directory"),
               errno.ENOTDIR: _("Not a directory"), errno.EROFS: _("Read-only file system"),
               errno.ENOSPC: _("No space left on device"), errno.EEXIST: _("File exists")}
    reason = reasons.get(exc.errno or 0) or exc.strerror or str(exc)
    if exc.filename:
        return _("{reason}: {path}", reason=reason, path=exc.filename)
    return reason


def fail(error: CimhouseError) -> NoReturn:
    """Print ``error`` as one line on stderr and exit with its code from the error table."""
    from rich.markup import escape

    label = _("error")
    console.print(f"[red]{label}:[/red] {escape(render(error.message, current_language()))}")
    raise typer.Exit(code=exit_code(error)) from None


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Keep library chatter (alembic, procrastinate) off the user's terminal."""
    previous = logging.root.level
    logging.root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logging.root.setLevel(previous)


def summary_labels() -> dict[str, str]:
    """The names of summary fields in the current language (keys are the JSON names)."""
    return {
        "file": _("file"), "format": _("format"), "encoding": _("encoding"),
        "header_line": _("header line"), "read": _("read"), "accepted": _("accepted"),
        "rejected": _("rejected"), "blank_lines": _("blank lines"),
        "repeated_headers": _("repeated headers"), "communities": _("communities"),
        "unknown_columns": _("unknown columns"), "rejected_reasons": _("rejection reasons"),
        "report": _("report"), "import_run_id": _("import run"), "dry_run": _("dry run"),
        "seconds": _("seconds"), "workers": _("workers"),
        "worker_peak_mb": _("worker peak MB"), "estate_warnings": _("estate warnings"),
        "codes": _("codes"), "job_id": _("job"), "status": _("status"), "scope": _("scope"),
        "estates": _("estates"), "buildings": _("buildings"), "houses": _("houses"),
        "persons": _("persons"), "relations": _("relations"), "issued": _("codes issued"),
        "counties": _("counties"), "added": _("added"), "updated": _("updated"),
        "unchanged": _("unchanged"), "removed": _("removed"), "facilities": _("facilities"),
        "gaps": _("service gaps"),
        "matched": _("matched"), "created": _("created"), "level": _("level"),
        "georeference": _("georeference"), "dwellings": _("dwellings"), "estate": _("estate"),
        "renamed": _("renamed"), "reparented": _("reparented"), "closed": _("closed"),
        "reopened": _("reopened"), "mode": _("mode"), "initialised": _("initialised"),
        "running": _("running"), "pid": _("process id"), "data_dir": _("data directory"),
        "socket_dir": _("socket directory"), "url": _("URL"),
        "estates_added": _("estates added"), "buildings_added": _("buildings added"),
        "houses_added": _("houses added"), "houses_updated": _("houses updated"),
        "persons_added": _("persons added"), "persons_updated": _("persons updated"),
        "relations_added": _("relations added"), "relations_updated": _("relations updated"),
        "households_added": _("households added"),
        "households_updated": _("households updated"),
        "members_added": _("household members added"),
        "members_ended": _("household memberships ended"),
        "persons_conflicting": _("persons in conflict"),
        "houses_edits_kept": _("house edits kept"), "estates_edits_kept": _("estate edits kept"),
        "buildings_assigned": _("buildings assigned to an estate"),
        "conflicts": _("conflicts"), "matched_by": _("matched by"),
        "read_validate_stage": _("read, validate, stage"), "apply": _("apply"),
        "opened": _("alerts opened"), "now": _("as of"),
    }


def summary_values() -> dict[str, str]:
    """Words that summaries show as values (modes, levels, how a row was matched)."""
    return {
        "embedded": _("embedded"), "external": _("external"), "estate": _("estate"),
        "community": _("community"), "estate_code": _("estate code"),
        "estate_boundary": _("estate boundary"), "community_code": _("community code"),
        "region_boundary": _("region boundary"), "nearest_estate": _("nearest estate"),
    }


def _label(key: str, labels: dict[str, str]) -> str:
    """A summary field's name: from :func:`summary_labels`, else the catalog's translation of
    the key with spaces (``houses_added`` -> "houses added"), else the key."""
    found = labels.get(key)
    if found is not None:
        return found
    spaced = key.replace("_", " ")
    translated = translate(spaced)
    return translated if translated != spaced else key


def _cell(value: Any, labels: dict[str, str] | None = None) -> str:
    labels = summary_labels() if labels is None else labels
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        values = summary_values()
        return "\n".join(f"{values.get(k, _label(k, labels))}: {_cell(v, labels)}"
                         for k, v in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(_cell(v, labels) for v in value)
    text = str(value)
    return "+".join(summary_values().get(part, part) for part in text.split("+"))


def print_summary(summary: dict[str, Any], title: str | None = None) -> None:
    """A command's summary as an aligned two-column table in the user's language (stderr;
    ``--json`` prints the same fields for programs). Empty fields are left out."""
    from rich.table import Table

    labels = summary_labels()
    table = Table(title=title, show_header=False, box=None, padding=(0, 2))
    table.add_column(justify="left", style="bold")
    table.add_column(justify="left")
    for key, value in summary.items():
        if value in (None, [], {}, ""):
            continue
        table.add_row(_label(key, labels), _cell(value, labels))
    console.print(table)


def format_time(value: datetime | None) -> str:
    """A timestamp as the user reads it: local time to the second, ``-`` when unset."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"
