"""The CLI end to end on its own embedded cluster: start, upgrade, load, stop, restart."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import EmbeddedCluster


@pytest.fixture
def var_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="cimcli-", dir="/tmp"))
    monkeypatch.delenv("CIMHOUSE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CIMHOUSE_SECRET_KEY", raising=False)
    monkeypatch.setenv("CIMHOUSE_VAR_DIR", str(root))
    yield root
    EmbeddedCluster(root / "pg").destroy()
    shutil.rmtree(root, ignore_errors=True)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_lifecycle_keeps_data(var_dir: Path) -> None:
    assert run("db", "start")[0] == 0
    assert (var_dir / "secret.key").exists()
    assert run("db", "upgrade")[0] == 0
    code, out = run("regions", "load", "--json")
    assert code == 0
    assert json.loads(out)["added"] == 27036
    code, out = run("db", "status", "--json")
    assert code == 0
    assert json.loads(out)["running"] is True
    assert run("db", "stop")[0] == 0
    assert run("db", "status")[0] == 3  # not running
    assert run("db", "start")[0] == 0
    code, out = run("regions", "load", "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["added"] == 0
    assert summary["unchanged"] == 27036


def test_every_command_has_help_with_example() -> None:
    from cimhouse.cli.main import full_command

    group = full_command()  # the root group itself imports a command's module only when run

    def walk(command: object, path: list[str]) -> Iterator[list[str]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:  # a group: its leaves carry the examples
            for name, sub in subcommands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path

    paths = list(walk(group, []))
    assert len(paths) >= 6, paths
    for path in paths:
        code, out = run(*path, "--help")
        assert code == 0, path
        assert "Example" in out, f"cimhouse {' '.join(path)} --help lacks an example"
