"""The code registry (every code ever issued), its lineage, counters and change history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, BigId, County, Created
from cimhouse.schema.vocab import CodeStatus, LineageEvent, ObjectKind, check_in


class CodeRegistry(Base):
    """One row per issued code; a code is never changed nor reused, even after retirement."""

    __tablename__ = "code_registry"
    __table_args__ = (
        CheckConstraint(check_in("object_kind", ObjectKind), name="object_kind"),
        CheckConstraint(check_in("status", CodeStatus), name="status"),
        CheckConstraint("code ~ '^[0-9]{24}[0-9X]$'", name="code_format"),
        Index("ix_code_registry_county_object", "county", "object_kind", "object_id"),
        Index("ix_code_registry_code", "code"),  # look a code up without its county
        # asOf: codes retired by / issued after a day (migration 0028)
        Index("ix_code_registry_retired", "county", "code", "retired_at",
              postgresql_where=text("retired_at IS NOT NULL")),
        Index("ix_code_registry_issued", "county", "object_kind", "issued_at"),
    )

    county: Mapped[County]
    code: Mapped[str] = mapped_column(String(25), primary_key=True)
    object_kind: Mapped[str] = mapped_column(String(10))
    object_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=CodeStatus.ACTIVE.value)
    issued_at: Mapped[Created]
    issued_by: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    retire_reason: Mapped[str | None] = mapped_column(Text)


class CodeCounter(Base):
    """The last number issued under a code prefix (community, estate or building part)."""

    __tablename__ = "code_counter"

    county: Mapped[County]
    prefix: Mapped[str] = mapped_column(String(19), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class CodeLineage(Base):
    """An edge parent_code -> child_code recorded by a lifecycle event."""

    __tablename__ = "code_lineage"
    __table_args__ = (
        CheckConstraint(check_in("event", LineageEvent), name="event"),
        Index("ix_code_lineage_parent_code", "parent_code"),
        Index("ix_code_lineage_child_code", "child_code"),
        Index("ix_code_lineage_seq", "seq"),
        Index("ix_code_lineage_unfed", "county", "recorded_at", "id",
              postgresql_where=text("seq IS NULL")),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    event: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(25))
    child_code: Mapped[str | None] = mapped_column(String(25))
    effective_date: Mapped[dt.date] = mapped_column(Date, server_default=func.current_date())
    recorded_at: Mapped[Created]
    actor: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    # The change feed (cimhouse.feed, migration 0017): position and scope, set after commit.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    feed_region: Mapped[str | None] = mapped_column(String(12))
    feed_estate: Mapped[str | None] = mapped_column(String(25))


class ChangeLog(Base):
    """History of building, house, person_house (and region) rows, written by the app.

    ``previous`` holds the values before the change (NULL on insert), ``current`` after it
    (NULL on delete). Citus rejects triggers on distributed tables, hence no triggers.
    """

    __tablename__ = "change_log"
    __table_args__ = (
        CheckConstraint("operation IN ('insert', 'update', 'delete')", name="operation"),
        Index("ix_change_log_county_object", "county", "object_kind", "object_id"),
        Index("ix_change_log_seq", "seq"),
        Index("ix_change_log_unfed", "county", "changed_at", "id",
              postgresql_where=text("seq IS NULL")),
        # asOf: the changes after a day that carry previous values (migration 0021)
        Index("ix_change_log_rewind", "county", "object_kind", "changed_at",
              postgresql_where=text("jsonb_typeof(previous) = 'object'")),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    object_kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(25))
    operation: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[Created]
    actor: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    current: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The change feed (cimhouse.feed, migration 0017): position and scope, set after commit.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    feed_region: Mapped[str | None] = mapped_column(String(12))
    feed_estate: Mapped[str | None] = mapped_column(String(25))


class ChangeFeedMark(Base):
    """One row: every feed position up to ``last_seq`` is committed on every node.

    Written by the stamper only after the rows it numbered committed, so a reader that stops
    at the mark never skips a row that becomes visible later (docs/feed.md)."""

    __tablename__ = "change_feed_mark"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    stamped_at: Mapped[Created]
