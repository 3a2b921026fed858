"""``cimhouse tokens ...``: API principals and their bearer tokens."""

from __future__ import annotations

import typer

from cimhouse.cli.common import (
    cli_actor,
    console,
    engine,
    handle_errors,
    print_json,
    session_scope,
)
from cimhouse.i18n import _

# cimhouse.auth and the database are imported inside each command: `--help` answers
# without them

tokens_app = typer.Typer(help="API principals: scoped, role-based bearer tokens.",
                         no_args_is_help=True)



@tokens_app.command("create")
@handle_errors
def create(
    name: str = typer.Option(..., "--name", help="Unique name of the calling system."),
    scope: str = typer.Option(..., "--scope", help="Scope code: 2/4/6/9/12-digit region "
                                                   "code or a 25-character estate code."),
    role: list[str] = typer.Option(..., "--role", help="reader, person_reader, pii_reader, "
                                                       "importer, coder or admin; repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
) -> None:
    """Issue a bearer token; it is printed once and only its hash is stored.

    Example: cimhouse tokens create --name gis-portal --scope 330402 --role reader
    --role person_reader
    """
    from cimhouse.auth.tokens import create_token
    from cimhouse.coding.resolve_scope import resolve_scope

    with session_scope(engine()) as session:
        resolve_scope(session, scope)  # a token for a region that does not exist sees nothing
        issued = create_token(session, name=name, scope=scope, roles=role, actor=cli_actor())
    if as_json:
        print_json({"id": issued.principal_id, "name": issued.name, "token": issued.token})
        return
    console.print(_("principal {name} (id {id}); token, shown once:", name=issued.name,
                    id=issued.principal_id))
    typer.echo(issued.token)


@tokens_app.command("list")
@handle_errors
def list_(
    include_revoked: bool = typer.Option(False, "--all", help="Include revoked principals."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List principals (never tokens).

    Example: cimhouse tokens list --all --json
    """
    from cimhouse.auth.tokens import list_principals

    with session_scope(engine()) as session:
        rows = list_principals(session, include_revoked=include_revoked)
    if as_json:
        print_json([row.__dict__ for row in rows])
        return
    from rich.console import Console
    from rich.table import Table

    from cimhouse.schema.vocab import Role, vocab_label

    table = Table(box=None, padding=(0, 1), header_style="bold")
    for title in (_("ID"), _("name"), _("scope"), _("roles"), _("state"), _("last used")):
        table.add_column(title)
    for row in rows:
        state = (_("revoked {date}", date=f"{row.revoked_at:%Y-%m-%d}") if row.revoked_at
                 else _("active"))
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else _("never")
        table.add_row(str(row.id), row.name, row.scope_code,
                      "、".join(vocab_label(Role, r) for r in row.roles), state, used)
    Console().print(table)  # stdout, like the tab-separated lines it replaces


@tokens_app.command("revoke")
@handle_errors
def revoke(
    principal: str = typer.Argument(..., help="Principal name or id."),
) -> None:
    """Revoke a principal's token immediately.

    Example: cimhouse tokens revoke gis-portal
    """
    from cimhouse.auth.tokens import revoke_token

    with session_scope(engine()) as session:
        info = revoke_token(session, principal, actor=cli_actor())
    console.print(_("revoked {name} (id {id})", name=info.name, id=info.id))


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
