"""Benchmark: IFC import of each sample, next to ifcopenshell's own geometry iteration.

Run: .venv/bin/python bench/bench_ifc.py [--repeat N]   (or `make bench`)

For each model in tests/data/ifc (and a generated 30-storey zoned block, to see how the
import scales), in one run on one throwaway cluster:

- lower bound: ``ifcopenshell.open`` + ``ifcopenshell.geom.iterator`` over the same elements
  with the same settings and thread count as the import's footprint step (no projection, no
  database);
- measured: ``import_ifc`` committed through ``session_scope`` (file checks, spatial walk,
  georeferencing, forked geometry step with footprints, upsert, import run), first import and
  re-import of the same file.

Best of ``--repeat`` runs (default 5) for each, because the machine is shared; "paired" is
the median over the runs of (import / the bound measured just before it), which a change of
load between runs does not skew. Targets: the
first import <= 1.5x the bound, AC20-FZK-Haus <= 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.geom
from harness import bench_cluster

from cimhouse.db import session_scope
from cimhouse.importers.ifc.footprints import (
    default_threads,
    geometry_elements,
    geometry_settings,
)
from cimhouse.importers.ifc.import_ifc import import_ifc
from cimhouse.importers.ifc.structure import read_structure
from cimhouse.importers.load_regions import load_regions

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "ifc"
COMMUNITY = "330402007024"


def iterate_bound(path: Path) -> tuple[float, int]:
    """Open the model and iterate the import's element set with the import's settings and
    thread count (no projection, no database, no child process)."""
    started = time.perf_counter()
    model: Any = ifcopenshell.open(str(path))
    include = [model.by_id(i) for i in geometry_elements(model, read_structure(model))]
    count = 0
    if include:
        geom: Any = ifcopenshell.geom
        iterator = geom.iterator(geometry_settings(), model, default_threads(len(include)),
                                 include=include)
        if iterator.initialize():
            while True:
                shape = iterator.get()
                _ = shape.geometry.verts, shape.geometry.faces
                count += 1
                if not iterator.next():
                    break
    return time.perf_counter() - started, count


def generated_block(root: Path, storeys: int) -> Path:
    """The tests' georeferenced residential block (2 zoned flats, 4 walls per storey)."""
    sys.path.insert(0, str(SAMPLES.parent.parent.parent))  # the repository root: tests.helpers
    from tests.helpers.ifc_model import build_block

    path: Path = build_block(root / f"generated-block-{storeys}-storeys.ifc", storeys=storeys)
    return path


def timed_import(engine: Any, path: Path) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    with session_scope(engine) as session:
        result = import_ifc(session, path, community=COMMUNITY, estate_name=path.stem,
                            actor="bench")
    return time.perf_counter() - started, result.counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--generated-storeys", type=int, default=30,
                        help="also a generated zoned block of this many storeys (0: none)")
    args = parser.parse_args()
    with bench_cluster() as bench:
        root = bench.root
        engine = bench.database("bench")
        with session_scope(engine) as session:
            load_regions(session, actor="bench")
        print(f"best of {args.repeat}; kernel threads as the import chooses them")
        print(f"{'model':40} {'bound':>8} {'import':>8} {'ratio':>6} {'re-import':>10} "
              f"{'ratio':>6} {'paired':>7}  elements")
        models = sorted(SAMPLES.glob("*.ifc"))
        if args.generated_storeys:
            models.append(generated_block(root, args.generated_storeys))
        for path in models:
            bounds, firsts, agains = [], [], []
            elements = 0
            for _ in range(args.repeat):
                bound, elements = iterate_bound(path)
                bounds.append(bound)
                with engine.begin() as connection:  # a first import needs an empty model
                    for table in ("space", "storey", "house", "building"):
                        connection.exec_driver_sql(f"DELETE FROM {table}")
                firsts.append(timed_import(engine, path)[0])
                agains.append(timed_import(engine, path)[0])
            bound, first, again = min(bounds), min(firsts), min(agains)
            # each import next to the bound measured just before it: robust to load drift
            paired = statistics.median(f / b for f, b in zip(firsts, bounds, strict=True))
            print(f"{path.name:40} {bound:7.3f}s {first:7.3f}s {first / bound:5.2f}x "
                  f"{again:9.3f}s {again / bound:5.2f}x {paired:6.2f}x  {elements}",
                  flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
