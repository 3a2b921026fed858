"""The schema comes from the migrations: upgrade -> check -> downgrade -> upgrade."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from cimhouse.db import EmbeddedCluster, make_engine
from cimhouse.db import migrate as migrations
from cimhouse.db.distribute import distribute
from cimhouse.settings import Settings
from tests.helpers.database import ON_CITUS


def test_round_trip_without_drift(pg_cluster: EmbeddedCluster, test_settings: Settings) -> None:
    pg_cluster.ensure_database("migration_round_trip")
    engine = make_engine(test_settings, url=pg_cluster.url("migration_round_trip"))
    try:
        migrations.upgrade(engine)
        assert migrations.current_heads(engine) == migrations.script_heads()
        migrations.check(engine)  # raises on any difference between models and migrations
        if ON_CITUS:  # the downgrades run on the distributed schema too
            with engine.connect() as conn:
                distribute(conn)
            migrations.check(engine)
        migrations.downgrade(engine, "base")
        tables = set(inspect(engine).get_table_names())
        assert tables <= {"spatial_ref_sys", "alembic_version"}
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT postgis_version()")).scalar()
            assert conn.execute(text("SELECT count(*) FROM region")).scalar() == 0
    finally:
        engine.dispose()
        pg_cluster.drop_database("migration_round_trip")


def test_single_head() -> None:
    """Branches from parallel work are merged, so `alembic upgrade head` works too."""
    assert len(migrations.script_heads()) == 1


@pytest.mark.usefixtures("engine")
def test_naming_convention_applied() -> None:
    from cimhouse.schema import metadata

    names = {c.name for t in metadata.tables.values() for c in t.constraints}
    assert "pk_house" in names
    assert "uq_house_county_code" in names
    assert "fk_house_county_building_id_building" in names
