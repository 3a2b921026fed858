"""``cimhouse safety check-inactivity``: run the inactivity rule once (issue 19)."""

from __future__ import annotations

import datetime as dt

import typer

from cimhouse.cli.choices import CHINA_TIME_ZONE
from cimhouse.cli.common import console, engine, handle_errors, print_json, session_scope, settings
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

safety_app = typer.Typer(help="Home safety of the elderly living alone: rules and alerts.",
                         no_args_is_help=True)


@safety_app.command("check-inactivity")
@handle_errors
def check(
    scope: str = typer.Option(..., "--scope", help="Region or estate code to check."),
    hours: float = typer.Option(8.0, "--hours",
                                help="Daytime hours without activity before an alert "
                                     "(a person's attributes.inactivity_hours wins)."),
    now: str | None = typer.Option(None, "--now",
                                   help="The clock, ISO time (default: now; China time "
                                        "when no offset is given)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Raise inactivity alerts for the elderly living alone in a scope.

    Example: cimhouse safety check-inactivity --scope 330402007024 --hours 8
    """
    from zoneinfo import ZoneInfo

    from cimhouse.safety.check_inactivity import check_inactivity
    from cimhouse.scope import parse_scope, with_county_keys

    try:
        clock = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError:
        raise InvalidInput(_("--now must be an ISO time, e.g. 2026-12-02T20:00+08:00")) from None
    clock = clock if clock.tzinfo else clock.replace(tzinfo=ZoneInfo(CHINA_TIME_ZONE))
    with session_scope(engine(settings())) as session:
        opened = check_inactivity(session, now=clock,
                                  scope=with_county_keys(session, parse_scope(scope)),
                                  hours=hours)
    summary = {"opened": opened, "now": clock.isoformat()}
    if as_json:
        print_json(summary)
    else:
        console.print(_("opened {opened} inactivity alert(s) as of {now}", opened=opened,
                        now=clock.isoformat()))


def register(app: typer.Typer) -> None:
    app.add_typer(safety_app, name="safety")
