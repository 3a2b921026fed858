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
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, BigId, County, Created, Json, Updated
from cimhouse.schema.vocab import (
    AlertKind,
    AlertSeverity,
    AlertState,
    DeviceKind,
    DeviceStatus,
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
    )

    county: Mapped[County]
    id: Mapped[BigId]
    kind: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(10))
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


__all__ = ["ACTIVE_ALERT_STATES_SQL", "Device", "SafetyAlert"]
