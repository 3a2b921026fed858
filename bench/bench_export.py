"""Benchmark: export the houses of a county to GeoPackage, next to the bare reads of them.

Run: .venv/bin/python bench/bench_export.py [--houses N --buildings M]   (default 100,000)
     (the issue's 1,000,000 houses: --houses 1000000 --buildings 10000 --formats gpkg,csv,
     quiet machine only)

One throwaway cluster, data as bench_assign_codes.py (南湖区) plus a point per house.
Printed in the same run:

- lower bound: ``COPY (the export's SELECT, geometry as WKB) TO STDOUT`` read by psycopg;
- reference: ``ogr2ogr -f GPKG`` reading the same SELECT from PostgreSQL directly (GDAL,
  when installed: ``make test`` installs gdal-bin);
- measured: ``export_layer(..., layer="houses", fmt=...)`` for gpkg, geojson, csv, xlsx,
  with the file size and the peak memory of the process (streaming: flat in N).
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from bench_assign_codes import COUNTY, populate
from harness import bench_cluster, print_load
from sqlalchemy import text

from cimhouse.coding.assign_codes import assign_codes
from cimhouse.db import session_scope
from cimhouse.exports.export_layer import export_layer
from cimhouse.exports.layers import LAYERS
from cimhouse.scope import parse_scope, with_county_keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=100_000)
    parser.add_argument("--buildings", type=int, default=1_000)
    parser.add_argument("--formats", default="gpkg,geojson,csv,xlsx",
                        help="formats to measure (xlsx runs at ~1,000 rows/s: leave it out "
                             "at 1,000,000)")
    args = parser.parse_args()
    with bench_cluster() as bench:
        root, cluster = bench.root, bench.cluster
        engine = bench.database("export")
        populate(engine, args.houses, args.buildings)
        with session_scope(engine) as session:
            assign_codes(session, COUNTY, actor="bench-setup")
            session.execute(text(
                "UPDATE house SET location = ST_SetSRID(ST_MakePoint("
                "120.70 + (id % 1000) * 0.0001, 30.70 + (id / 1000 % 1000) * 0.0001), 4490), "
                "area_m2 = 60 + id % 80"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        with session_scope(engine) as session:
            scope = with_county_keys(session, parse_scope(COUNTY))
        query = LAYERS["houses"].select(scope)
        sql = str(query.compile(dialect=engine.dialect,
                                compile_kwargs={"literal_binds": True}))
        out = root / "out"
        out.mkdir()
        with psycopg.connect(cluster.conninfo("export")) as raw, raw.cursor() as cur:
            started = time.perf_counter()
            copied = 0
            with cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for _ in copy:
                    copied += 1  # blocks of rows
            bound = time.perf_counter() - started
        print(f"houses of {COUNTY}: COPY of the export's SELECT (bound): {bound:7.2f} s")
        if shutil.which("ogr2ogr"):
            run_dir = Path(cluster.url("export").split("host=")[1])
            gdal_sql = re.sub(r"ST_AsBinary\(house\.location\)( AS \"?\w+\"?)?",
                              "house.location AS geom", sql)
            started = time.perf_counter()
            subprocess.run(["ogr2ogr", "-f", "GPKG", str(out / "ogr.gpkg"),
                            f"PG:dbname=export host={run_dir} user=postgres", "-sql",
                            gdal_sql, "-nln", "houses", "-q"], check=True)
            took = time.perf_counter() - started
            print(f"ogr2ogr PG -> GPKG, same SELECT (reference):   {took:7.2f} s")
        for fmt in args.formats.split(","):
            path = out / f"houses.{fmt}"
            started = time.perf_counter()
            with session_scope(engine) as session:
                result = export_layer(session, scope=scope, layer="houses", fmt=fmt, path=path)
            took = time.perf_counter() - started
            print(f"export_layer houses -> {fmt:7s}: {took:7.2f} s {result.rows / took:9.0f} "
                  f"rows/s ({took / bound:.1f}x bound, {path.stat().st_size / 1e6:.1f} MB)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MB for {result.rows} houses")
        engine.dispose()
        print_load()


if __name__ == "__main__":
    main()
