"""Alembic environment: cimhouse metadata, GeoAlchemy2 helpers, tables we do not own ignored.

A caller may hand over a live connection in ``config.attributes["connection"]`` (tests and
``cimhouse db upgrade`` do); otherwise the URL comes from cimhouse's settings.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection

from cimhouse.schema import metadata

# Tables that exist in the database but are not described by cimhouse's models.
# device_reading(_YYYYMM): partitioned by month in SQL, no model (cimhouse/schema/safety.py)
FOREIGN_TABLE_PREFIXES = ("procrastinate_", "device_reading", "spatial_ref_sys", "topology",
                          "layer")


def include_object(obj: Any, name: str | None, obj_type: str, reflected: bool,
                   compare_to: Any) -> bool:
    if obj_type == "table" and name and name.startswith(FOREIGN_TABLE_PREFIXES):
        return False
    if reflected and obj_type in ("index", "unique_constraint", "foreign_key_constraint") \
            and compare_to is None and name and name.startswith("procrastinate_"):
        return False
    return bool(alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to))


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    return not (type_ == "table" and name and name.startswith(FOREIGN_TABLE_PREFIXES))


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        include_name=include_name,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    from cimhouse.db import make_engine
    from cimhouse.settings import Settings

    engine = make_engine(Settings.from_env())
    with engine.connect() as conn:
        run_with(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
