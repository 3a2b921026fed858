"""Administrative regions, levels 1-5, keyed by the national statistical codes."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import SRID, Base, Updated


class Region(Base):
    """A province, city, county, street/town or community/village (reference table)."""

    __tablename__ = "region"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("length(code) IN (2, 4, 6, 9, 12)", name="code_length"),
        CheckConstraint("code12 ~ '^[0-9]{12}$'", name="code12_digits"),
        Index("ix_region_parent_code", "parent_code"),
        Index("ix_region_level_name", "level", "name"),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    code12: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    # GB/T urban-rural classification (111..220) where a source provides it
    urban_rural: Mapped[str | None] = mapped_column(String(3))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    boundary: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    updated_at: Mapped[Updated]
