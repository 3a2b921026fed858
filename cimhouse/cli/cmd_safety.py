"""``cimhouse safety ...``: the MQTT ingester, its counts, retention, the clock-driven rules
(check-inactivity, tick)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import typer

from cimhouse.cli.choices import CHINA_TIME_ZONE
from cimhouse.cli.common import console, engine, handle_errors, print_json, session_scope, settings
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

safety_app = typer.Typer(help="Home safety of the elderly living alone: readings, rules and "
                              "alerts.", no_args_is_help=True)


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


@safety_app.command("ingest")
@handle_errors
def ingest(
    mqtt: str | None = typer.Option(None, "--mqtt",
                                    help="Broker URL mqtt://user:password@host:port (default: "
                                         "CIMHOUSE_MQTT_URL, else the embedded broker, started "
                                         "if needed)."),
    scope: str | None = typer.Option(None, "--scope",
                                     help="Accept only devices in this region or estate."),
    batch: int = typer.Option(5000, "--batch", min=1, max=50000,
                              help="Readings per transaction at most."),
    max_wait: float = typer.Option(0.2, "--max-wait", min=0.0,
                                   help="Seconds a batch waits for more messages."),
    client_id: str = typer.Option("cimhouse-ingest", "--client-id",
                                  help="MQTT client id: its persistent session keeps the "
                                       "readings that arrive while the ingester is stopped "
                                       "(with --processes N: ID-1 ... ID-N)."),
    processes: int = typer.Option(1, "--processes", min=1, max=32,
                                  help="Ingester processes sharing the readings through an "
                                       "MQTT 5 shared subscription (--share)."),
    share: str | None = typer.Option(None, "--share",
                                     help="Shared subscription group ($share/GROUP/...): "
                                          "ingesters of one group split the messages "
                                          "(default with --processes > 1: cimhouse)."),
) -> None:
    """Subscribe to the readings' topics and store them until stopped (Ctrl-C / SIGTERM).

    Topics cimhouse/{county}/{device}/reading and cimhouse/{county}/gateway/{id}/readings
    (QoS 1, JSON; docs/safety.md). Readings are written in batches and acknowledged after
    their commit; bad messages are counted and recorded (cimhouse safety ingest-status).

    Example: cimhouse safety ingest --mqtt mqtt://cimhouse:secret@127.0.0.1:1883 --processes 2
    """
    import logging

    from cimhouse.safety.broker import BrokerAddress, broker_address

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    current = settings()
    address = BrokerAddress.parse(mqtt) if mqtt else broker_address(current)
    if processes > 1:
        import multiprocessing

        group = share or "cimhouse"
        spawn = multiprocessing.get_context("spawn")
        children = [spawn.Process(target=_ingest_one, args=(
            address.url(hide_password=False), scope, batch, max_wait, f"{client_id}-{n}",
            group)) for n in range(1, processes + 1)]
        for child in children:
            child.start()
        _wait_children(children)
        return
    _ingest_one(address.url(hide_password=False), scope, batch, max_wait, client_id, share)


def _wait_children(children: list[Any]) -> None:
    """Until each child ended; SIGTERM / Ctrl-C here is passed on to them (each finishes and
    acknowledges its batch)."""
    import signal

    def stop(*_args: Any) -> None:
        for child in children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    for child in children:
        child.join()


def _ingest_one(url: str, scope: str | None, batch: int, max_wait: float, client_id: str,
                share: str | None) -> None:
    """One ingester process (the command itself, or one of its --processes)."""
    import logging
    import signal
    import threading

    from cimhouse.safety.broker import BrokerAddress
    from cimhouse.safety.mqtt_ingest import MqttIngester
    from cimhouse.scope import parse_scope, with_county_keys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    current = settings()
    address = BrokerAddress.parse(url)
    eng = engine(current)
    parsed = None
    if scope:
        with session_scope(eng) as session:
            parsed = with_county_keys(session, parse_scope(scope))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: stop.set())
    ingester = MqttIngester(eng, address, scope=parsed, batch=batch, max_wait=max_wait,
                            client_id=client_id, share=share)
    stats = ingester.run(stop)
    print_json({"client_id": client_id, "batches": stats.batches, "messages": stats.messages,
                **stats.counts})


@safety_app.command("ingest-status")
@handle_errors
def ingest_status_command(
    since: str | None = typer.Option(None, "--since",
                                     help="First UTC day counted, YYYY-MM-DD (default: today)."),
    scope: str | None = typer.Option(None, "--scope",
                                     help="Only the counties wholly inside this region."),
    recent: int = typer.Option(10, "--recent", min=0, max=1000,
                               help="How many of the latest refused readings to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Counts of the ingesters (received, stored, malformed, unknown device, duplicate, out
    of order) per source and county, and the refused readings by reason.

    Example: cimhouse safety ingest-status --since 2026-12-01 --json
    """
    from cimhouse.safety.ingest_log import ingest_status, whole_counties
    from cimhouse.scope import parse_scope

    try:
        day = dt.date.fromisoformat(since) if since else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise InvalidInput(_("--since must be a date, e.g. 2026-12-01")) from None
    with session_scope(engine(settings())) as session:
        # the counts are per county: a region sees the counties wholly inside it
        counties = whole_counties(session, parse_scope(scope)) if scope else None
        status = ingest_status(session, since=day, counties=counties, recent=recent)
    if as_json:
        print_json(status)
        return
    for row in status["counts"]:
        console.print(", ".join(f"{k} {v}" for k, v in row.items()))
    for row in status["rejects"]:
        console.print(f"{row['n']:>8}  {row['reason_text']}")


@safety_app.command("maintain")
@handle_errors
def maintain(
    retention: int | None = typer.Option(None, "--retention-months", min=1,
                                         help="Months of readings kept (default "
                                              "CIMHOUSE_READING_RETENTION, 13)."),
    ahead: int = typer.Option(2, "--months-ahead", min=0, max=24,
                              help="Monthly partitions made ahead of the current month."),
    today: str | None = typer.Option(None, "--today", help="The date (default: today, UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Make next months' reading partitions and drop those past the retention.

    The worker does the same every night (cimhouse worker).

    Example: cimhouse safety maintain --retention-months 13 --months-ahead 2
    """
    from cimhouse.safety.maintain_readings import maintain_readings

    current = settings()
    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise InvalidInput(_("--today must be a date, e.g. 2026-12-02")) from None
    with session_scope(engine(current)) as session:
        result = maintain_readings(session, today=day, months_ahead=ahead,
                                   retention_months=retention or current.reading_retention_months)
    summary = {"created": result.created, "dropped": result.dropped, "kept": result.kept}
    if as_json:
        print_json(summary)
    else:
        console.print(f"created {len(result.created)}, dropped {len(result.dropped)}, "
                      f"kept {result.kept} partitions")


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
    from zoneinfo import ZoneInfo

    from cimhouse.safety.clock import ManualClock
    from cimhouse.safety.policy import SafetyPolicy
    from cimhouse.safety.tick import run_tick
    from cimhouse.scope import parse_scope, with_county_keys

    try:
        clock = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError:
        raise InvalidInput(_("--now must be an ISO time, e.g. 2026-12-02T20:00+08:00")) from None
    clock = clock if clock.tzinfo else clock.replace(tzinfo=ZoneInfo(CHINA_TIME_ZONE))
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
