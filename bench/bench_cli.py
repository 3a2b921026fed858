"""Benchmark: how long the ``cimhouse`` CLI takes to answer, per command group.

Run: .venv/bin/python bench/bench_cli.py [--runs N]   (or `make bench`)

Each figure is the median wall time of N fresh processes (``python -m cimhouse.cli.main
<args>``, the console script's code path) next to the lower bound measured in the same run:
``python -c pass``, the interpreter starting and stopping. Targets (issue 18): ``--help`` and
``codes validate`` within 0.3 s on an idle machine. The other groups are measured with
``--help``: what their import costs before they can do anything.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

VALID = "330402007024-001-0003-00101-8"
CASES: list[tuple[str, list[str]]] = [
    ("cimhouse --help", ["--help"]),
    ("cimhouse --lang zh --help", ["--lang", "zh", "--help"]),
    ("codes validate X", ["codes", "validate", VALID]),
    ("codes --help", ["codes", "--help"]),
    ("jobs --help", ["jobs", "--help"]),
    ("db --help", ["db", "--help"]),
    ("demo --help", ["demo", "--help"]),
    ("find --help", ["find", "--help"]),
    ("import --help", ["import", "--help"]),
    ("regions --help", ["regions", "--help"]),
    ("report --help", ["report", "--help"]),
    ("serve --help", ["serve", "--help"]),
    ("tokens --help", ["tokens", "--help"]),
    ("worker --help", ["worker", "--help"]),
]


def wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system) of ``runs`` processes; the
    CPU figure barely moves when other work shares the machine, the wall figure does."""
    env = {**os.environ, "COLUMNS": "100"}
    times, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       check=False)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    bound, bound_cpu = wall([sys.executable, "-c", "pass"], runs)
    print(f"{'command':<28} {'wall s':>7} {'x bound':>8} {'cpu s':>7} {'x bound':>8}"
          f"   (medians of {runs} processes)")
    print(f"{'python -c pass (bound)':<28} {bound:>7.3f} {1.0:>8.1f} {bound_cpu:>7.3f} "
          f"{1.0:>8.1f}")
    for label, args in CASES:
        seconds, cpu = wall([sys.executable, "-m", "cimhouse.cli.main", *args], runs)
        target = "  target <= 0.300" if label in ("cimhouse --help", "codes validate X") else ""
        print(f"{label:<28} {seconds:>7.3f} {seconds / bound:>8.1f} {cpu:>7.3f} "
              f"{cpu / max(bound_cpu, 1e-3):>8.1f}{target}")


if __name__ == "__main__":
    main()
