"""The HTTP+SQL floor of bench_graphql.py: cimhouse's app plus ``GET /floor/<case>?arg=...``.

Run by the benchmark as ``uvicorn graphql_floor:app_from_env --factory --app-dir bench``, so
that the floor and cimhouse share one uvicorn (same workers, same event loop, same host).
A floor request runs one hand-written statement that builds the response's ``data`` as JSON
text in PostgreSQL (same shape and order as cimhouse's answer, scope predicate included)
and sends it on: no authentication, no GraphQL, no Python objects per field. Everything
else goes to cimhouse's app unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from psycopg_pool import AsyncConnectionPool

from cimhouse.api.app import app_from_env as cimhouse_app

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: the benchmark token's scope, county 330402, as the index-friendly range cimhouse uses
IN_SCOPE = "{t}.region_code >= '330402000000' AND {t}.region_code < '330403000000'"

CURRENT = ("ph.relation IN ('resident', 'registered') AND (ph.valid_from IS NULL OR "
           "ph.valid_from <= current_date) AND (ph.valid_to IS NULL OR ph.valid_to > current_date)")

NESTED = f"""
SELECT json_build_object('estates', json_build_object('edges', coalesce((
  SELECT json_agg(json_build_object('node', json_build_object('code', e.code, 'buildings',
    coalesce((
      SELECT json_agg(json_build_object('code', b.code, 'houses', coalesce((
        SELECT json_agg(json_build_object('code', h.code, 'roomLabel', h.room_label,
          'residents', coalesce((
            SELECT json_agg(json_build_object('relation', ph.relation, 'person',
                   json_build_object('name', p.name, 'idNumber', p.id_masked)) ORDER BY ph.id)
            FROM person_house ph JOIN person p ON p.id = ph.person_id
            WHERE ph.county = h.county AND ph.house_id = h.id AND {CURRENT}), '[]'))
          ORDER BY h.county, h.id)
        FROM (SELECT county, id, code, room_label FROM house h
              WHERE h.county = b.county AND h.building_id = b.id AND {IN_SCOPE.format(t="h")}
              ORDER BY h.county, h.id LIMIT 10) h), '[]')) ORDER BY b.county, b.id)
      FROM (SELECT county, id, code FROM building b
            WHERE b.county = e.county AND b.estate_id = e.id AND {IN_SCOPE.format(t="b")}
            ORDER BY b.county, b.id LIMIT 5) b), '[]'))) ORDER BY e.county, e.id)
  FROM (SELECT county, id, code FROM estate e WHERE e.code = %s AND {IN_SCOPE.format(t="e")}
        ORDER BY e.county, e.id LIMIT 1) e), '[]')))::text
"""

LOOKUP = f"""
SELECT json_build_object('lookup', (
  SELECT json_build_object('code', r.code, 'status', r.status, 'decoding', json_build_object(
           'objectKind', r.object_kind, 'county', left(r.code, 6), 'community', left(r.code, 12),
           'estateNumber', substr(r.code, 13, 3), 'buildingNumber', substr(r.code, 16, 4),
           'houseNumber', substr(r.code, 20, 5)),
         'house', json_build_object('code', h.code, 'roomLabel', h.room_label,
                                    'status', h.status))
  FROM code_registry r JOIN house h ON h.county = r.county AND h.id = r.object_id
  WHERE r.code = %s AND r.object_kind = 'house' AND {IN_SCOPE.format(t="h")}))::text
"""

COMMUNITY = f"""
SELECT json_build_object('houses', json_build_object(
  'totalCount', (SELECT count(*) FROM house h WHERE h.region_code = %(r)s
                 AND {IN_SCOPE.format(t="h")}),
  'edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
             'code', h.code, 'roomLabel', h.room_label, 'status', h.status))
           ORDER BY h.county, h.id)
    FROM (SELECT county, id, code, room_label, status FROM house h
          WHERE h.region_code = %(r)s AND {IN_SCOPE.format(t="h")}
          ORDER BY h.county, h.id LIMIT 50) h), '[]')))::text
"""

SQL = {"nested": NESTED, "lookup": LOOKUP, "community": COMMUNITY}


def floor_sql(case: str, arg: str) -> tuple[str, Any]:
    """The statement and parameters of ``case`` (also used by the SQL-only bound)."""
    return SQL[case], ({"r": arg} if case == "community" else (arg,))


def app_from_env() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """cimhouse's app with the floor in front of it (factory for ``uvicorn --factory``)."""
    inner = cimhouse_app()
    conninfo = os.environ["CIMHOUSE_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    # The same session setting as cimhouse's engine (cimhouse.db.engine), so that both keep
    # custom plans for prepared statements.
    pool = AsyncConnectionPool(conninfo, min_size=1, max_size=4, open=False,
                               kwargs={"autocommit": True,
                                       "options": "-c plan_cache_mode=force_custom_plan"})

    async def lifespan_receive(receive: Receive) -> MutableMapping[str, Any]:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await pool.open()
        elif message["type"] == "lifespan.shutdown":
            await pool.close()
        return message

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan":
            await inner(scope, lambda: lifespan_receive(receive), send)
            return
        if scope["type"] != "http" or not path.startswith("/floor/"):
            await inner(scope, receive, send)
            return
        case = path.removeprefix("/floor/")
        arg = parse_qs(scope["query_string"].decode())["arg"][0]
        sql, params = floor_sql(case, arg)
        async with pool.connection() as conn:
            cursor = await conn.execute(sql, params, prepare=True)
            row = await cursor.fetchone()
        body = b'{"data":' + (row[0] if row else "null").encode() + b"}"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app
