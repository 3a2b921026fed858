"""Third-party browser assets: pinned, fetched from the npm registry, checked, served locally.

``python -m cimhouse.web.assets fetch`` (run by ``make install``) packs each pinned package
with ``npm pack`` (npm checks the tarball against the registry's integrity), takes the files
listed here out of it, and refuses any whose SHA-384 differs from the pinned one; the same
hash goes into the pages' ``integrity`` attributes, so the browser checks them again.

Example::

    >>> asset_url("graphiql", "graphiql.min.js")
    '/vendor/graphiql/3.8.3/graphiql.min.js'
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    path: str  # inside the npm package
    integrity: str  # sha384-<base64>, as in an HTML integrity attribute

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def local_path(self) -> Path:
        return VENDOR_DIR / self.package / self.version / self.name

    @property
    def url(self) -> str:
        return f"/vendor/{self.package}/{self.version}/{self.name}"


# GraphiQL: the files and hashes strawberry's own page names (strawberry/static/graphiql.html)
ASSETS: tuple[Asset, ...] = (
    Asset("react", "18.2.0", "umd/react.production.min.js",
          "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"),
    Asset("react-dom", "18.2.0", "umd/react-dom.production.min.js",
          "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"),
    Asset("js-cookie", "3.0.5", "dist/js.cookie.min.js",
          "sha384-/vxhYfM1LENRhdpZ8dwEsQn/X4VhpbEZSiU4m/FwR+PVpzar4fkEOw8FP9Y+OfQN"),
    Asset("graphiql", "3.8.3", "graphiql.min.css",
          "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
    Asset("graphiql", "3.8.3", "graphiql.min.js",
          "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
    Asset("@graphiql/plugin-explorer", "1.0.2", "dist/style.css",
          "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"),
    Asset("@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js",
          "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"),
    Asset("maplibre-gl", "5.6.0", "dist/maplibre-gl.js",
          "sha384-GfxBM9x46BaAFxtCq39Fxir8fNZ4VDnwgfi6Kzi5/F1tAFsm0amuuV8kd+Pxzuf/"),
    Asset("maplibre-gl", "5.6.0", "dist/maplibre-gl.css",
          "sha384-Nq6PQ+9vJPvw7U/VfDELyrWoGQMsy0gi6QShhaSrGzkpF5KkM40csg2leky+YMTd"),
)
BY_URL = {asset.url: asset for asset in ASSETS}


def asset(package: str, name: str) -> Asset:
    return next(a for a in ASSETS if a.package == package and a.name == name)


def asset_url(package: str, name: str) -> str:
    return asset(package, name).url


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def missing() -> list[Asset]:
    """Assets not installed, or installed with other content than pinned."""
    return [a for a in ASSETS
            if not a.local_path.exists() or integrity(a.local_path.read_bytes()) != a.integrity]


def fetch() -> list[Path]:
    """Install every missing asset from the npm registry (``npm pack``); return what was
    written. Raises RuntimeError when a file's hash is not the pinned one."""
    todo = missing()
    written: list[Path] = []
    packages = sorted({(a.package, a.version) for a in todo})
    with tempfile.TemporaryDirectory(prefix="cimhouse-npm-") as tmp:
        for package, version in packages:
            done = subprocess.run(["npm", "pack", f"{package}@{version}", "--silent",
                                   "--pack-destination", tmp], capture_output=True, text=True,
                                  check=True)
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as tar:
                for item in (a for a in todo if (a.package, a.version) == (package, version)):
                    member = tar.extractfile(f"package/{item.path}")
                    if member is None:
                        raise RuntimeError(f"{package}@{version} has no {item.path}")
                    data = member.read()
                    if integrity(data) != item.integrity:
                        raise RuntimeError(f"{package}@{version}/{item.path}: hash "
                                           f"{integrity(data)} is not the pinned "
                                           f"{item.integrity}")
                    item.local_path.parent.mkdir(parents=True, exist_ok=True)
                    item.local_path.write_bytes(data)
                    written.append(item.local_path)
    return written


def main(argv: list[str]) -> int:
    if argv[:1] == ["fetch"]:
        for path in fetch():
            sys.stdout.write(f"installed {path.relative_to(VENDOR_DIR)}" + "\n")
        return 0
    if argv[:1] == ["check"]:
        absent = missing()
        for item in absent:
            sys.stdout.write(f"missing: {item.package}@{item.version}/{item.path}" + "\n")
        return 1 if absent else 0
    sys.stderr.write("usage: python -m cimhouse.web.assets fetch|check" + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
