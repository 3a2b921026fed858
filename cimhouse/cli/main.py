"""Entry point of the ``cimhouse`` console script."""

from __future__ import annotations

import importlib
import pkgutil

import typer

import cimhouse.cli

app = typer.Typer(
    name="cimhouse",
    help="CIM house-code platform: regions, codes, imports and the GraphQL API.\n\n"
         "Example: cimhouse db start && cimhouse db upgrade && cimhouse regions load",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _register_commands() -> None:
    for module in sorted(pkgutil.iter_modules(cimhouse.cli.__path__), key=lambda m: m.name):
        if module.name.startswith("cmd_"):
            importlib.import_module(f"cimhouse.cli.{module.name}").register(app)


_register_commands()

if __name__ == "__main__":
    app()
