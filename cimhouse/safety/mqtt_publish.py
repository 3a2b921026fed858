"""Publish readings to the broker (the simulator, the benchmark and the tests use it).

Example::

    with Publisher(broker_address(settings)) as publisher:
        publisher.publish(device_topic("330402", "GAS-0001"),
                          {"metric": "gas_lel", "ts": "2026-12-02T08:00:00+08:00", "value": 3})
    # leaving the block waits until the broker acknowledged every message (QoS 1)
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cimhouse.errors import DatabaseUnavailable
from cimhouse.i18n import _
from cimhouse.safety.broker import BrokerAddress
from cimhouse.safety.mqtt_ingest import new_client_id


class Publisher:
    """A QoS 1 publisher; :meth:`close` (or leaving the ``with``) waits for every PUBACK."""

    def __init__(self, address: BrokerAddress, *, timeout: float = 10.0,
                 inflight: int = 1000) -> None:
        self.timeout = timeout
        self.sent = 0
        self._connected = threading.Event()
        self._last: mqtt.MQTTMessageInfo | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=new_client_id(), protocol=mqtt.MQTTv5)
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        self.client.max_inflight_messages_set(inflight)
        self.client.on_connect = lambda *_args: self._connected.set()
        self.client.connect(address.host, address.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.client.loop_stop()
            raise DatabaseUnavailable(_("no answer from the MQTT broker at {url}",
                                        url=address.url()))

    def publish(self, topic: str, payload: Any) -> None:
        """``payload``: bytes as they are, anything else as JSON."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._last = self.client.publish(topic, body, qos=1)
        self.sent += 1

    def close(self) -> None:
        try:
            if self._last is not None:
                self._last.wait_for_publish(self.timeout * 6)
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
