"""Persons and their typed relations to houses.

ID numbers and phones are never stored in plain text: ``id_cipher``/``phone_cipher`` hold
AES-256-GCM ciphertext, ``id_hash`` a keyed HMAC-SHA256 for exact lookup, and the masked
forms are what ordinary readers see (see :mod:`cimhouse.pii`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, BigId, County, Created, Json, Updated, Version
from cimhouse.schema.vocab import RelationKind, check_in


class Person(Base):
    """A natural person (reference table in the Citus plan)."""

    __tablename__ = "person"
    __table_args__ = (CheckConstraint("gender IN ('M', 'F')", name="gender"),)

    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(Text)
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    id_masked: Mapped[str] = mapped_column(String(18))
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    attributes: Mapped[Json]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]


class PersonHouse(Base):
    """A typed, dated relation between a person and a house (产权/户籍/常住/租住)."""

    __tablename__ = "person_house"
    __table_args__ = (
        ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"]),
        CheckConstraint(check_in("relation", RelationKind), name="relation"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
                        name="valid_range"),
        Index("ix_person_house_county_house_id", "county", "house_id"),
        Index("ix_person_house_person_id", "person_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    house_id: Mapped[int] = mapped_column(BigInteger)
    relation: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    import_run_id: Mapped[int | None] = mapped_column(BigInteger)
    attributes: Mapped[Json]  # register columns without a field of their own
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]
