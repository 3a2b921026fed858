"""``cimhouse webhooks ...``: push the change feed to other systems (signed, at least once)."""

from __future__ import annotations

import typer

from cimhouse.cli.common import (
    cli_actor,
    console,
    engine,
    handle_errors,
    print_json,
    settings,
)
from cimhouse.i18n import _

webhooks_app = typer.Typer(help="Outbound webhooks of the change feed: signed pushes to other "
                                "systems.", no_args_is_help=True)


@webhooks_app.command("add")
@handle_errors
def add(
    url: str = typer.Option(..., "--url", help="Where to POST the batches (http or https)."),
    scope: str = typer.Option(..., "--scope", help="Region code (2-12 digits) or estate code: "
                                                   "only changes there are sent."),
    kinds: str | None = typer.Option(None, "--kinds", help="Comma-separated change kinds "
                                     "(house,code,...). Default: all but persons."),
    with_persons: bool = typer.Option(False, "--with-persons", help="Allow the person and "
                                      "household kinds (values masked as in the feed)."),
    since: str | None = typer.Option(None, "--since", help="Start after this feed cursor "
                                     "(default: changes from now on)."),
    batch_size: int = typer.Option(100, "--batch-size", min=1, max=1000,
                                   help="Changes per delivery."),
    max_attempts: int = typer.Option(8, "--max-attempts", min=1, max=50,
                                     help="Attempts before a batch is dead-lettered."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
) -> None:
    """Add a webhook; its signing secret is printed once (stored encrypted, never logged).

    Example: cimhouse webhooks add --url https://gis.example/in --scope 330402 --kinds house,code
    """
    from cimhouse.db import session_scope
    from cimhouse.feed.manage_webhooks import add_webhook
    from cimhouse.feed.read_changes import parse_cursor

    wanted = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    with session_scope(engine()) as session:
        hook, secret = add_webhook(session, settings(), url=url, scope=scope, kinds=wanted,
                                   actor=cli_actor(), with_persons=with_persons,
                                   since=parse_cursor(since) if since else None,
                                   batch_size=batch_size, max_attempts=max_attempts)
        described = hook.describe()
    if as_json:
        print_json({**described, "secret": secret})
        return
    console.print(_("webhook {id} added; its signing secret, shown once:", id=described["id"]))
    typer.echo(secret)


@webhooks_app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the webhooks: scope, kinds, cursor and state (idle, delivering, dead_letter).

    Example: cimhouse webhooks list --json
    """
    from rich.table import Table

    from cimhouse.db import session_scope
    from cimhouse.feed.manage_webhooks import list_webhooks

    with session_scope(engine()) as session:
        hooks = list_webhooks(session)
    if as_json:
        print_json(hooks)
        return
    if not hooks:
        console.print(_("no webhooks"))
        return
    states = {"idle": _("idle"), "delivering": _("delivering"),
              "dead_letter": _("dead letter")}
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for title in (_("ID"), _("URL"), _("scope"), _("kinds"), _("cursor"), _("status"),
                  _("delivery job")):
        table.add_column(title)
    for hook in hooks:
        table.add_row(str(hook["id"]), hook["url"], hook["scope"], ",".join(hook["kinds"]),
                      hook["cursor"], states[hook["status"]], str(hook["pending_job_id"] or "-"))
    console.print(table)


@webhooks_app.command("remove")
@handle_errors
def remove(webhook_id: int = typer.Argument(...)) -> None:
    """Remove a webhook (a batch still queued for it is cancelled).

    Example: cimhouse webhooks remove 3
    """
    from cimhouse.db import session_scope
    from cimhouse.feed.manage_webhooks import remove_webhook

    with session_scope(engine()) as session:
        remove_webhook(session, webhook_id, cli_actor())
    console.print(_("webhook {id} removed", id=webhook_id))


@webhooks_app.command("deliver")
@handle_errors
def deliver() -> None:
    """Queue the next batch of every webhook now (cimhouse worker also does it every 10 s).

    Example: cimhouse webhooks deliver && cimhouse worker --once
    """
    from cimhouse.feed.deliver_webhooks import deliver_webhooks

    done = deliver_webhooks(engine(), settings())
    print_json({"queued": done.queued, "waiting": done.waiting, "recovered": done.recovered})


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
