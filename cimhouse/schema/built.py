"""Estates (小区), buildings (幢), storeys, spaces and houses (户): the built objects.

All of them are distributed by ``county`` (see docs/architecture.md): the primary key,
unique constraints and foreign keys between them include it.
"""

from __future__ import annotations

from decimal import Decimal

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import (
    SRID,
    Base,
    BigId,
    Code25,
    County,
    Created,
    Json,
    Updated,
    Version,
)
from cimhouse.schema.vocab import AreaSource, EstateKind, HouseUse, LifecycleStatus, check_in

STATUS_DEFAULT = LifecycleStatus.IN_USE.value


class Estate(Base):
    """A residential estate (小区), or a rural natural village / villager group."""

    __tablename__ = "estate"
    __table_args__ = (
        UniqueConstraint("county", "code"),
        CheckConstraint(check_in("kind", EstateKind), name="kind"),
        CheckConstraint(check_in("status", LifecycleStatus), name="status"),
        Index("ix_estate_region_code_county_id", "region_code", "county", "id"),
        Index("ix_estate_county_name", "county", "name"),
        Index("ix_estate_name_key", "name_key", postgresql_using="gist",
              postgresql_ops={"name_key": "gist_trgm_ops"}),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    code: Mapped[Code25]
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    # Name and aliases as single-character trigram words, for typo-tolerant address search
    # (migration 0014, cimhouse.addressing.search_addresses).
    name_key: Mapped[str | None] = mapped_column(
        Text, Computed("cimhouse_estate_key(name, aliases)", persisted=True))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))  # current community
    kind: Mapped[str] = mapped_column(String(20), default=EstateKind.COMMODITY.value)
    property_company: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    boundary: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    status: Mapped[str] = mapped_column(String(24), default=STATUS_DEFAULT)
    external_ids: Mapped[Json]
    attributes: Mapped[Json]
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]


class Building(Base):
    """A building (幢) with its address parts and footprint."""

    __tablename__ = "building"
    __table_args__ = (
        UniqueConstraint("county", "code"),
        UniqueConstraint("county", "ifc_global_id"),
        ForeignKeyConstraint(["county", "estate_id"], ["estate.county", "estate.id"]),
        CheckConstraint(check_in("status", LifecycleStatus), name="status"),
        Index("ix_building_county_estate_id", "county", "estate_id"),
        Index("ix_building_region_code_county_id", "region_code", "county", "id"),
        Index("ix_building_county_address_norm", "county", "address_norm"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    code: Mapped[Code25]
    estate_id: Mapped[int | None] = mapped_column(BigInteger)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    road: Mapped[str | None] = mapped_column(Text)
    door_number: Mapped[str | None] = mapped_column(Text)
    building_label: Mapped[str | None] = mapped_column(Text)  # as written: 3幢, 3号楼, 3#
    address_norm: Mapped[str | None] = mapped_column(Text)
    address_code: Mapped[str | None] = mapped_column(Text)  # public-security address code
    footprint: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    floors_above: Mapped[int | None] = mapped_column(SmallInteger)
    floors_below: Mapped[int | None] = mapped_column(SmallInteger)
    height_m: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    structure: Mapped[str | None] = mapped_column(Text)
    use: Mapped[str | None] = mapped_column(String(20))
    year_built: Mapped[int | None] = mapped_column(SmallInteger)
    ifc_global_id: Mapped[str | None] = mapped_column(String(22))
    status: Mapped[str] = mapped_column(String(24), default=STATUS_DEFAULT)
    external_ids: Mapped[Json]
    attributes: Mapped[Json]
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]


class Storey(Base):
    """A building storey (from IFC or a survey), elevation in metres."""

    __tablename__ = "storey"
    __table_args__ = (
        UniqueConstraint("county", "ifc_global_id"),
        ForeignKeyConstraint(["county", "building_id"], ["building.county", "building.id"]),
        Index("ix_storey_county_building_id", "county", "building_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    building_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    elevation_m: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))
    ifc_global_id: Mapped[str | None] = mapped_column(String(22))
    attributes: Mapped[Json]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class House(Base):
    """A house (户): a dwelling or another unit in a building."""

    __tablename__ = "house"
    __table_args__ = (
        UniqueConstraint("county", "code"),
        # Partial: most houses have no GlobalId / 不动产单元号, and a partial index costs
        # nothing when code assignment rewrites such a row (1M-house benchmark).
        Index("uq_house_county_ifc_global_id", "county", "ifc_global_id", unique=True,
              postgresql_where=text("ifc_global_id IS NOT NULL")),
        ForeignKeyConstraint(["county", "building_id"], ["building.county", "building.id"]),
        CheckConstraint(check_in("status", LifecycleStatus), name="status"),
        CheckConstraint(check_in("use", HouseUse), name="use"),
        CheckConstraint(f"area_source IS NULL OR {check_in('area_source', AreaSource)}",
                        name="area_source"),
        Index("ix_house_county_building_id", "county", "building_id"),
        Index("ix_house_region_code_county_id", "region_code", "county", "id"),
        Index("ix_house_county_address_norm", "county", "address_norm"),
        Index("ix_house_county_realestate_unit_no", "county", "realestate_unit_no",
              postgresql_where=text("realestate_unit_no IS NOT NULL")),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    code: Mapped[Code25]
    building_id: Mapped[int] = mapped_column(BigInteger)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    unit_label: Mapped[str | None] = mapped_column(Text)  # 单元
    floor_label: Mapped[str | None] = mapped_column(Text)
    floor_number: Mapped[int | None] = mapped_column(SmallInteger)
    room_label: Mapped[str | None] = mapped_column(Text)  # 室号
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    area_source: Mapped[str | None] = mapped_column(String(24))
    use: Mapped[str] = mapped_column(String(20), default=HouseUse.RESIDENTIAL.value)
    status: Mapped[str] = mapped_column(String(24), default=STATUS_DEFAULT)
    address_norm: Mapped[str | None] = mapped_column(Text)
    realestate_unit_no: Mapped[str | None] = mapped_column(String(28))  # 不动产单元号
    address_code: Mapped[str | None] = mapped_column(Text)
    ifc_global_id: Mapped[str | None] = mapped_column(String(22))
    # The point a register gives for the house (its entrance or building), CGCS2000.
    location: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True)
    )
    external_ids: Mapped[Json]
    attributes: Mapped[Json]
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    version: Mapped[Version]


class Space(Base):
    """A room or space from a BIM model, optionally grouped into a house (dwelling)."""

    __tablename__ = "space"
    __table_args__ = (
        UniqueConstraint("county", "ifc_global_id"),
        ForeignKeyConstraint(["county", "building_id"], ["building.county", "building.id"]),
        ForeignKeyConstraint(["county", "storey_id"], ["storey.county", "storey.id"]),
        ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"]),
        CheckConstraint(f"area_source IS NULL OR {check_in('area_source', AreaSource)}",
                        name="area_source"),
        Index("ix_space_county_building_id", "county", "building_id"),
        Index("ix_space_county_house_id", "county", "house_id"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    building_id: Mapped[int] = mapped_column(BigInteger)
    storey_id: Mapped[int | None] = mapped_column(BigInteger)
    house_id: Mapped[int | None] = mapped_column(BigInteger)
    number: Mapped[str | None] = mapped_column(Text)  # IfcSpace.Name, e.g. A101
    long_name: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    area_source: Mapped[str | None] = mapped_column(String(24))
    footprint: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    ifc_global_id: Mapped[str | None] = mapped_column(String(22))
    attributes: Mapped[Json]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


__all__ = ["Building", "Estate", "House", "Space", "Storey"]
