"""Migration 0002: the SQL check character agrees with Python; procrastinate's schema comes
and goes with it without upsetting ``alembic check``."""

from __future__ import annotations

import random

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.checksum import mod11_2
from cimhouse.coding.namespace import check_char_sql, digits_sum_sql, number_sum_sql
from cimhouse.db import EmbeddedCluster, make_engine
from cimhouse.db import migrate as migrations
from cimhouse.settings import Settings


def test_sql_check_character_matches_python(session: Session) -> None:
    rng = random.Random(7)
    bodies = ["".join(rng.choice("0123456789") for _ in range(24)) for _ in range(500)]
    bodies += ["0" * 24, "9" * 24, "330402007024001000300101"]
    split_sql = check_char_sql(digits_sum_sql("left(b, 19)", 19) + " + "
                               + number_sum_sql("substr(b, 20, 5)::int", 20, 5))
    rows = session.execute(text(
        f"SELECT b, cimhouse_mod11_2(b), {split_sql} FROM unnest(CAST(:b AS text[])) AS b"),
        {"b": bodies}).all()
    for body, whole, split in rows:
        assert whole == split == mod11_2(body), body


def test_downgrade_removes_procrastinate_and_upgrade_restores(
        pg_cluster: EmbeddedCluster, test_settings: Settings) -> None:
    name = "coding_migration_round_trip"
    pg_cluster.ensure_database(name)
    engine = make_engine(test_settings, url=pg_cluster.url(name))
    leftovers = text("""
        SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'
                                                OR proname = 'cimhouse_mod11_2')
             + (SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%')
             + (SELECT count(*) FROM pg_class WHERE relname LIKE 'procrastinate%')""")
    try:
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(leftovers).scalar_one() > 20
        migrations.check(engine)  # procrastinate's tables, types, functions are ignored
        migrations.downgrade(engine, "base")
        with engine.connect() as conn:
            assert conn.execute(leftovers).scalar() == 0
            assert conn.execute(text("SELECT to_regclass('ix_code_registry_code')")
                                ).scalar() is None
        migrations.upgrade(engine)
        migrations.check(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT cimhouse_mod11_2('11010519491231002' "
                                     "|| '0000000')")).scalar() == mod11_2(
                "110105194912310020000000")
    finally:
        engine.dispose()
        pg_cluster.drop_database(name)
