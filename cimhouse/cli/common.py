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
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer

from cimhouse.errors import CimhouseError, InvalidInput, exit_code
from cimhouse.i18n import _, current_language, render
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
            where = f": {exc.filename}" if exc.filename else ""
            fail(InvalidInput(f"{exc.strerror or exc}{where}"))
        except Exception as exc:
            from cimhouse.db.integrity import integrity_error, is_integrity_error

            if not is_integrity_error(exc):
                raise
            fail(integrity_error(exc))

    return wrapper


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
