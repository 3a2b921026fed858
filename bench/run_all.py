"""Run every benchmark under bench/ (files named bench_*.py), one after another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = 0
for script in sorted(here.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    failed |= subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode
sys.exit(1 if failed else 0)
