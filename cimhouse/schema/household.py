"""Households (户): a numbered household registered at a house, and its dated members.

A household is county-keyed like the house it is registered at (Citus co-locates them);
members point to the reference table ``person``. At any time a person is a member of one
household and a household has one head: partial unique indexes over the current
memberships (``valid_to`` empty) hold both within a county, the register import checks
them across the file.
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
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import Base, BigId, County, Created, Updated, Version
from cimhouse.schema.vocab import HeadRelation, HouseholdKind, check_in


class Household(Base):
    """户: number (户号) unique in its county, kind (户别), the house it is registered at."""

    __tablename__ = "household"
    __table_args__ = (
        ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"]),
        CheckConstraint(check_in("kind", HouseholdKind), name="kind"),
        UniqueConstraint("county", "number"),
        Index("ix_household_county_house_id", "county", "house_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    number: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    house_id: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]


class HouseholdMember(Base):
    """A person's dated membership of a household, with the relation to the head."""

    __tablename__ = "household_member"
    __table_args__ = (
        ForeignKeyConstraint(["county", "household_id"], ["household.county", "household.id"]),
        CheckConstraint(check_in("relation", HeadRelation), name="relation"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
                        name="valid_range"),
        Index("ix_household_member_county_household_id", "county", "household_id"),
        Index("ix_household_member_person_id", "person_id"),
        Index("uq_household_member_current", "county", "person_id", unique=True,
              postgresql_where=text("valid_to IS NULL")),
        Index("uq_household_member_one_head", "county", "household_id", unique=True,
              postgresql_where=text("relation = 'head' AND valid_to IS NULL")),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    household_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    relation: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    import_run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]
