"""Benchmark: a vector tile of a dense estate area through ``GET /tiles/...``, p50, next to
the bare ``ST_AsMVT`` query of the same tile. ``gaps`` twice: without the app's gap cache
(every tile computes the scope's gaps, as before round 23) and with it.

Run: .venv/bin/python bench/bench_tiles.py [--houses N --buildings M --requests R]
     (default 40,000 houses in 1,000 buildings, 50 requests per tile)

One throwaway cluster, data as bench_assign_codes.py (南湖区), the buildings laid out on a
grid 40 m apart (a z16 tile holds about 150 buildings and their houses), estates as the hull
of their buildings. cimhouse runs on a real uvicorn (one process) on 127.0.0.1; a county token
asks for the tiles over HTTP with keep-alive. Printed in the same run, per layer and zoom:

- lower bound: the bare statement ``SELECT ST_AsMVT(t, layer) FROM (SELECT ST_AsMVTGeom(
  ST_Transform(geom, 3857), <tile>) AS geom, code FROM <table> WHERE geom && <box>) t`` on
  one psycopg connection (no scope, no properties beyond the code, no HTTP, no token);
- measured: the endpoint (token check, scope filter in SQL, properties, HTTP).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time

import psycopg
import uvicorn
from bench_assign_codes import COUNTY, populate
from harness import bench_cluster, print_load
from sqlalchemy import text

from cimhouse.api.app import create_app
from cimhouse.api.hardening import UVICORN_OPTIONS
from cimhouse.auth.tokens import create_token
from cimhouse.db import session_scope
from cimhouse.exports.vector_tiles import WEB_MERCATOR, tile_bounds, tile_of

LON0, LAT0, STEP = 120.70, 30.70, 0.0004  # the grid: 100 buildings a row, 40 m apart
CASES = (("buildings", 16), ("houses", 16), ("estates", 14), ("gaps", 14))
BARE = {"buildings": ("building", "footprint"), "estates": ("estate", "boundary")}
# gaps are computed (find_gaps for the token's scope): measured without the app's gap cache
# (each tile computes them, as before round 23) and with it (once per data version)
UNCACHED = "gaps (no cache)"


def lay_out(engine: object) -> None:
    with session_scope(engine) as session:  # type: ignore[arg-type]
        session.execute(text(f"""
            UPDATE building SET footprint = ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint(
                {LON0} + (id % 100) * {STEP}, {LAT0} + (id / 100) * {STEP}), 4490), 0.00012))
            """))
        session.execute(text("""
            UPDATE estate e SET boundary = ST_Multi(h.hull) FROM (
                SELECT county, estate_id, ST_Buffer(ST_ConvexHull(ST_Collect(footprint)),
                                                    0.0001) AS hull
                FROM building GROUP BY county, estate_id) h
            WHERE h.county = e.county AND h.estate_id = e.id"""))


def bare_sql(layer: str, z: int, x: int, y: int) -> str:
    env = "ST_MakeEnvelope({}, {}, {}, {}, {})".format(*tile_bounds(z, x, y), WEB_MERCATOR)
    box = "ST_Transform(ST_MakeEnvelope({}, {}, {}, {}, {}), 4490)".format(
        *tile_bounds(z, x, y, margin=64 / 4096), WEB_MERCATOR)
    if layer == "houses":  # at the building's point, as the endpoint draws them
        source = ("(SELECT h.code, ST_PointOnSurface(b.footprint) AS g FROM house h "
                  "JOIN building b ON b.county = h.county AND b.id = h.building_id "
                  f"WHERE b.footprint && {box}) s")
    elif layer == "gaps":  # the estates' points, as many as the tile's gaps' points
        source = (f"(SELECT code, ST_PointOnSurface(boundary) AS g FROM estate "
                  f"WHERE boundary && {box}) s")
    else:
        table, column = BARE[layer]
        source = f"(SELECT code, {column} AS g FROM {table} WHERE {column} && {box}) s"
    return (f"SELECT ST_AsMVT(t, '{layer}') FROM (SELECT ST_AsMVTGeom(ST_Transform(g, "
            f"{WEB_MERCATOR}), {env}) AS geom, code FROM {source}) t WHERE geom IS NOT NULL")


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=40_000)
    parser.add_argument("--buildings", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    with bench_cluster() as bench:
        engine = bench.database("tiles")
        populate(engine, args.houses, args.buildings)
        lay_out(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        with session_scope(engine) as session:
            token = create_token(session, name="bench-tiles", scope=COUNTY, roles=["reader"],
                                 actor="bench").token
        app = create_app(bench.settings, engine=engine)
        server = uvicorn.Server(uvicorn.Config(app,
                                               host="127.0.0.1", port=args.port,
                                               log_level="warning", **UVICORN_OPTIONS))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        centre = (LON0 + 50 * STEP, LAT0 + (args.buildings // 200) * STEP)
        print(f"{args.houses:,} houses in {args.buildings:,} buildings; tile at "
              f"{centre[0]:.4f},{centre[1]:.4f}; {args.requests} requests each; p50 ms")
        print(f"{'layer':>15} {'z':>3} {'features':>8} {'bytes':>8} {'bare SQL (bound)':>17} "
              f"{'GET /tiles':>11} {'x bound':>8}")
        headers = {"Authorization": f"Bearer {token}"}
        with psycopg.connect(bench.cluster.conninfo("tiles")) as raw:
            cache = app.state.gap_cache
            for case, z in (*CASES[:3], (UNCACHED, 14), CASES[3]):
                layer = "gaps" if case == UNCACHED else case
                cache.size = 0 if case == UNCACHED else 64
                x, y = tile_of(*centre, z)
                sql = bare_sql(layer, z, x, y)
                bound: list[float] = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    bare = raw.execute(sql).fetchone()
                    bound.append(time.perf_counter() - started)
                measured: list[float] = []
                body = b""
                # a new connection per case: the bound's loop outlasts uvicorn's keep-alive
                client = http.client.HTTPConnection("127.0.0.1", args.port)
                for _ in range(args.requests):
                    started = time.perf_counter()
                    client.request("GET", f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)
                    reply = client.getresponse()
                    body = reply.read()
                    measured.append(time.perf_counter() - started)
                    assert reply.status == 200, (reply.status, body[:200])
                import mapbox_vector_tile

                client.close()
                features = len(mapbox_vector_tile.decode(body)[layer]["features"])
                assert bare is not None
                ratio = p50_ms(measured) / max(p50_ms(bound), 1e-6)
                print(f"{case:>15} {z:>3} {features:>8} {len(body):>8} "
                      f"{p50_ms(bound):>17.2f} {p50_ms(measured):>11.2f} {ratio:>7.1f}x")
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        print_load()


if __name__ == "__main__":
    main()
