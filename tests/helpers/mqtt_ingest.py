"""An MQTT ingester on a thread, as ``cimhouse safety ingest`` runs it, for the tests on the
real broker (no tests of its own)."""

from __future__ import annotations

import threading
import time

from cimhouse.safety.mqtt_ingest import MqttIngester


class Running:
    """An ingester on a thread (as ``cimhouse safety ingest`` runs it)."""

    def __init__(self, ingester: MqttIngester) -> None:
        self.ingester, self.stop = ingester, threading.Event()
        self.thread = threading.Thread(target=ingester.run, args=(self.stop,), daemon=True)
        self.thread.start()
        assert ingester.subscribed.wait(15), "the ingester did not subscribe"

    def received(self) -> int:
        return int(self.ingester.stats.counts["received"])

    def wait_for(self, received: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.received() < received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.received() >= received, (self.received(), received)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()
