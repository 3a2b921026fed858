"""``cimhouse demo generate``: synthetic demo/test data over the real Jiaxing regions."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.common import console, handle_errors, print_json
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

demo_app = typer.Typer(help="Synthetic demo data (fictitious persons only).",
                       no_args_is_help=True)


@demo_app.command("generate")
@handle_errors
def generate(
    houses: int = typer.Option(2000, "--houses", min=1, help="About how many houses."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same files."),
    messy: bool = typer.Option(False, "--messy",
                               help="Add real-world dirt: GBK, full-width digits, Chinese "
                                    "numerals, missing districts, wrong ID checksums, "
                                    "duplicates, blank lines, stray headers."),
    out: Path = typer.Option(Path("var/demo"), "--out", file_okay=False,
                             help="Directory to write into (created)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Write register.csv, estates.geojson, buildings.geojson, facilities.csv, manifest.json.

    Persons are fictitious, with checksum-valid ID numbers; regions are the real Jiaxing
    communities (3304).

    Example: cimhouse demo generate --houses 2000 --seed 7 --messy --out var/demo
    """
    from cimhouse.demo.generate_demo import generate_demo

    try:
        summary = generate_demo(out, houses=houses, seed=seed, messy=messy)
    except OSError as exc:
        raise InvalidInput(_("cannot write into {out}: {error}", out=out,
                             error=exc.strerror)) from None
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(_("{houses} houses in {estates} estates, {buildings} buildings, {persons} "
                    "persons, {rows} register rows, {facilities} facilities -> {out}",
                    houses=summary.houses, estates=summary.estates,
                    buildings=summary.buildings, persons=summary.persons,
                    rows=summary.register_rows, facilities=summary.facilities, out=out))


@demo_app.command("devices")
@handle_errors
def devices(
    houses: int = typer.Option(8, "--houses", min=1, max=10000,
                               help="How many homes of elderly people living alone."),
    scenario: str = typer.Option("mixed", "--scenario",
                                 help="normal, gas, smoke, fall, sos, inactivity, door-night, "
                                      "silent, or mixed (the houses take them in turn)."),
    scope: str | None = typer.Option(None, "--scope", help="Only houses in this region."),
    mqtt: str | None = typer.Option(None, "--mqtt",
                                    help="Broker URL (default: CIMHOUSE_MQTT_URL, else the "
                                         "embedded broker, started if needed)."),
    interval: int = typer.Option(10, "--interval", min=1, max=120,
                                 help="Minutes between a device's readings."),
    now: str | None = typer.Option(None, "--now",
                                   help="End of the simulated day, ISO time (default: now)."),
    wait: float = typer.Option(0.0, "--wait", min=0.0,
                               help="Seconds to watch for the alerts raised (needs the "
                                    "ingester running: cimhouse safety ingest)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Publish a simulated day of device readings over MQTT for elderly people living alone.

    Devices are registered for the houses that lack them (uid SIM-<KIND>-<house code>).
    Scenarios gas, smoke, fall and sos raise their alert on arrival; inactivity raises
    its alert at the next inactivity check; normal raises none.

    Example: cimhouse demo devices --houses 8 --scenario mixed --wait 20
    """
    import datetime as dt
    import time

    from cimhouse.cli.common import engine, session_scope, settings
    from cimhouse.demo.simulate_devices import (
        CHINA,
        SCENARIOS,
        alerts_of,
        assign,
        pick_houses,
        publish_day,
        register_devices,
    )
    from cimhouse.safety.broker import BrokerAddress, broker_address
    from cimhouse.safety.mqtt_publish import Publisher
    from cimhouse.scope import parse_scope, with_county_keys

    if scenario != "mixed" and scenario not in SCENARIOS:
        raise InvalidInput(_("unknown scenario {name}; one of: mixed, {names}", name=scenario,
                             names=", ".join(SCENARIOS)))
    try:
        clock = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError:
        raise InvalidInput(_("--now must be an ISO time, e.g. 2026-12-02T20:00+08:00")) from None
    clock = clock if clock.tzinfo else clock.replace(tzinfo=CHINA)
    current = settings()
    eng = engine(current)
    with session_scope(eng) as session:
        parsed = with_county_keys(session, parse_scope(scope)) if scope else None
        chosen, added = register_devices(session, pick_houses(session, houses, parsed))
    if not chosen:
        raise InvalidInput(_("no elderly person living alone found (load the demo data "
                             "first: make demo)"))
    address = BrokerAddress.parse(mqtt) if mqtt else broker_address(current)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with Publisher(address) as publisher:
        sent = publish_day(publisher, chosen, scenario, now=clock, interval_min=interval)
    plan = {house.code: name for house, name in assign(chosen, scenario)}
    console.print(_("{houses} houses, {added} devices registered, {readings} readings "
                    "published in {messages} messages", houses=len(chosen), added=added,
                    readings=sum(sent.values()), messages=publisher.sent))
    seen: set[tuple[str, int]] = set()
    deadline = time.monotonic() + wait
    alerts: list[dict[str, object]] = []
    while wait and time.monotonic() < deadline:
        with session_scope(eng) as session:
            alerts = alerts_of(session, chosen, since=started)
        for alert in alerts:
            key = (str(alert["county"]), int(str(alert["id"])))
            if key not in seen:
                seen.add(key)
                console.print(_("alert: {kind} ({severity}) at {house} [{scenario}]",
                                kind=alert["kind"], severity=alert["severity"],
                                house=alert["house_code"],
                                scenario=plan.get(str(alert["house_code"]), "")))
        time.sleep(0.5)
    if as_json:
        print_json({"houses": plan, "devices_added": added, "readings": sent,
                    "messages": publisher.sent, "alerts": alerts})


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
