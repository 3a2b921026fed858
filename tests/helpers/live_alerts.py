"""A real uvicorn server and graphql-transport-ws clients for the alert subscription tests
(and the latency bench). No tests of its own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from sqlalchemy import Engine, text
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from cimhouse.api.app import create_app
from cimhouse.graphql.safety_live import subscriber_count
from cimhouse.safety.escalate import ALERT_CHANNEL
from cimhouse.settings import Settings
from tests.helpers.ports import free_port

CHANGES = ("subscription($kind: AlertKind) { safetyAlertChanges(kind: $kind) { id kind state "
           "severity houseCode personName escalationLevel } }")


@contextmanager
def live_server(settings: Settings, engine: Engine) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the app on ``engine``, served by uvicorn in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def subscribe(base: str, token: str, *, via_header: bool = False,
              variables: dict[str, Any] | None = None) -> ClientConnection:
    """A WebSocket with one running subscription (id ``s``) to alert changes."""
    headers = {"Authorization": f"Bearer {token}"} if via_header else None
    ws = connect(base.replace("http", "ws", 1) + "/graphql",
                 subprotocols=[Subprotocol("graphql-transport-ws")],
                 additional_headers=headers, open_timeout=10, legacy=True)
    payload = {} if via_header else {"Authorization": f"Bearer {token}"}
    ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(ws.recv(timeout=10))
    assert ack["type"] == "connection_ack", ack
    ws.send(json.dumps({"id": "s", "type": "subscribe",
                        "payload": {"query": CHANGES, "variables": variables or {}}}))
    return ws


def wait_subscribers(count: int, timeout: float = 10.0) -> None:
    """Until ``count`` subscriptions of this process are listening."""
    deadline = time.monotonic() + timeout
    while subscriber_count() < count:
        assert time.monotonic() < deadline, f"{subscriber_count()} of {count} subscribed"
        time.sleep(0.01)


def next_alert(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=timeout))
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return dict(message["payload"]["data"]["safetyAlertChanges"])


def notify(engine: Engine, keys: list[tuple[str, int]]) -> None:
    """Announce alerts as changed, the way every writer does (one transaction)."""
    with engine.begin() as conn:
        for county, alert_id in keys:
            conn.execute(text("SELECT pg_notify(:c, :p)"),
                         {"c": ALERT_CHANNEL, "p": f"{county}:{alert_id}"})
