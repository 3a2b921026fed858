"""``cimhouse find TEXT``: look a house up by its address as people type it."""

from __future__ import annotations

import dataclasses

import typer

from cimhouse.cli.choices import FIND_MAX_FIRST
from cimhouse.cli.common import engine, handle_errors, print_json, session_scope
from cimhouse.errors import EXIT_REJECTED
from cimhouse.i18n import _


@handle_errors
def find(
    text: str = typer.Argument(..., help="The address as typed: any common form, a typo in "
                                         "the estate name is fine."),
    scope: str | None = typer.Option(None, "--scope",
                                     help="Only houses in this region code (2/4/6/9/12 "
                                          "digits) or estate code. Default: everywhere."),
    first: int = typer.Option(5, "--first", min=1, max=FIND_MAX_FIRST,
                              help="How many candidates, best first."),
    as_json: bool = typer.Option(False, "--json", help="Print the parts read and the "
                                                       "candidates as JSON."),
) -> None:
    """Ranked houses for a typed address: score, house code, the parts that matched.

    Example: cimhouse find "秀洲区恰景府1-1-201" --scope 3304
    """
    from rich.console import Console
    from rich.table import Table

    from cimhouse.addressing.search_addresses import search_addresses
    from cimhouse.scope import parse_scope

    parsed_scope = parse_scope(scope) if scope else None
    with session_scope(engine()) as session:
        found = search_addresses(session, text, scope=parsed_scope, first=first)
    if as_json:
        print_json({"text": found.text, "parts": dataclasses.asdict(found.parts),
                    "candidates": [dataclasses.asdict(c) for c in found.candidates]})
        return
    out = Console()
    if not found.candidates:
        out.print(_("no house found"))
        raise typer.Exit(code=EXIT_REJECTED)
    table = Table(_("score"), _("address"), _("matched"))
    table.add_column(_("house code"), no_wrap=True)
    parts = {"region": _("region"), "estate": _("estate"), "estate_alias": _("estate alias"),
             "estate_fuzzy": _("estate (similar name)"), "building": _("building"),
             "unit": _("unit"), "floor": _("floor"), "room": _("room")}
    for candidate in found.candidates:
        table.add_row(f"{candidate.score:.2f}",
                      candidate.address or f"{candidate.estate_name} {candidate.building}",
                      " ".join(parts.get(m, m) for m in candidate.matched),
                      candidate.code or _("(no code yet)"))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("find")(find)
