"""The MQTT ingester: subscribe to the readings' topics, write them in batches, ack after commit.

Topics (QoS 1; docs/safety.md):

- ``cimhouse/{county}/{device uid}/reading``: one device; the payload is one reading
  ``{"metric", "ts", "value"}`` or a JSON array of them (a device's backlog).
- ``cimhouse/{county}/gateway/{gateway id}/readings``: a gateway's batch, the body of
  ``POST /safety/readings``: ``{"readings": [{"device", "metric", "ts", "value"}, ...]}``.

The device must be registered in the topic's county (else ``unknown_device``).

Delivery: a persistent MQTT 5 session (``clean_start`` off, a week's expiry), so the broker
keeps what arrives while the ingester is away; messages are acknowledged (manual PUBACK) only
after the batch holding them committed. Killed before that, the broker sends them again and
the writer's idempotence (``(county, device, metric, ts)``) stores each reading once. A batch
is up to ``batch`` readings or ``max_wait`` seconds after its first message. Malformed
payloads, bad topics and unknown devices are counted and recorded
(:mod:`cimhouse.safety.ingest_log`) and acknowledged; a database outage keeps the batch and
retries it; an unexpected error in a batch writes its messages one by one, so one bad
message cannot hold the others back. Nothing of this stops the ingester.

Several processes (``cimhouse safety ingest --processes N``) share the work through an MQTT 5
shared subscription (``$share/{group}/...``, ``share``): the broker hands each message to
one member, each member batches, writes and acknowledges its own messages; a message a
member received but did not acknowledge is sent again when that member's session resumes.

Example::

    stop = threading.Event()
    ingester = MqttIngester(engine, broker_address(settings), scope=None)
    ingester.run(stop)      # until stop.set() (the CLI sets it on SIGTERM / Ctrl-C)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cimhouse.db import session_scope
from cimhouse.errors import DatabaseUnavailable
from cimhouse.safety.broker import BrokerAddress
from cimhouse.safety.check_readings import Columns, decode_json, gateway_shape
from cimhouse.safety.ingest_log import record_batch
from cimhouse.safety.ingest_readings import DeviceCache, IngestResult, Reject, ingest_readings
from cimhouse.scope import Scope

log = logging.getLogger(__name__)
TOPICS = ("cimhouse/+/+/reading", "cimhouse/+/gateway/+/readings")
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 65535  # QoS 1 messages the broker may have in flight to us (MQTT 5)


def device_topic(county: str, uid: str) -> str:
    """>>> device_topic("330402", "GAS-0001")
    'cimhouse/330402/GAS-0001/reading'
    """
    return f"cimhouse/{county}/{uid}/reading"


def gateway_topic(county: str, gateway: str) -> str:
    return f"cimhouse/{county}/gateway/{gateway}/readings"


def message_items(topic: str, payload: bytes
                  ) -> tuple[list[dict[str, Any]], Columns | None] | str:
    """The readings of one message (each with the topic's county, and device; a gateway's
    columnar batch as :class:`Columns`), or the reason code why none can be read from it."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == "cimhouse" and parts[3] == "reading":
        county, device = parts[1], parts[2]
    elif (len(parts) == 5 and parts[0] == "cimhouse" and parts[2] == "gateway"
          and parts[4] == "readings"):
        county, device = parts[1], None
    else:
        return "bad_topic"
    if not (len(county) == 6 and county.isdigit()):
        return "bad_topic"
    try:
        body = decode_json(payload)
    except (ValueError, UnicodeDecodeError):
        return "not_json"
    if device is None and not isinstance(body, list):  # a bare list of readings is one too
        gateway = gateway_shape(body)
        if isinstance(gateway, str):
            return gateway
        body, columns = gateway
        if columns is not None:
            columns.county = [county] * len(columns)
            return [], columns
    items = body if isinstance(body, list) else [body]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):  # parsed from this payload just now: ours to change
            item["county"] = county
            if device is not None:
                item["device"] = device
        out.append(item)
    return out, None


@dataclass
class _Batch:
    mids: list[tuple[int, int]] = field(default_factory=list)  # (mid, qos) to acknowledge
    items: list[Any] = field(default_factory=list)
    origin: list[int] = field(default_factory=list)  # item -> message number
    #: the columnar messages' readings (positions after ``items``), and their message numbers
    columns: Columns = field(default_factory=lambda: Columns([], [], [], [], []))
    column_origin: list[int] = field(default_factory=list)

    def size(self) -> int:
        return len(self.items) + len(self.columns)

    def message_of(self, index: int) -> int:
        """The message number of a reject's position (readings, columns, then messages)."""
        if index < len(self.items):
            return self.origin[index]
        if index < self.size():
            return self.column_origin[index - len(self.items)]
        return index - self.size()
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (message number, reason)


@dataclass
class IngesterStats:
    batches: int = 0
    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)


class MqttIngester:
    """Subscribe, batch, write, acknowledge; see the module docstring."""

    def __init__(self, engine: Engine, address: BrokerAddress, *, scope: Scope | None = None,
                 batch: int = 5000, max_wait: float = 0.2,
                 client_id: str = "cimhouse-ingest", share: str | None = None) -> None:
        self.engine, self.address, self.scope = engine, address, scope
        self.batch, self.max_wait, self.client_id = batch, max_wait, client_id
        #: MQTT 5 shared subscription group: the broker hands each message to one member
        self.topics = tuple(f"$share/{share}/{t}" for t in TOPICS) if share else TOPICS
        self.devices = DeviceCache(scope)
        self.stats = IngesterStats()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._client: mqtt.Client | None = None

    # -- the broker side ---------------------------------------------------------------
    def _connect(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = lambda _c, _u, message: self._inbox.put(message)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        client.reconnect_delay_set(1, 30)
        client.connect_async(self.address.host, self.address.port, keepalive=30,
                             clean_start=False, properties=properties)
        client.loop_start()
        return client

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        client.subscribe([(topic, 1) for topic in self.topics])
        log.info("connected to %s, subscribing to %s", self.address.url(),
                 ", ".join(self.topics))
        self.connected.set()

    def _on_subscribe(self, *_args: Any) -> None:
        # logged on the broker's SUBACK, not when the request is queued: what is published
        # after this line reaches the ingester (the bench and the tests wait for it)
        log.info("subscribed (%s)", self.client_id)
        self.subscribed.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                       _properties: Any) -> None:
        self.connected.clear()
        log.warning("disconnected from the broker (%s); reconnecting", reason)

    # -- batches -------------------------------------------------------------------------
    def _collect(self, stop: threading.Event) -> _Batch | None:
        try:
            first = self._inbox.get(timeout=0.25)
        except queue.Empty:
            return None
        batch, deadline = _Batch(), time.monotonic() + self.max_wait
        message: mqtt.MQTTMessage | None = first
        while message is not None:
            self._add(batch, message)
            if batch.size() >= self.batch or stop.is_set():
                break
            try:
                message = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                message = None
        return batch

    @staticmethod
    def _add(batch: _Batch, message: mqtt.MQTTMessage) -> None:
        number = len(batch.messages)
        batch.mids.append((message.mid, message.qos))
        payload = bytes(message.payload)
        batch.messages.append((message.topic, payload))
        items = message_items(message.topic, payload)
        if isinstance(items, str):
            batch.bad.append((number, items))
            return
        readings, columns = items
        batch.items.extend(readings)
        batch.origin.extend([number] * len(readings))
        if columns is not None:
            batch.columns.extend(columns, message.topic.split("/")[1])
            batch.column_origin.extend([number] * len(columns))

    def _write(self, batch: _Batch) -> IngestResult:
        """One transaction: the readings, the message-level rejects, the log."""
        with session_scope(self.engine) as session:
            result = ingest_readings(session, batch.items, scope=self.scope,
                                     devices=self.devices, columns=batch.columns)
            for number, reason in batch.bad:
                topic = batch.messages[number][0].split("/")
                county = topic[1] if len(topic) > 1 and len(topic[1]) == 6 else ""
                result.received += 1
                result.reject(Reject(batch.size() + number, None, reason, county=county))

            def context(index: int) -> tuple[str | None, str | None]:
                topic, payload = batch.messages[batch.message_of(index)]
                return topic, payload.decode("utf-8", "replace")

            record_batch(session, "mqtt", result, context=context)
        return result

    def _write_safely(self, batch: _Batch, stop: threading.Event) -> IngestResult | None:
        """Write the batch, retrying through a database outage; an unexpected error writes
        its messages one by one (so only the message that causes it is refused)."""
        delay = 1.0
        while not stop.is_set():
            try:
                return self._write(batch)
            except (OperationalError, DatabaseUnavailable) as exc:
                log.warning("database unavailable (%s); retrying in %.0f s", type(exc).__name__,
                            delay)
                self.devices = DeviceCache(self.scope)
                stop.wait(delay)
                delay = min(delay * 2, 30.0)
            except Exception:
                if len(batch.messages) == 1:
                    log.exception("a message could not be written; it is refused")
                    return self._refuse(batch)
                log.exception("a batch failed; writing its messages one by one")
                total = IngestResult()
                for single in self._split(batch):
                    part = self._write_safely(single, stop)
                    if part is not None:
                        total.received += part.received
                        for name in IngestResult.COUNTS[1:]:
                            setattr(total, name, getattr(total, name) + getattr(part, name))
                return total
        return None

    def _split(self, batch: _Batch) -> list[_Batch]:
        singles = [_Batch() for _ in batch.messages]
        for number, (topic, payload) in enumerate(batch.messages):
            single = singles[number]
            single.mids.append(batch.mids[number])
            single.messages.append((topic, payload))
        for item, number in zip(batch.items, batch.origin, strict=True):
            singles[number].items.append(item)
            singles[number].origin.append(0)
        columns, counties = batch.columns, batch.columns.county or []
        for at, number in enumerate(batch.column_origin):
            target = singles[number].columns
            target.device.append(columns.device[at])
            target.metric.append(columns.metric[at])
            target.ts.append(columns.ts[at])
            target.value.append(columns.value[at])
            assert target.county is not None
            target.county.append(counties[at])
            singles[number].column_origin.append(0)
        for number, reason in batch.bad:
            singles[number].bad.append((0, reason))
        return singles

    def _refuse(self, batch: _Batch) -> IngestResult:
        result = IngestResult(received=batch.size())
        for index in range(batch.size()):
            result.reject(Reject(index, None, "write_failed"))
        with session_scope(self.engine) as session:
            record_batch(session, "mqtt", result, context=lambda _i: (
                batch.messages[0][0], batch.messages[0][1].decode("utf-8", "replace")))
        return result

    def run(self, stop: threading.Event, *, report_every: float = 10.0) -> IngesterStats:
        """Ingest until ``stop`` is set; returns the totals."""
        client = self._client = self._connect()
        last_report = time.monotonic()
        try:
            while not stop.is_set():
                batch = self._collect(stop)
                if batch is not None:
                    result = self._write_safely(batch, stop)
                    if result is None:  # stopping during an outage: the broker keeps them
                        break
                    for mid, qos in batch.mids:
                        client.ack(mid, qos)
                    self.stats.batches += 1
                    self.stats.messages += len(batch.mids)
                    self.stats.counts.update(result.counts())
                if time.monotonic() - last_report >= report_every:
                    last_report = time.monotonic()
                    log.info("ingested: %s", dict(self.stats.counts))
        finally:
            client.disconnect()
            client.loop_stop()
        return self.stats


def new_client_id(prefix: str = "cimhouse-pub") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
