"""Click's own words in the user's language: usage errors, help headings, ``Usage:``.

typer (with the click it vendors) writes its messages in English: the few it passes through
``gettext`` (help headings, ``[required]``, ``No such command``) and the rest as plain
f-strings (``Missing option '--scope'.``, ``Invalid value for '--first': ...``). This module
puts both into the catalog's language:

- :func:`localise_typer` points typer's ``gettext`` at :func:`cimhouse.i18n.translate`;
- :class:`LocalContext` makes help and usage with ``Usage:`` translated;
- :func:`show_error` prints a usage error the way click does, with its message translated by
  :data:`PATTERNS` (one regular expression per message click can produce).

Example (``LANG=zh_CN.UTF-8 cimhouse report services``)::

    用法：cimhouse report services [OPTIONS]
    试试 'cimhouse report services --help' 查看帮助。

    错误：缺少选项 '--scope'。

Imports only the standard library, typer and :mod:`cimhouse.i18n` (the CLI starts at once).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer._click.core import Context
from typer._click.formatting import HelpFormatter

from cimhouse.i18n import _, translate


def typer_msgids() -> list[str]:
    """The msgids typer passes through its ``gettext`` (help headings and markers), written
    out here so that the catalog extracts them."""
    return [_("Arguments"), _("Options"), _("Commands"), _("required"),
            _("default: {default}"), _("env var: {var}"), _("(dynamic)"), _("Aborted!"),
            _("Missing command."), _("No such command {name!r}.")]


def _typer_gettext(message: str) -> str:
    """typer's ``gettext``: its msgids are in our catalog (:func:`typer_msgids`)."""
    return translate(message)


def localise_typer() -> None:
    """Let typer's ``gettext`` calls find their Chinese in the cimhouse catalog."""
    import typer.core

    typer.core._ = _typer_gettext  # type: ignore[attr-defined]


class LocalFormatter(HelpFormatter):
    """click's help formatter with ``Usage:`` in the current language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)


class LocalContext(Context):
    formatter_class = LocalFormatter


def _param_kind(kind: str) -> str:
    return {"option": _("option"), "argument": _("argument"),
            "parameter": _("parameter")}.get(kind, kind)


#: (pattern of an English message of click/typer/pydantic, its translation from the match)
PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Missing (option|argument|parameter) (.+?)\.(?: (.*))?$", re.S),
     lambda m: _("missing {kind} {name}.", kind=_param_kind(m[1]), name=m[2])
     + (f" {translate_message(m[3])}" if m[3] else "")),
    (re.compile(r"Missing parameter: (.+)$"), lambda m: _("missing parameter {name}.",
                                                            name=m[1])),
    (re.compile(r"No such option: (\S+) \(Possible options: (.+)\)$"),
     lambda m: _("no such option: {option} (did you mean {options}?)", option=m[1],
                 options=m[2])),
    (re.compile(r"No such option: (\S+)$"), lambda m: _("no such option: {option}",
                                                          option=m[1])),
    (re.compile(r"No such command '(.+)'\.$"), lambda m: _("no such command: {name!r}",
                                                             name=m[1])),
    (re.compile(r"Got unexpected extra arguments?(?:\(s\))? \((.*)\)$"),
     lambda m: _("unexpected extra arguments: {args}", args=m[1])),
    (re.compile(r"Option '(.+)' requires an argument\.$"),
     lambda m: _("option {option!r} needs a value.", option=m[1])),
    (re.compile(r"Option '(.+)' requires (\d+) arguments\.$"),
     lambda m: _("option {option!r} needs {count} values.", option=m[1], count=m[2])),
    (re.compile(r"Option '(.+)' does not take a value\.$"),
     lambda m: _("option {option!r} takes no value.", option=m[1])),
    (re.compile(r"Invalid value for (.+?): (.*)$", re.S),
     lambda m: _("invalid value for {param}: {reason}", param=m[1],
                 reason=translate_message(m[2]))),
    (re.compile(r"Invalid value: (.*)$", re.S),
     lambda m: _("invalid value: {reason}", reason=translate_message(m[1]))),
    (re.compile(r"(File|Directory|Path|file|directory|path) (.+) does not exist\.$"),
     lambda m: _("{path} does not exist.", path=m[2])),
    (re.compile(r"(?:File|Path|file|path) (.+) is a directory\.$"),
     lambda m: _("{path} is a directory.", path=m[1])),
    (re.compile(r"(?:Directory|Path|directory|path) (.+) is a file\.$"),
     lambda m: _("{path} is a file.", path=m[1])),
    (re.compile(r"(?:File|Directory|Path|file|directory|path) (.+) is not readable\.$"),
     lambda m: _("{path} is not readable.", path=m[1])),
    (re.compile(r"(?:File|Directory|Path|file|directory|path) (.+) is not writable\.$"),
     lambda m: _("{path} is not writable.", path=m[1])),
    (re.compile(r"Input should be a valid integer.*$"), lambda _m: _("not a whole number.")),
    (re.compile(r"Input should be a valid number.*$"), lambda _m: _("not a number.")),
    (re.compile(r"Input should be a valid boolean.*$"), lambda _m: _("not yes/no (true/false).")),
    (re.compile(r"Input should be a valid date.*$"), lambda _m: _("not a date (YYYY-MM-DD).")),
    (re.compile(r"Input should be less than or equal to (\S+)$"),
     lambda m: _("at most {limit}.", limit=m[1])),
    (re.compile(r"Input should be greater than or equal to (\S+)$"),
     lambda m: _("at least {limit}.", limit=m[1])),
    (re.compile(r"Input should be less than (\S+)$"),
     lambda m: _("less than {limit}.", limit=m[1])),
    (re.compile(r"Input should be greater than (\S+)$"),
     lambda m: _("more than {limit}.", limit=m[1])),
    (re.compile(r"'(.*)' is not one of (.+)\.$"),
     lambda m: _("{value!r} is not one of {choices}.", value=m[1], choices=m[2])),
    (re.compile(r"Value (.+) is not a valid (\w+)\.$"),
     lambda m: _("{value} is not a valid {kind}.", value=m[1], kind=m[2])),
]


def translate_message(text: str) -> str:
    """An English message of click, typer or pydantic in the current language (as it is when
    no pattern knows it).

    >>> from cimhouse.i18n import language_scope
    >>> with language_scope("zh"):
    ...     print(translate_message("Missing option '--scope'."))
    缺少选项 '--scope'。
    """
    for pattern, render in PATTERNS:
        found = pattern.match(text.strip())
        if found:
            return render(found)
    return text


def show_error(exc: Any, file: Any = None) -> None:
    """Print a click exception as click does (usage, hint, ``Error: ...``), translated."""
    out = file or sys.stderr
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = _("Try '{command} {option}' for help.", command=ctx.command_path,
                     option=ctx.help_option_names[0]) + "\n"
        typer.echo(f"{ctx.get_usage()}\n{hint}", file=out, color=ctx.color)
    typer.echo(_("Error: {message}", message=translate_message(exc.format_message())),
               file=out, color=None if ctx is None else ctx.color)
