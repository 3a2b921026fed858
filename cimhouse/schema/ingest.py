"""What the reading ingesters refused and counted (issue 19): one table each, county-keyed.

- ``reading_ingest_count``: per county, source (``mqtt`` / ``http``) and UTC day, the counts
  of :class:`cimhouse.safety.ingest_readings.IngestResult`, added in the transaction of each
  batch (so they agree with what was stored, also after a crash and a redelivery). County
  ``''`` holds what named no known county (a malformed payload, an unknown device over HTTP).
- ``reading_reject``: each refused reading (at most 100 per batch; the counts hold them all)
  with its reason code, the reason in Chinese / English, the topic and the first 500
  characters of the payload. Readings carry no personal data.

Both are written by :mod:`cimhouse.safety.ingest_log` and read by ``cimhouse safety
ingest-status``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, BigId, County, Updated

ZERO = text("0")


class ReadingIngestCount(Base):
    __tablename__ = "reading_ingest_count"

    county: Mapped[County]
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    stored: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    malformed: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    unknown_device: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    duplicate: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    out_of_order: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    updated_at: Mapped[Updated]


class ReadingReject(Base):
    __tablename__ = "reading_reject"
    __table_args__ = (Index("ix_reading_reject_county_received_at", "county", "received_at"),)

    county: Mapped[County]
    id: Mapped[BigId]
    source: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                     server_default=text("now()"))
    reason: Mapped[str] = mapped_column(String(24))  # a key of ingest_readings.REASONS
    reason_text: Mapped[str] = mapped_column(Text)  # 中文 / English
    device: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)  # the first 500 characters
