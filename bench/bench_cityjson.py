"""Benchmark: CityJSON (LoD1) export of a county's buildings, next to the bare read of them.

Run: .venv/bin/python bench/bench_cityjson.py [--houses N --buildings M]  (default 100,000 / 2,000)

One throwaway cluster, data as bench_assign_codes.py (南湖区) with a footprint per building
(a 20 m x 12 m block, every fifth an L of two rectangles, every seventh with a courtyard),
storeys on all and an IFC height on every third. Printed in the same run:

- lower bound: ``COPY (the export's SELECT: the buildings layer, footprint as WKB, the house
  codes aggregated per building) TO STDOUT`` read by psycopg;
- measured: ``export_cityjson`` for the whole county (read, transform to EPSG:4549, extrude,
  write), with the file size and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import time

import psycopg
from bench_assign_codes import COUNTY, populate
from harness import bench_cluster, print_load
from sqlalchemy import text

from cimhouse.db import session_scope
from cimhouse.exports.export_cityjson import cityjson_select, export_cityjson
from cimhouse.scope import parse_scope, with_county_keys

FOOTPRINTS = """
    UPDATE building SET floors_above = 3 + id % 15,
        height_m = CASE WHEN id % 3 = 0 THEN 3.1 * (3 + id % 15) END,
        footprint = ST_Multi(CASE
            WHEN id % 7 = 0 THEN ST_Difference(ST_MakeEnvelope(0, 0, 0.0004, 0.0003),
                                               ST_MakeEnvelope(0.0001, 0.0001, 0.0002, 0.0002))
            WHEN id % 5 = 0 THEN ST_Union(ST_MakeEnvelope(0, 0, 0.0002, 0.0001),
                                          ST_MakeEnvelope(0, 0, 0.0001, 0.0003))
            ELSE ST_MakeEnvelope(0, 0, 0.0002, 0.0001) END)
    """


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=100_000)
    parser.add_argument("--buildings", type=int, default=2_000)
    args = parser.parse_args()
    with bench_cluster() as bench:
        engine = bench.database("cityjson")
        populate(engine, args.houses, args.buildings)
        with session_scope(engine) as session:
            session.execute(text(FOOTPRINTS))
            session.execute(text(  # a grid of blocks 50 m apart around 120.75 E, 30.75 N
                "UPDATE building SET footprint = ST_SetSRID(ST_Translate(footprint, "
                "120.70 + (id % 200) * 0.0005, 30.70 + (id / 200) * 0.0005), 4490)"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        with session_scope(engine) as session:
            scope = with_county_keys(session, parse_scope(COUNTY))
        sql = str(cityjson_select(scope).compile(dialect=engine.dialect,
                                         compile_kwargs={"literal_binds": True}))
        with psycopg.connect(bench.cluster.conninfo("cityjson")) as raw, raw.cursor() as cur:
            started = time.perf_counter()
            with cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for _block in copy:
                    pass
            bound = time.perf_counter() - started
        print(f"buildings of {COUNTY}: COPY of the export's SELECT (bound): {bound:7.2f} s")
        path = bench.root / "county.city.json"
        started = time.perf_counter()
        with session_scope(engine) as session:
            result = export_cityjson(session, scope=scope, path=path, metric_srid=4549)
        took = time.perf_counter() - started
        print(f"export_cityjson: {result.buildings} buildings ({result.solids} solids, "
              f"{result.vertices} vertices, {args.houses} house codes) in {took:7.2f} s, "
              f"{result.buildings / took:7.0f} buildings/s ({took / bound:.1f}x bound, "
              f"{path.stat().st_size / 1e6:.1f} MB)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MB")
        engine.dispose()
        print_load()


if __name__ == "__main__":
    main()
