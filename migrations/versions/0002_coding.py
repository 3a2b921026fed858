"""house-code assignment: code index, SQL check-character function, procrastinate queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

- ``ix_code_registry_code``: find a code (and the highest code under a prefix) without
  knowing the county it was registered in.
- ``cimhouse_mod11_2(body text)``: the ISO 7064 MOD 11-2 check character of a 24-digit body,
  so that codes are computed set-based in SQL (same result as ``cimhouse.checksum.mod11_2``).
- procrastinate's own schema (tables, types, functions, triggers) for the job queue run by
  ``cimhouse worker``. It is applied from the installed procrastinate (pinned in
  requirements.lock); a procrastinate upgrade that changes the schema needs a new migration
  applying its ``sql/migrations`` files.
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# weight of body position i (1-24) is 2**(25 - i) mod 11, as in the 18-digit citizen ID
_WEIGHTS = [pow(2, 25 - i, 11) for i in range(1, 25)]
_SUM = " + ".join(f"substr(body, {i}, 1)::int * {w}" for i, w in enumerate(_WEIGHTS, 1))

MOD11_2_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cimhouse_mod11_2(body text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT substr('10X98765432', (({_SUM}) % 11) + 1, 1) $$
"""

PROCRASTINATE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers",
                        "procrastinate_jobs", "procrastinate_workers")
DROP_PROCRASTINATE_ROUTINES = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || r.sig::text || ' CASCADE';
    END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t
             JOIN pg_namespace n ON n.oid = t.typnamespace
             LEFT JOIN pg_class c ON c.oid = t.typrelid
             WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
               AND (t.typtype = 'e' OR c.relkind = 'c')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
    END LOOP;
END $$
"""


def upgrade() -> None:
    op.create_index('ix_code_registry_code', 'code_registry', ['code'], unique=False)
    op.execute(MOD11_2_FUNCTION)
    # procrastinate's schema holds '%' and ':' characters: run it on the driver connection
    # (no parameter parsing), inside the migration's transaction.
    driver = op.get_bind().connection.driver_connection
    driver.execute(SchemaManager.get_schema())


def downgrade() -> None:
    # Citus (distributed schema): functions are dropped after multi-shard DDL in this
    # transaction, which it allows over one connection per node only. A placeholder on
    # plain PostgreSQL.
    op.execute("SET LOCAL citus.multi_shard_modify_mode = 'sequential'")
    for table in PROCRASTINATE_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.get_bind().connection.driver_connection.execute(DROP_PROCRASTINATE_ROUTINES)
    op.execute("DROP FUNCTION IF EXISTS cimhouse_mod11_2(text)")
    op.drop_index('ix_code_registry_code', table_name='code_registry')
