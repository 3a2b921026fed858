"""``POST /safety/readings``: the gateways' way in (issue 19).

Authenticated like ``/graphql`` (``Authorization: Bearer <token>``); the token needs the
``importer`` role and its scope bounds the devices it may report for (others count as
unknown). The body is ``{"readings": [{"device": uid, "metric": m, "ts": iso|epoch,
"value": x}, ...]}`` or the compact columnar ``{"columns": {"device": [...], "metric":
[...], "ts": [...], "value": [...]}}`` (:mod:`cimhouse.safety.check_readings`; at most
1 MiB, the app's cap); the answer counts every reading (see
:class:`cimhouse.safety.ingest_readings.IngestResult`). A body that is neither (no JSON,
columns of different lengths) is refused (422, invalid input) and stores nothing; bad
readings inside a good body are counted and skipped while the good ones are stored. The
body is decoded (orjson) in the worker thread with the write, not on the event loop, so
other gateways' requests are read meanwhile.

Example::

    curl -H "Authorization: Bearer $TOKEN" -d '{"readings": [{"device": "GAS-1",
         "metric": "gas_lel", "ts": "2026-12-02T08:00:00+08:00", "value": 3}]}' \\
         http://127.0.0.1:8000/safety/readings
    # {"received": 1, "stored": 1, "malformed": 0, "unknown_device": 0, ...}
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cimhouse.auth.tokens import authenticate, bearer_token
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.safety.check_readings import gateway_body
from cimhouse.safety.ingest_log import record_batch
from cimhouse.safety.ingest_readings import DeviceCache, ingest_readings
from cimhouse.schema.vocab import Role
from cimhouse.scope import with_county_keys


def _ingest(db: Engine, token: str, payload: bytes, caches: dict[str, DeviceCache]
            ) -> dict[str, Any]:
    body = gateway_body(payload)
    if body == "not_json":
        raise InvalidInput(_("the body is not JSON"))
    if body == "bad_columns":
        raise InvalidInput(_("columns must be device, metric, ts and value lists of one "
                             "length"))
    if isinstance(body, str):
        raise InvalidInput(_('the body must be {"readings": [...]} or {"columns": {...}}'))
    readings, columns = body
    # the token in a transaction of its own: authenticate may write last_used_at, and that
    # row lock, held through the ingestion, made a gateway's concurrent requests wait for
    # each other (and fail at the statement timeout under load)
    with Session(db) as session, session.begin():
        principal = authenticate(session, token)
        principal.require(Role.IMPORTER)
    with Session(db) as session, session.begin():
        scope = with_county_keys(session, principal.scope)
        # a cache per scope (the devices a token may report for): gateways post every few
        # seconds, and looking their devices up again each time cost as much as the write
        key = f"{scope.level}:{scope.code}" if scope else "*"
        if key not in caches:
            if len(caches) >= MAX_CACHED_SCOPES:
                caches.pop(next(iter(caches)))
            caches[key] = DeviceCache(scope)
        result = ingest_readings(session, readings, scope=scope, devices=caches[key],
                                 columns=columns)
        # refused readings that name no known device count in the gateway's county (when
        # its scope lies in one), so that county's statistics show them
        home = scope.county_keys[0] if scope and len(scope.county_keys) == 1 else ""
        record_batch(session, "http", result, home=home)
        return result.summary()


MAX_CACHED_SCOPES = 64


def install_readings(app: FastAPI, db: Engine) -> None:
    """Add the endpoint to ``app`` (called by :func:`cimhouse.api.app.create_app`)."""
    caches: dict[str, DeviceCache] = {}

    @app.post("/safety/readings")
    async def post_readings(request: Request) -> JSONResponse:
        token = bearer_token(request.headers.get("authorization"))
        payload = await request.body()
        summary = await anyio.to_thread.run_sync(_ingest, db, token, payload, caches)
        return JSONResponse(summary)
