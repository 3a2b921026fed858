"""``cimhouse changes``: the change feed as JSON lines, resumable by cursor."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

import typer

from cimhouse.cli.choices import CHANGE_KINDS
from cimhouse.cli.common import engine, handle_errors, session_scope
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

if TYPE_CHECKING:  # the database modules are imported when the command runs
    from sqlalchemy.orm import Session


def _start(session: Session, since: str | None) -> int:
    from cimhouse.feed.read_changes import parse_cursor, position_at

    if not since or since.isdigit():
        return parse_cursor(since)
    try:
        when = dt.datetime.fromisoformat(since)
    except ValueError:
        raise InvalidInput(_("--since takes a cursor (digits) or an ISO date/time, not {since!r}",
                             since=since)
                           ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # a bare date or time is local time
    return position_at(session, when)


@handle_errors
def changes(
    since: str | None = typer.Option(None, "--since", help="A cursor from an earlier line "
                                     "(resume after it) or an ISO date/time (changes recorded "
                                     "from then on). Default: from the beginning."),
    scope: str | None = typer.Option(None, "--scope", help="Only changes in this region code "
                                     "or estate code. Default: everywhere."),
    kinds: str | None = typer.Option(None, "--kinds", help=f"Comma-separated kinds among "
                                     f"{', '.join(CHANGE_KINDS)}. Default: all."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Stop after this many."),
    fmt: str = typer.Option("jsonl", "--format", help="Output format: jsonl (one change "
                            "per line, with its cursor)."),
) -> None:
    """Every committed change after a cursor, oldest first, one JSON object per line.

    Store the last line's "cursor" and pass it as --since next time: nothing is missed or
    repeated, even when transactions commit out of order (docs/feed.md).

    Example: cimhouse changes --since 2026-12-01 --scope 330402 --kinds house,code --limit 10
    """
    from cimhouse.feed.read_changes import MAX_PAGE, read_changes
    from cimhouse.feed.stamp_changes import stamp_changes
    from cimhouse.scope import parse_scope, with_county_keys

    if fmt != "jsonl":
        raise InvalidInput(_("--format {fmt!r}: only jsonl is supported", fmt=fmt))
    wanted = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    eng = engine()
    stamp_changes(eng, wait=False)  # another stamper running: read up to its mark
    written = 0
    with session_scope(eng) as session:
        parsed = with_county_keys(session, parse_scope(scope)) if scope else None
        after = _start(session, since)
        while limit is None or written < limit:
            first = MAX_PAGE if limit is None else min(MAX_PAGE, limit - written)
            page = read_changes(session, scope=parsed, after=after, first=first, kinds=wanted,
                                with_persons=True)
            for change in page.changes:
                sys.stdout.write(json.dumps(change.as_json(), ensure_ascii=False,
                                            default=str) + "\n")
            written += len(page.changes)
            after = int(page.end_cursor)
            if not page.has_more:
                break
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("changes")(changes)
