"""``cimhouse safety check-inactivity`` and ``safety tick``: run the clock-driven rules once
(issue 19)."""

from __future__ import annotations

import datetime as dt

import typer

from cimhouse.cli.common import console, engine, handle_errors, print_json, settings
from cimhouse.db import session_scope
from cimhouse.errors import InvalidInput
from cimhouse.safety.check_inactivity import CHINA, check_inactivity
from cimhouse.scope import parse_scope, with_county_keys

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
    try:
        clock = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError:
        raise InvalidInput("--now must be an ISO time, e.g. 2026-12-02T20:00+08:00") from None
    clock = clock if clock.tzinfo else clock.replace(tzinfo=CHINA)
    with session_scope(engine(settings())) as session:
        opened = check_inactivity(session, now=clock,
                                  scope=with_county_keys(session, parse_scope(scope)),
                                  hours=hours)
    summary = {"opened": opened, "now": clock.isoformat()}
    if as_json:
        print_json(summary)
    else:
        console.print(f"opened {opened} inactivity alert(s) as of {clock.isoformat()}")


@safety_app.command("tick")
@handle_errors
def tick(
    scope: str | None = typer.Option(None, "--scope",
                                     help="Region or estate code (default: everything)."),
    now: str | None = typer.Option(None, "--now",
                                   help="The clock, ISO time (default: now; China time "
                                        "when no offset is given)."),
    door_minutes: float = typer.Option(30.0, "--door-minutes",
                                       help="Minutes a door may stay open at night."),
    hours: float = typer.Option(8.0, "--hours",
                                help="Daytime hours without activity before an alert."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Run the door-at-night, offline and inactivity rules, then escalate overdue alerts.

    The worker does this every minute; run it by hand to catch up or to replay a time.
    Example: cimhouse safety tick --scope 330402 --now 2026-12-02T23:40+08:00
    """
    from cimhouse.safety.clock import ManualClock
    from cimhouse.safety.policy import SafetyPolicy
    from cimhouse.safety.tick import run_tick

    try:
        clock = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError:
        raise InvalidInput("--now must be an ISO time, e.g. 2026-12-02T20:00+08:00") from None
    clock = clock if clock.tzinfo else clock.replace(tzinfo=CHINA)
    policy = SafetyPolicy(door_minutes=door_minutes, inactivity_hours=hours)
    with session_scope(engine(settings())) as session:
        summary = run_tick(session, clock=ManualClock(clock), policy=policy,
                           scope=with_county_keys(session, parse_scope(scope)) if scope
                           else None)
    if as_json:
        print_json(summary)
    else:
        console.print(", ".join(f"{k}: {v}" for k, v in summary.items()))


def register(app: typer.Typer) -> None:
    app.add_typer(safety_app, name="safety")
