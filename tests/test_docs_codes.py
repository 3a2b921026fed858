"""Every house code shown to a reader (docs, README, docstrings, every ``--help``) is valid.

The examples are what people copy first; one with a wrong check character teaches them that
the validator is broken. Codes are found in both written forms: 25 characters without
separators and the hyphenated display form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.coding.house_code import problem

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{24}[0-9Xx]|[0-9]{12}-[0-9]{3}-[0-9]{4}-[0-9]{5}-"
                  r"[0-9Xx])(?![0-9A-Za-z])")


def _command_paths() -> list[list[str]]:
    """The argument paths of the CLI and of every group and command under it."""
    paths: list[list[str]] = []

    # typer carries its own copy of click: duck typing instead of click's classes
    def walk(command: Any, path: list[str], parent: Any) -> None:
        paths.append(path)
        ctx = command.context_class(command, info_name=path[-1] if path else "cimhouse",
                                    parent=parent)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, [*path, name], ctx)

    walk(typer.main.get_command(app), [], None)
    return paths


def _help_texts() -> Iterator[tuple[str, str]]:
    """(command, its rendered --help), wide enough that no code is wrapped."""
    runner = CliRunner()
    for path in _command_paths():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300",
                                                             "TERMINAL_WIDTH": "300"})
        assert result.exit_code == 0, (path, result.output)
        yield " ".join(["cimhouse", *path]), result.output


def _sources() -> Iterator[tuple[str, str]]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "cimhouse").rglob("*.py"))]
    for path in files:
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    yield from _help_texts()


def test_help_texts_are_walked() -> None:
    names = [name for name, _ in _help_texts()]
    assert "cimhouse codes validate" in names
    assert "cimhouse serve" in names
    assert len(names) > 25


def test_every_code_in_docs_readme_and_help_is_valid() -> None:
    found: list[str] = []
    bad: list[str] = []
    for where, content in _sources():
        for code in CODE.findall(content):
            found.append(code)
            reason = problem(code)
            if reason is not None:
                bad.append(f"{where}: {code}: {reason}")
    assert len(found) > 20, "the search for example codes found (almost) nothing"
    assert not bad, "\n".join(bad)
