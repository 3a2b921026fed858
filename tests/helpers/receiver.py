"""A real HTTP receiver on 127.0.0.1 for delivery tests: records every POST, fails on demand.

Example::

    with Receiver(fail_first=2) as rx:      # answers 503 twice, then 204
        url = rx.url("/hook")
        ...
    rx.requests[0].headers["X-Cimhouse-Signature"]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    fail_first: int = 0
    fail_status: int = 503
    always_fail: bool = False
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    failing = receiver.always_fail or len(receiver.requests) < receiver.fail_first
                    status = receiver.fail_status if failing else 204
                    receiver.requests.append(Received(self.path, dict(self.headers.items()),
                                                      body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:  # quiet test output
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/hook") -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    @property
    def delivered(self) -> list[Received]:
        """The requests that were answered 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]
