"""Entry point of the ``cimhouse`` console script: a root group that imports a command's
module only when that command runs.

``cimhouse --help`` and ``cimhouse codes validate X`` must answer at once, so this module
imports only typer/click and :mod:`cimhouse.i18n`; :data:`COMMANDS` names each top-level
command, the module that defines it (``cmd_<area>.py`` with ``register(app)``) and its one-line
help for the listing. A ``cmd_*`` module missing from the table still works (it is imported
when an unknown command is asked for, and for ``--help``), but costs every start its imports;
``tests/test_cli_startup.py`` fails until it is listed.

Every help text is translated when its command is built (:func:`translate_tree`), so the
command modules write plain English and the catalog (``cimhouse/locale``) holds the Chinese.

Example: ``cimhouse --lang zh codes validate 330402007024-001-0003-00101-8``
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

import cimhouse.cli
from cimhouse.cli.usage import LocalContext, localise_typer, show_error
from cimhouse.i18n import set_language, translate

#: top-level command -> (module under cimhouse.cli, one-line help shown by ``cimhouse --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "broker": ("cmd_broker", "Run the embedded MQTT broker (mosquitto) for device readings."),
    "changes": ("cmd_changes", "Every committed change after a cursor, oldest first, one JSON "
                               "object per line."),
    "codes": ("cmd_codes", "The 25-character house code: validate, decode, assign, lifecycle."),
    "db": ("cmd_db", "Run the embedded PostgreSQL + PostGIS cluster and migrations."),
    "demo": ("cmd_demo", "Synthetic demo data (fictitious persons only)."),
    "export-schema": ("cmd_serve", "Write the GraphQL SDL; commit it whenever the schema "
                                   "changes (a test compares)."),
    "export": ("cmd_export", "Write a layer (no personal data) of a scope, streaming; XLSX has "
                             "Chinese headers."),
    "find": ("cmd_find", "Ranked houses for a typed address: score, house code, the parts "
                         "that matched."),
    "import": ("cmd_import", "Bulk imports: housing registers, IFC models, facilities."),
    "jobs": ("cmd_codes", "Administrative jobs (code assignment, region changes)."),
    "programme": ("cmd_programme", "The future-community programme: gap-filling projects and "
                                   "service-index surveys."),
    "regions": ("cmd_regions", "Administrative regions (levels 1-5)."),
    "report": ("cmd_report", "Reports for community work."),
    "roster": ("cmd_export", "The roster (花名册) of a community: houses, households and persons "
                             "(masked) in XLSX."),
    "safety": ("cmd_safety", "Home safety of the elderly living alone: readings, rules and "
                             "alerts."),
    "serve": ("cmd_serve", "Serve GraphQL at http://HOST:PORT/graphql (bearer tokens: "
                           "`cimhouse tokens create`)."),
    "tokens": ("cmd_tokens", "API principals: scoped, role-based bearer tokens."),
    "webhooks": ("cmd_webhooks", "Outbound webhooks of the change feed: signed pushes to other "
                                 "systems."),
    "worker": ("cmd_worker", "Run queued jobs (code assignment, deliveries) until stopped "
                             "(Ctrl-C or SIGTERM stop it)."),
}
#: modules whose commands join another module's group (``cimhouse import <kind>``)
_GROUP_MEMBERS = {"cmd_import": "cmd_import_"}

LANG_HELP = "Language of messages and help: zh (中文) or en; default from LANG."


# typer vendors its own click (typer._click): its classes are reached through typer only
Command = Any


def _load(module_name: str) -> TyperGroup:
    """Import one command module (and its group members); return its commands as a group."""
    members = _GROUP_MEMBERS.get(module_name)
    if members:
        for info in pkgutil.iter_modules(cimhouse.cli.__path__):
            if info.name.startswith(members):
                importlib.import_module(f"cimhouse.cli.{info.name}")
    holder = typer.Typer()
    importlib.import_module(f"cimhouse.cli.{module_name}").register(holder)
    return typer.main.get_group(holder)


def _unlisted_modules() -> list[str]:
    listed = {module for module, _help in COMMANDS.values()}
    prefixes = tuple(_GROUP_MEMBERS.values())
    return sorted(m.name for m in pkgutil.iter_modules(cimhouse.cli.__path__)
                  if m.name.startswith("cmd_") and m.name not in listed
                  and not m.name.startswith(prefixes))


def help_texts(command: Command, path: str = "cimhouse") -> Iterator[tuple[str, str]]:
    """(command path, text) of every help text in a click tree (for translation)."""
    for text in (command.help, command.short_help):
        if text:
            yield path, text
    for param in [*command.params, command.get_help_option(typer.Context(command))]:
        text = getattr(param, "help", None)
        if text:
            yield f"{path} {param.name}", text
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            yield from help_texts(sub, f"{path} {name}")


_PLAIN = (str, bool, list[str])


def _plain_runtime_param(param: Any) -> None:
    """Coerce a ``str`` / ``bool`` / ``list[str]`` parameter without Pydantic.

    typer 0.2x coerces every non-flag value through a Pydantic ``TypeAdapter``; importing
    Pydantic alone costs about as much as the whole rest of ``codes validate``. Click has
    already made these values strings: they only need to become the annotated container.
    Other annotations (paths, numbers, enums) keep typer's coercion. If typer's internals
    move, nothing breaks: the parameter keeps its adapter (tests/test_cli_startup.py notices).
    """
    descriptor: Any = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", "absent") is not None:
        return
    if descriptor.annotation not in _PLAIN or descriptor.file_annotation is not None:
        return
    try:
        from typer._coercion import PassThroughRuntimeParam, build_runtime_param
    except ImportError:  # pragma: no cover - another typer
        return

    class PlainText(PassThroughRuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if isinstance(value, str | bool) and self.annotation in (str, bool):
                return value
            if (isinstance(value, list | tuple) and self.annotation == list[str]
                    and all(isinstance(item, str) for item in value)):
                return list(value)
            return build_runtime_param(descriptor)._coerce_value(value, param=param, ctx=ctx)

    param._runtime_param = PlainText(annotation=descriptor.annotation,
                                     parameter_info=descriptor.parameter_info)


def translate_tree(command: Command) -> Command:
    """Translate every help text of a click tree into the current language, in place (and
    give its text parameters the quick coercion, :func:`_plain_runtime_param`)."""
    if command.help:
        command.help = translate(inspect.cleandoc(command.help))
    if command.short_help:
        command.short_help = translate(inspect.cleandoc(command.short_help))
    # click's plain help, as for the root: typer's rich help imports rich.markdown,
    # markdown-it and pygments (~0.25 s of CPU) before it prints a line
    command.rich_markup_mode = None
    command.context_class = LocalContext  # "Usage:" in the current language
    for param in [*command.params, command.get_help_option(typer.Context(command))]:
        if param is None:
            continue
        _plain_runtime_param(param)
        text = getattr(param, "help", None)
        if text:
            param.help = translate(inspect.cleandoc(text))
    if hasattr(command, "commands"):
        for sub in command.commands.values():
            translate_tree(sub)
    return command


def _translate_help(param: Any) -> None:
    text = getattr(param, "help", None)
    if text:
        param.help = translate(inspect.cleandoc(text))


class LazyGroup(TyperGroup):
    """The root group: lists :data:`COMMANDS` without importing them."""

    _listing = False
    context_class = LocalContext  # "Usage:" in the current language

    def list_commands(self, ctx: Any) -> list[str]:  # noqa: ARG002 - click's signature
        names = set(COMMANDS)
        if _unlisted_modules():
            names.update(self._unlisted().commands)
        return sorted(names)

    def _unlisted(self) -> TyperGroup:
        merged = TyperGroup(name="unlisted")
        for module in _unlisted_modules():
            for name, cmd in _load(module).commands.items():
                merged.add_command(cmd, name)
        return merged

    def get_command(self, ctx: Any, cmd_name: str) -> Command | None:  # noqa: ARG002
        if cmd_name in COMMANDS:
            module, short = COMMANDS[cmd_name]
            if self._listing:  # the listing needs only the one-line help
                return TyperCommand(cmd_name, help=translate(short), short_help=translate(short))
            command = _load(module).commands.get(cmd_name)
        else:
            command = self._unlisted().commands.get(cmd_name)
        return translate_tree(command) if command is not None else None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        for param in [*self.params, self.get_help_option(ctx)]:
            if param is None:
                continue
            _plain_runtime_param(param)
            _translate_help(param)
        return super().parse_args(ctx, args)

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Any = None, **extra: Any) -> Any:
        localise_typer()  # also when run without the console script (typer's CliRunner)
        with _usage_errors_shown():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_shown():
            return super().invoke(ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        if self.help:
            self.help = translate(inspect.cleandoc(self.help))
        for param in self.params:
            _translate_help(param)
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


@contextmanager
def _usage_errors_shown() -> Iterator[None]:
    """Show click's usage errors in the user's language (:func:`cimhouse.cli.usage.show_error`)
    and exit with click's code: typer would print them in English."""
    from typer._click.exceptions import ClickException

    try:
        yield
    except ClickException as exc:
        show_error(exc)
        raise typer.Exit(code=exc.exit_code) from None


def _lang_option(_ctx: Any, _param: Any, value: str | None) -> str | None:
    if value is not None:  # the console script took it off argv already (_lang_from_argv)
        set_language(value)
    return value


class _App(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        set_language(_lang_from_argv(sys.argv))
        localise_typer()
        return super().__call__(*args, **kwargs)


def _lang_from_argv(argv: list[str]) -> str | None:
    """``--lang X`` / ``--lang=X`` anywhere on the command line (removed from it), so that the
    language holds before any help text is built."""
    for i, arg in enumerate(argv[1:], start=1):
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i:i + 2]
            return value
        if arg.startswith("--lang="):
            del argv[i]
            return arg.split("=", 1)[1]
    return None


app = _App(
    name="cimhouse",
    cls=LazyGroup,
    help="CIM house-code platform: regions, codes, imports and the GraphQL API.\n\n"
         "Example: cimhouse db start && cimhouse db upgrade && cimhouse regions load",
    no_args_is_help=True,
    add_completion=False,
    # plain click help: typer's rich help imports rich, markdown-it and rich.traceback
    # (~0.2 s) before it prints a line; the root listing answers without them
    rich_markup_mode=None,
)


@app.callback()
def _root(lang: str | None = typer.Option(None, "--lang", help=LANG_HELP, is_eager=True,
                                          callback=_lang_option)) -> None:
    """CIM house-code platform: regions, codes, imports and the GraphQL API.

    Example: cimhouse db start && cimhouse db upgrade && cimhouse regions load
    """


def root_command() -> Command:
    """The root click group with its help translated into the current language."""
    command = typer.main.get_command(app)
    return translate_tree(command)


def full_command() -> TyperGroup:
    """The whole click tree with every module imported (for the catalog and tests)."""
    root = typer.main.get_group(app)
    full = TyperGroup(name="cimhouse", help=root.help, params=root.params)
    for name, (module, _short) in COMMANDS.items():
        full.add_command(_load(module).commands[name], name)
    for module in _unlisted_modules():
        for name, cmd in _load(module).commands.items():
            full.add_command(cmd, name)
    return full


if __name__ == "__main__":
    app()
