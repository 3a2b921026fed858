"""Outbound deliveries (signed HTTP POSTs run by the job queue) and the change-feed webhooks.

A ``delivery`` row belongs to a ``job`` row of kind ``delivery`` (its status, who asked, when,
the outcome, shown by ``cimhouse jobs list``); it keeps what the attempts need: the target URL,
the JSON body, the signing secret (encrypted, never shown), the attempt count and the last
error. A ``webhook`` reads the change feed from its ``cursor`` and hands batches to deliveries;
``pending_job_id`` is the delivery in flight (one at a time, so batches arrive in feed order).
Both are small operational tables: reference tables on Citus, like ``job``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, Created, Json


class Delivery(Base):
    """One signed POST of a JSON body to a URL, retried until delivered or dead-lettered."""

    __tablename__ = "delivery"

    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("job.id", ondelete="CASCADE"),
                                        primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent (UTF-8 JSON)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM, key from the master key
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    base_delay_s: Mapped[float] = mapped_column(Float, default=10.0, server_default="10")
    # "module:function" called as f(session, settings, context) when the success is recorded
    on_delivered: Mapped[str | None] = mapped_column(Text)
    context: Mapped[Json]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Created]


class Webhook(Base):
    """A subscriber of the change feed: its URL, scope, kinds and how far it has got."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    scope_code: Mapped[str] = mapped_column(String(25))
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text))
    with_persons: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    batch_size: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    max_attempts: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    base_delay_s: Mapped[float] = mapped_column(Float, default=10.0, server_default="10")
    pending_job_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("job.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    last_delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    def describe(self) -> dict[str, Any]:
        """What ``webhooks list`` shows (never the secret)."""
        return {"id": self.id, "url": self.url, "scope": self.scope_code,
                "kinds": list(self.kinds), "with_persons": self.with_persons,
                "cursor": str(self.cursor), "pending_job_id": self.pending_job_id,
                "active": self.active, "created_by": self.created_by,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "last_delivered_at": self.last_delivered_at.isoformat()
                if self.last_delivered_at else None}
