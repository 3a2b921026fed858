"""HTTP hardening of the API: a body size cap and the security headers of every response.

:class:`RequestHardening` is an ASGI middleware (``app.add_middleware(RequestHardening)``):

- a request body larger than :data:`MAX_BODY_BYTES` (by ``Content-Length``, or counted while
  it streams in) is answered ``413`` with ``extensions.code`` ``PAYLOAD_TOO_LARGE`` before the
  GraphQL layer reads any of it;
- every response carries ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``
  (any GraphQL answer may carry personal data, so none may be kept by a browser or a proxy),
  unless it set its own ``Cache-Control`` (a vector tile: ``private, max-age=60``).

The server itself must not announce itself: run uvicorn with :data:`UVICORN_OPTIONS`
(``cimhouse serve`` does), which drops uvicorn's ``server: uvicorn`` header.

Example::

    app.add_middleware(RequestHardening)
    uvicorn.run(app, host="127.0.0.1", port=8000, **UVICORN_OPTIONS)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cimhouse.api.nodelay import HTTP_PROTOCOL
from cimhouse.errors import PayloadTooLarge, error_code
from cimhouse.graphql.protection import both_languages
from cimhouse.i18n import _

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: largest request body accepted (a GraphQL document, its variables and a polygon filter)
MAX_BODY_BYTES = 1024 * 1024
#: keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``: no ``server`` header, and
#: TCP_NODELAY on every connection (cimhouse/api/nodelay.py: with several workers, each
#: response otherwise waited ~40 ms for the client's delayed ACK)
UVICORN_OPTIONS: dict[str, Any] = {"server_header": False, "http": HTTP_PROTOCOL}
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"))


async def _too_large(send: Send) -> None:
    error = PayloadTooLarge(_("the request body exceeds {max_body_bytes:,} bytes",
                              max_body_bytes=MAX_BODY_BYTES))
    status, code = error_code(error)
    body = json.dumps({"errors": [{"message": error.message, "extensions": {
        "code": code, **both_languages(error.message)}}]}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


class RequestHardening:
    """Cap the request body, add the security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit()
                                     or int(declared) > self.max_body_bytes):
            await _too_large(send)
            return
        # Read the body here (at most the cap) so that an undeclared, streamed body cannot
        # grow past it either; the application then receives it in one piece.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # http.disconnect: let the application see it
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                await _too_large(send)
                return
            if not message.get("more_body", False):
                message = {"type": "http.request", "body": b"".join(chunks),
                           "more_body": False}
                break
        first: Message | None = message

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                pending, first = first, None
                return pending
            return await receive()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                # a response that chose its caching (a private vector tile) keeps it
                given = {k.lower() for k, _ in headers} & {b"cache-control"}
                added = [(k, v) for k, v in SECURITY_HEADERS if k not in given]
                names = {k for k, _ in added}
                headers = [(k, v) for k, v in headers if k.lower() not in names]
                message = {**message, "headers": [*headers, *added]}
            await send(message)

        await self.app(scope, replay, send_with_headers)
