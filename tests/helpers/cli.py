"""The ``cimhouse`` CLI run as a subprocess (a real process: it can be killed mid-run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.keys import TEST_KEY


def cli_env(url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CIMHOUSE_DATABASE_URL=url, CIMHOUSE_SECRET_KEY=TEST_KEY,
               CIMHOUSE_VAR_DIR=str(var_dir))
    return env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cimhouse.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
