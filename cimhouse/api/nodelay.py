"""uvicorn's HTTP protocol with ``TCP_NODELAY`` on every connection, whatever the workers.

With ``--workers`` > 1 uvicorn binds the listening socket itself as ``socket(AF_INET)``, so
its ``proto`` is 0 and asyncio's transports skip ``TCP_NODELAY`` (they set it only when
``proto == IPPROTO_TCP``). A response goes out in two writes (headers, then body), so Nagle's
algorithm held the body until the client acknowledged the headers, and clients delay that
acknowledgement by up to 40 ms: every response of a multi-worker server took >= 40 ms (a
``/healthz`` 45-60 ms with two workers against 11-16 ms with one, measured with
bench/bench_graphql.py's client). Single-worker servers were not affected.

``cimhouse.api.hardening.UVICORN_OPTIONS`` (what ``cimhouse serve`` passes) selects it.

Example::

    uvicorn.run("cimhouse.api.app:app_from_env", factory=True, workers=2,
                http="cimhouse.api.nodelay:NoDelayH11Protocol")
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

#: the value for uvicorn's ``http`` setting (``--http`` on its command line)
HTTP_PROTOCOL = "cimhouse.api.nodelay:NoDelayH11Protocol"


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once on a TCP connection (no-op for other transports)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with ``TCP_NODELAY`` set as each connection is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]
