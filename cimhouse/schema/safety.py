"""Home safety of the elderly living alone (issue 19): devices and alerts.

Readings live in ``device_reading``, a table partitioned by month that only set-based SQL
writes (:mod:`cimhouse.safety.ingest_readings`), so it has no model here (see
``migrations/versions/0019_safety_devices.py``). Devices and alerts are county-keyed like
``house`` and co-located with it on Citus.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, BigId, County, Created, Json, Updated
from cimhouse.schema.vocab import (
    AlertEventKind,
    AlertKind,
    AlertSeverity,
    AlertState,
    ContactRole,
    DeliveryStatus,
    DeviceKind,
    DeviceStatus,
    NotifyChannel,
    check_in,
)

#: states of an alert that still needs someone (one such alert per house and kind)
ACTIVE_ALERT_STATES_SQL = "state <> 'resolved'"


class Device(Base):
    """A sensor at a house (and maybe worn by a person), known to gateways by ``uid``."""

    __tablename__ = "device"
    __table_args__ = (
        UniqueConstraint("county", "uid"),
        ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"]),
        CheckConstraint(check_in("kind", DeviceKind), name="kind"),
        CheckConstraint(check_in("status", DeviceStatus), name="status"),
        CheckConstraint("battery_pct BETWEEN 0 AND 100", name="battery_pct"),
        Index("ix_device_uid", "uid"),
        Index("ix_device_county_house_id", "county", "house_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    uid: Mapped[str] = mapped_column(Text)  # the gateway's device id (MQTT topic part)
    kind: Mapped[str] = mapped_column(String(20))
    house_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(BigInteger)  # wearer; person is a ref. table
    status: Mapped[str] = mapped_column(String(10), default=DeviceStatus.ACTIVE.value,
                                        server_default=DeviceStatus.ACTIVE.value)
    battery_pct: Mapped[int | None] = mapped_column(SmallInteger)
    heartbeat_s: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[Json]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class SafetyAlert(Base):
    """An alert raised by a rule; evidence from later readings folds into it until resolved."""

    __tablename__ = "safety_alert"
    __table_args__ = (
        ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"]),
        CheckConstraint(check_in("kind", AlertKind), name="kind"),
        CheckConstraint(check_in("severity", AlertSeverity), name="severity"),
        CheckConstraint(check_in("state", AlertState), name="state"),
        Index("uq_safety_alert_county_house_id_kind_active", "county", "house_id", "kind",
              unique=True, postgresql_where=text(ACTIVE_ALERT_STATES_SQL)),
        Index("ix_safety_alert_county_state_opened_at", "county", "state", "opened_at"),
        Index("ix_safety_alert_ack_due_at", "ack_due_at",
              postgresql_where=text("ack_due_at IS NOT NULL")),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    kind: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(10))
    # escalation (cimhouse.safety.escalate): the step reached (0 before anyone was told) and
    # when the current contacts must have acknowledged (null: acknowledged, resolved, or
    # nobody left to call)
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    ack_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(14), default=AlertState.OPEN.value,
                                       server_default=AlertState.OPEN.value)
    house_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    device_id: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # first evidence
    last_evidence_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    occurrences: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    evidence: Mapped[Json]  # {"readings": [...]} capped, or the inactivity window
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class SafetyContact(Base):
    """Someone an alert of a community escalates to, at ``level`` (1 is called first).

    ``house_id`` set: a family contact called only for that house's alerts. The phone is
    personal data: ciphertext plus its mask, like ``person.phone``; never logged.
    """

    __tablename__ = "safety_contact"
    __table_args__ = (
        ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"]),
        CheckConstraint(check_in("role", ContactRole), name="role"),
        CheckConstraint(check_in("channel", NotifyChannel), name="channel"),
        CheckConstraint("level BETWEEN 1 AND 9", name="level"),
        Index("ix_safety_contact_county_region_code", "county", "region_code"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    region_code: Mapped[str] = mapped_column(String(12))  # the community
    house_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(Text)
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10), default=NotifyChannel.IN_APP.value,
                                         server_default=NotifyChannel.IN_APP.value)
    endpoint: Mapped[str | None] = mapped_column(Text)  # the webhook URL
    secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # webhook signing secret
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class SafetyAlertEvent(Base):
    """One logged step of an alert: opened, notified, escalated, acknowledged, ..."""

    __tablename__ = "safety_alert_event"
    __table_args__ = (
        ForeignKeyConstraint(["county", "alert_id"], ["safety_alert.county", "safety_alert.id"]),
        CheckConstraint(check_in("kind", AlertEventKind), name="kind"),
        Index("ix_safety_alert_event_county_alert_id", "county", "alert_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    alert_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # the safety clock
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    detail: Mapped[Json]  # never a phone number
    created_at: Mapped[Created]


class SafetyDelivery(Base):
    """One message to one contact through its channel, sent by the job queue."""

    __tablename__ = "safety_delivery"
    __table_args__ = (
        ForeignKeyConstraint(["county", "alert_id"], ["safety_alert.county", "safety_alert.id"]),
        CheckConstraint(check_in("channel", NotifyChannel), name="channel"),
        CheckConstraint(check_in("status", DeliveryStatus), name="status"),
        Index("ix_safety_delivery_county_alert_id", "county", "alert_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    alert_id: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(SmallInteger)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.QUEUED.value,
                                        server_default=DeliveryStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    job_id: Mapped[int | None] = mapped_column(BigInteger)  # the signed delivery (webhook)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class SafetyNotification(Base):
    """The in-app channel's inbox: what a contact was told (shown in GraphQL)."""

    __tablename__ = "safety_notification"
    __table_args__ = (
        ForeignKeyConstraint(["county", "alert_id"], ["safety_alert.county", "safety_alert.id"]),
        UniqueConstraint("county", "delivery_id"),
        Index("ix_safety_notification_county_contact_id", "county", "contact_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    delivery_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(Text)  # Chinese / English
    body: Mapped[Json]
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Created]


__all__ = ["ACTIVE_ALERT_STATES_SQL", "Device", "SafetyAlert", "SafetyAlertEvent",
           "SafetyContact", "SafetyDelivery", "SafetyNotification"]
