"""The CLI answers at once (issue 18): what importing the entry point and running the quick
commands imports, as an import graph (the wall time is measured in bench/bench_cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cimhouse.cli import main

HEAVY = ("sqlalchemy", "strawberry", "ifcopenshell", "geoalchemy2", "fastapi", "psycopg",
         "pyproj", "shapely", "numpy", "procrastinate", "graphql", "pydantic", "alembic",
         "uvicorn", "openpyxl", "xlsxwriter", "babel")
VALID = "330402007024-001-0003-00101-8"


def _modules_after(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter running ``code``."""
    script = (f"import sys\n{code}\n"
              "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _run_cli(*args: str) -> str:
    return ("from cimhouse.cli.main import app\n"
            "try:\n"
            f"    app({list(args)!r}, prog_name='cimhouse')\n"
            "except SystemExit:\n"
            "    pass\n")


def test_importing_the_entry_point_imports_nothing_heavy() -> None:
    loaded = _modules_after("import cimhouse.cli.main")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "rich" not in loaded  # rich is for help and tables, made when first used


@pytest.mark.parametrize("args", [("--help",), ("--lang", "zh", "--help"),
                                  ("codes", "validate", VALID),
                                  ("codes", "validate", "123", "--json")])
def test_quick_commands_import_nothing_heavy(args: tuple[str, ...]) -> None:
    loaded = _modules_after(_run_cli(*args))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def _group_help_script(group: str) -> str:
    """Run ``<group> --help`` and ``<group> <command> --help`` for each of its commands in one
    interpreter; print the top-level packages imported."""
    return (
        "import sys\n"
        "from cimhouse.cli.main import app, root_command\n"
        "def run(args):\n"
        "    try:\n"
        "        app(args, prog_name='cimhouse')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"run([{group!r}, '--help'])\n"
        f"command = root_command().get_command(None, {group!r})\n"
        "for name in sorted(getattr(command, 'commands', {})):\n"
        f"    run([{group!r}, name, '--help'])\n"
        "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")


@pytest.mark.parametrize("group", sorted(main.COMMANDS))
def test_every_group_help_imports_nothing_heavy(group: str) -> None:
    """``cimhouse <group> --help`` and the help of each of its commands answer without the
    database, GraphQL, IFC or spreadsheet libraries: command modules import those inside the
    command functions (the wall time is in bench/bench_cli.py)."""
    loaded = _modules_after(_group_help_script(group))
    assert not loaded & set(HEAVY), (group, sorted(loaded & set(HEAVY)))


def test_cli_choices_equal_their_domain_sources() -> None:
    """cimhouse.cli.choices repeats a few domain constants so that option declarations need
    no heavy import; each must equal its source."""
    import importlib
    import zoneinfo

    from cimhouse.cli import choices

    for name, module, source in choices.SOURCES:
        where = importlib.import_module(module)
        ours = getattr(choices, name)
        if source.startswith("keys:"):
            assert ours == tuple(getattr(where, source[5:])), name
        elif source.startswith("key:"):
            zone = getattr(where, source[4:])
            assert isinstance(zone, zoneinfo.ZoneInfo), name
            assert zone.key == ours, name
        else:
            assert ours == getattr(where, source), name


def test_other_groups_do_not_load_for_codes() -> None:
    script = _run_cli("codes", "validate", VALID) + (
        "import sys, json\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('cimhouse.cli.'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    cli_modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert cli_modules == ["cimhouse.cli.cmd_codes", "cimhouse.cli.common", "cimhouse.cli.main",
                           "cimhouse.cli.usage"]


def test_every_command_module_is_in_the_table() -> None:
    """A cmd_*.py not in COMMANDS still works but is imported by every ``--help``: list it."""
    assert main._unlisted_modules() == []
    full = main.full_command()
    for name, (_module, short) in main.COMMANDS.items():
        command = full.commands[name]
        assert command.help, name
        # the listing's one-liner is the group's own help (first paragraph), or its docstring's
        assert short.split("\n")[0] in (command.help.split("\n")[0],
                                        (command.short_help or "").split("\n")[0]), name


def test_lang_option_anywhere_on_the_line() -> None:
    argv = ["cimhouse", "codes", "validate", VALID, "--lang", "zh"]
    assert main._lang_from_argv(argv) == "zh"
    assert argv == ["cimhouse", "codes", "validate",
                                                             VALID]
    argv = ["cimhouse", "--lang=en", "--help"]
    assert main._lang_from_argv(argv) == "en"
    assert argv == ["cimhouse", "--help"]


def test_console_script_in_chinese() -> None:
    cli = [sys.executable, "-m", "cimhouse.cli.main"]
    env = {"PATH": "/usr/bin:/bin", "LANG": "zh_CN.UTF-8", "COLUMNS": "120"}
    done = subprocess.run([*cli, "codes", "validate", VALID, "12345"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 1
    assert done.stdout.startswith("有效")
    assert "无效" in done.stdout
    helped = subprocess.run([*cli, "--help"], capture_output=True, text=True, env=env)
    assert "25 位房屋编码" in helped.stdout
    assert "消息与帮助的语言" in helped.stdout
    english = subprocess.run([*cli, "--lang", "en", "codes", "--help"], capture_output=True,
                             text=True, env=env)
    assert "The 25-character house code" in english.stdout
