"""``cimhouse broker ...``: the embedded MQTT broker (Debian's mosquitto) for readings."""

from __future__ import annotations

import sys

import typer

from cimhouse.cli.common import console, handle_errors, print_json, print_summary, settings
from cimhouse.errors import EXIT_NOT_RUNNING, ConfigurationError
from cimhouse.i18n import _

broker_app = typer.Typer(help="Run the embedded MQTT broker (mosquitto) for device readings.",
                         no_args_is_help=True)


def _require_embedded() -> None:
    if settings().mqtt_url:
        raise ConfigurationError(_("CIMHOUSE_MQTT_URL is set: the broker is managed elsewhere"))


@broker_app.command("start")
@handle_errors
def start() -> None:
    """Start mosquitto on 127.0.0.1:CIMHOUSE_MQTT_PORT (1883), state under ./var/mqtt.

    The first start writes the config and a generated password (var/mqtt/credentials);
    anonymous clients are refused.

    Example: cimhouse broker start
    """
    from cimhouse.safety.broker import embedded_broker

    _require_embedded()
    broker = embedded_broker(settings())
    started = broker.start()
    where = broker.address().url()
    console.print(_("started: {where}", where=where) if started
                  else _("already running: {where}", where=where))


@broker_app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the embedded broker (queued messages stay in ./var/mqtt/data).

    Example: cimhouse broker stop
    """
    from cimhouse.safety.broker import embedded_broker

    _require_embedded()
    console.print(_("stopped") if embedded_broker(settings()).stop() else _("not running"))


@broker_app.command("status")
@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
           show_url: bool = typer.Option(False, "--url",
                                         help="Print only the broker's URL with its password "
                                              "(for scripts: gateways, the simulator).")) -> None:
    """Show whether the embedded broker runs, and where.

    Example: cimhouse broker status --json
    """
    from cimhouse.safety.broker import BrokerAddress, embedded_broker

    current = settings()
    info: dict[str, object]
    if current.mqtt_url:
        address = BrokerAddress.parse(current.mqtt_url)
        info = {"mode": "external", "url": address.url()}
        running = True
    else:
        broker = embedded_broker(current)
        st = broker.status()
        address = broker.address() if st.initialised else BrokerAddress("127.0.0.1", st.port)
        running = st.running
        info = {"mode": "embedded", "initialised": st.initialised, "running": st.running,
                "pid": st.pid, "url": address.url(), "data_dir": str(st.directory)}
    if show_url:
        sys.stdout.write(address.url(hide_password=False) + "\n")
    elif as_json:
        print_json(info)
    else:
        print_summary(info)
    if not running:
        raise typer.Exit(code=EXIT_NOT_RUNNING)


def register(app: typer.Typer) -> None:
    app.add_typer(broker_app, name="broker")
