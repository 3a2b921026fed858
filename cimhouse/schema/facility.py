"""Public service facilities (education, medical, elderly care, childcare, ...)."""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import SRID, Base, BigId, County, Created, Json, Updated
from cimhouse.schema.built import STATUS_DEFAULT
from cimhouse.schema.vocab import FacilityCategory, LifecycleStatus, check_in


class Facility(Base):
    """A facility located by point or polygon, attached to a community and maybe an estate."""

    __tablename__ = "facility"
    __table_args__ = (
        ForeignKeyConstraint(["county", "estate_id"], ["estate.county", "estate.id"]),
        CheckConstraint(check_in("category", FacilityCategory), name="category"),
        CheckConstraint(check_in("status", LifecycleStatus), name="status"),
        Index("ix_facility_region_code_category", "region_code", "category"),
        Index("ix_facility_county_source_external_id", "county", "source", "external_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    category: Mapped[str] = mapped_column(String(20))
    subtype: Mapped[str | None] = mapped_column(Text)  # 幼儿园, 托育, 卫生服务站, 菜场 ...
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("GEOMETRY", srid=SRID, spatial_index=True)
    )
    capacity: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    estate_id: Mapped[int | None] = mapped_column(BigInteger)
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default=STATUS_DEFAULT)
    source: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[Json]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


__all__ = ["Facility", "LifecycleStatus"]
