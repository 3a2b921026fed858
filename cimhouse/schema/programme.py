"""The future-community programme (未来社区): creation projects and gap-filling projects.

- ``future_project`` (reference table: a few thousand rows): name, level, kind, themes, the
  lifecycle with one date column per step (``reserve_on`` ... ``accepted_on``), year, lead
  street, figures and an optional boundary (CGCS2000, ``cimhouse import project-boundaries``).
- ``future_project_scenario``: the nine "139" scenarios of a project, one row per state
  reached with its date (reference table), so the state on any date can be read back.
- ``future_project_region``: the communities (level 5) a project covers (reference table).
- ``future_project_estate``: the estates it covers (county-keyed, co-located with estate).
- ``gap_project``: a gap-filling (补短板) project made from a gap: a category for a
  community or an estate, planned capacity, status, the facility once it exists (county-keyed).
- ``service_index_survey``: the service index of a community on a survey date (county-keyed),
  so that its history can be plotted and a gap project's before/after read off it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cimhouse.schema.base import SRID, Base, BigId, County, Created, Json, Updated
from cimhouse.schema.vocab import (
    FacilityCategory,
    GapProjectStatus,
    ProjectKind,
    ProjectLevel,
    ProjectStatus,
    Scenario,
    ScenarioState,
    check_in,
)

#: the date column of each lifecycle step, in lifecycle order
STATUS_DATE_COLUMNS: dict[str, str] = {s.value: f"{s.value}_on" for s in ProjectStatus}


class FutureProject(Base):
    """A future-community creation project (reference table, keyed by ``id``)."""

    __tablename__ = "future_project"
    __table_args__ = (
        CheckConstraint(check_in("level", ProjectLevel), name="level"),
        CheckConstraint(check_in("kind", ProjectKind), name="kind"),
        CheckConstraint(check_in("status", ProjectStatus), name="status"),
        UniqueConstraint("external_id"),
        UniqueConstraint("lead_street", "name"),
        Index("ix_future_project_level_status", "level", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(Text)  # 项目编号 of the programme office
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(20))
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    status: Mapped[str] = mapped_column(String(20))
    year: Mapped[int | None] = mapped_column(SmallInteger)
    lead_street: Mapped[str] = mapped_column(ForeignKey("region.code"))
    investment_10k: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # 万元
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 1))
    households: Mapped[int | None] = mapped_column(Integer)
    boundary: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False))
    reserve_on: Mapped[dt.date | None] = mapped_column(Date)
    declared_on: Mapped[dt.date | None] = mapped_column(Date)
    listed_on: Mapped[dt.date | None] = mapped_column(Date)
    under_construction_on: Mapped[dt.date | None] = mapped_column(Date)
    acceptance_applied_on: Mapped[dt.date | None] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[Json]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class FutureProjectRegion(Base):
    """A community (level 5) covered by a project."""

    __tablename__ = "future_project_region"
    __table_args__ = (Index("ix_future_project_region_region_code", "region_code"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("future_project.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), primary_key=True)


class FutureProjectScenario(Base):
    """A state a project's scenario reached, and since when (null: known, but not when).

    States go ``planned`` -> ``in_progress`` -> ``delivered`` (one may be skipped), their
    dates never go backwards; the state on a date is the last one reached on or before it.
    """

    __tablename__ = "future_project_scenario"
    __table_args__ = (
        CheckConstraint(check_in("scenario", Scenario), name="scenario"),
        CheckConstraint(check_in("state", ScenarioState), name="state"),
    )

    project_id: Mapped[int] = mapped_column(
        ForeignKey("future_project.id", ondelete="CASCADE"), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(12), primary_key=True)
    since: Mapped[dt.date | None] = mapped_column(Date)


class FutureProjectEstate(Base):
    """An estate covered by a project (county-keyed like the estate)."""

    __tablename__ = "future_project_estate"
    __table_args__ = (
        ForeignKeyConstraint(["county", "estate_id"], ["estate.county", "estate.id"]),
        Index("ix_future_project_estate_project_id", "project_id"),
    )

    county: Mapped[County]
    project_id: Mapped[int] = mapped_column(
        ForeignKey("future_project.id", ondelete="CASCADE"), primary_key=True)
    estate_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class GapProject(Base):
    """A gap-filling (补短板) project for one category in a community or an estate."""

    __tablename__ = "gap_project"
    __table_args__ = (
        ForeignKeyConstraint(["county", "estate_id"], ["estate.county", "estate.id"]),
        ForeignKeyConstraint(["county", "facility_id"], ["facility.county", "facility.id"]),
        CheckConstraint(check_in("category", FacilityCategory), name="category"),
        CheckConstraint(check_in("status", GapProjectStatus), name="status"),
        Index("ix_gap_project_region_code_category", "region_code", "category"),
    )

    county: Mapped[County]
    id: Mapped[BigId]
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    estate_id: Mapped[int | None] = mapped_column(BigInteger)
    planned_capacity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), default=GapProjectStatus.PLANNED.value)
    facility_id: Mapped[int | None] = mapped_column(BigInteger)
    affected: Mapped[int | None] = mapped_column(Integer)  # people affected by the gap
    distance_m: Mapped[float | None] = mapped_column(Float)  # to the nearest one, at creation
    planned_on: Mapped[dt.date] = mapped_column(Date)
    under_construction_on: Mapped[dt.date | None] = mapped_column(Date)
    in_use_on: Mapped[dt.date | None] = mapped_column(Date)
    actor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class ServiceIndexSurvey(Base):
    """The service index of a community on a survey date, with its components."""

    __tablename__ = "service_index_survey"

    county: Mapped[County]
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), primary_key=True)
    survey_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    index: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer)
    estates: Mapped[int] = mapped_column(Integer)
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list,
                                                             server_default="[]")
    recorded_at: Mapped[Created]
    actor: Mapped[str | None] = mapped_column(Text)
