"""``cimhouse serve``: the GraphQL endpoint."""

from __future__ import annotations

import typer

from cimhouse.cli.common import console, handle_errors, settings


@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    dev: bool = typer.Option(False, "--dev", help="Enable GraphiQL at /graphql."),
) -> None:
    """Serve GraphQL at http://HOST:PORT/graphql.

    Example: cimhouse serve --host 127.0.0.1 --port 8000 --dev
    """
    import uvicorn

    from cimhouse.api.app import create_app

    current = settings()
    if dev:
        current = current.with_changes(dev=True)
    console.print(f"GraphQL at http://{host}:{port}/graphql")
    uvicorn.run(create_app(current), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
