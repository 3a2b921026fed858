"""Operational records: jobs, import runs, the audit log and API principals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, Created, Json
from cimhouse.schema.vocab import RunStatus, check_in


class Job(Base):
    """An administrative job (code assignment, region change, ...): who, scope, outcome."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(check_in("status", RunStatus), name="status"),
        Index("ix_job_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    scope_code: Mapped[str | None] = mapped_column(String(25))
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.QUEUED.value)
    requested_by: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[Created]
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    options: Mapped[Json]
    counts: Mapped[Json]
    error: Mapped[str | None] = mapped_column(Text)
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)


class ImportRun(Base):
    """One run of an importer: the file, its hash and how every row ended."""

    __tablename__ = "import_run"
    __table_args__ = (
        CheckConstraint(check_in("status", RunStatus), name="status"),
        Index("ix_import_run_file_sha256", "file_sha256"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.RUNNING.value)
    dry_run: Mapped[bool] = mapped_column(default=False)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    report_path: Mapped[str | None] = mapped_column(Text)
    options: Mapped[Json]
    summary: Mapped[Json]
    actor: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[Created]
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    """Who read or changed what, when. Never holds personal data itself."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_actor", "actor"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[Created]
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(40))
    object_kind: Mapped[str | None] = mapped_column(String(20))
    object_ref: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ApiPrincipal(Base):
    """A system calling the API: its scope (one of six levels), roles and hashed token."""

    __tablename__ = "api_principal"
    __table_args__ = (CheckConstraint("scope_level BETWEEN 1 AND 6", name="scope_level"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    scope_code: Mapped[str] = mapped_column(String(25))
    scope_level: Mapped[int] = mapped_column(SmallInteger)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[Created]
    created_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
