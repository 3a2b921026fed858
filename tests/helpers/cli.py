"""The ``cimhouse`` CLI run as a subprocess (a real process: it can be killed mid-run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.keys import TEST_KEY


def cli_env(url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CIMHOUSE_DATABASE_URL=url, CIMHOUSE_SECRET_KEY=TEST_KEY,
               CIMHOUSE_VAR_DIR=str(var_dir))
    return env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cimhouse.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def wide_console(monkeypatch: Any, width: int = 200) -> None:
    """Give the CLI's stderr console ``width`` columns for one test.

    The console is made once per process with the terminal's width (80 under pytest, set by
    whichever test printed first), so a table of many columns abbreviates its cells; a test
    that reads a cell replaces the console with a wide one (``monkeypatch`` restores it).
    """
    from rich.console import Console

    from cimhouse.cli import common

    monkeypatch.setattr(type(common.console), "_console", Console(stderr=True, width=width))
