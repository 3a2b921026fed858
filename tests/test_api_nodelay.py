"""uvicorn with several workers sends responses without waiting for the client's ACK.

Regression: ``cimhouse serve --workers 2`` answered every request in >= 40 ms, because
uvicorn binds the shared socket with ``proto`` 0 and asyncio then leaves Nagle's algorithm
on (see cimhouse/api/nodelay.py). The test binds a socket the way uvicorn does for several
workers and checks the option on the connection the server accepted (no timing).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from cimhouse.api.hardening import UVICORN_OPTIONS


def _nodelay_seen_by_server(options: dict[str, Any]) -> list[int]:
    sock = socket.socket(socket.AF_INET)  # as uvicorn's Config.bind_socket: proto 0
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def app(scope: dict[str, Any], _receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for connection in server.server_state.connections:
            raw = connection.transport.get_extra_info("socket")
            seen.append(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                           **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text == "ok"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    return seen


def test_plain_uvicorn_leaves_nagle_on_for_a_shared_socket() -> None:
    # The cause, kept visible: if uvicorn or asyncio change this, nodelay.py can go.
    assert _nodelay_seen_by_server({"http": "h11"}) == [0]


def test_serve_options_set_nodelay_on_a_shared_socket() -> None:
    seen = _nodelay_seen_by_server(UVICORN_OPTIONS)  # what `cimhouse serve` passes
    assert seen
    assert all(seen)
