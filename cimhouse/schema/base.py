"""Declarative base, naming convention and the column shapes shared by the models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Identity, Integer, MetaData, String, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapper, mapped_column

from cimhouse.settings import STORAGE_SRID

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SRID = STORAGE_SRID

# 6-digit county where the object was first registered: the Citus distribution column.
County = Annotated[str, mapped_column(String(6), primary_key=True)]
BigId = Annotated[int, mapped_column(BigInteger, Identity(always=False), primary_key=True)]
Code25 = Annotated[str | None, mapped_column(String(25))]
RegionCode = Annotated[str, mapped_column(String(12))]
Json = Annotated[dict[str, Any], mapped_column(JSONB, default=dict, server_default="{}")]
Created = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())
]
Updated = Annotated[
    dt.datetime,
    mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
]
Version = Annotated[int, mapped_column(Integer, default=1, server_default="1")]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Mapper, "before_configured")
def _load_every_model() -> None:
    # relationships name other models by string: all of them must be registered before the
    # mappers are configured, whichever model module the caller happened to import
    from cimhouse.schema import load_models

    load_models()


#: every table once :func:`cimhouse.schema.load_models` has run (``cimhouse.schema.metadata``)
metadata = Base.metadata
