"""``cimhouse serve``: the GraphQL endpoint; ``cimhouse export-schema``: its SDL contract."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.common import console, handle_errors, settings
from cimhouse.i18n import _


@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port (1-65535)."),
    dev: bool = typer.Option(False, "--dev", help="Enable GraphiQL at /graphql."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
) -> None:
    """Serve GraphQL at http://HOST:PORT/graphql (bearer tokens: `cimhouse tokens create`).

    Example: cimhouse serve --host 127.0.0.1 --port 8000 --dev
    """
    import uvicorn

    from cimhouse.api.app import create_app
    from cimhouse.api.hardening import UVICORN_OPTIONS

    current = settings()
    if dev:
        current = current.with_changes(dev=True)
    console.print(_("GraphQL at http://{host}:{port}/graphql", host=host, port=port))
    if workers > 1:
        import os

        if dev:
            os.environ["CIMHOUSE_DEV"] = "1"
        uvicorn.run("cimhouse.api.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="warning", **UVICORN_OPTIONS)
        return
    uvicorn.run(create_app(current), host=host, port=port, log_level="warning",
                **UVICORN_OPTIONS)


@handle_errors
def export_schema(
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Where to write (default: the checked-in "
                                            "cimhouse/graphql/schema.graphql)."),
) -> None:
    """Write the GraphQL SDL; commit it whenever the schema changes (a test compares).

    Example: cimhouse export-schema
    """
    from cimhouse.graphql.schema import SDL_PATH, export_sdl

    written = export_sdl(output or SDL_PATH)
    console.print(_("wrote {path}", path=written))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("export-schema")(export_schema)
