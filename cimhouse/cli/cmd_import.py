"""``cimhouse import ...``: the group the importers add their commands to.

Importer command modules (``cmd_import_<kind>.py``) decorate functions with
``@import_app.command("<kind>")``.
"""

from __future__ import annotations

import typer

import_app = typer.Typer(help="Bulk imports: housing registers, IFC models, facilities.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
