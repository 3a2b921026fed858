"""address search: pg_trgm and a trigram key of estate names and aliases

- ``pg_trgm`` (PostgreSQL contrib) for typo-tolerant estate lookup.
- ``cimhouse_estate_key(name, aliases)``: the name and aliases, upper case, every character
  followed by a space. pg_trgm then compares character sets (each character is a word of its
  own), so one wrong character of a three-character Chinese name keeps a similarity of 0.5
  (whole-word trigrams of 怡景府 / 恰景府 share 1 of 7). Needs a database whose LC_CTYPE
  classifies CJK characters as letters (C.UTF-8, zh_CN.UTF-8, en_US.UTF-8 ...; not ``C``).
- ``estate.name_key``: that key as a stored generated column with a GiST trigram index, so
  the nearest names come from an index scan (``ORDER BY name_key <-> :key``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# array_to_string is STABLE only because of arbitrary element types; on text[] it is
# immutable, which the generated column and the index need.
ESTATE_KEY = r"""
CREATE OR REPLACE FUNCTION cimhouse_estate_key(name text, aliases text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(upper(name || ' ' || coalesce(array_to_string(aliases, ' '), '')),
                          '(\S)', '\1 ', 'g')
$$
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(ESTATE_KEY)
    op.add_column("estate", sa.Column(
        "name_key", sa.Text(),
        sa.Computed("cimhouse_estate_key(name, aliases)", persisted=True), nullable=True))
    op.create_index("ix_estate_name_key", "estate", ["name_key"], unique=False,
                    postgresql_using="gist", postgresql_ops={"name_key": "gist_trgm_ops"})


def downgrade() -> None:
    op.drop_index("ix_estate_name_key", table_name="estate", postgresql_using="gist",
                  postgresql_ops={"name_key": "gist_trgm_ops"})
    op.drop_column("estate", "name_key")
    op.execute("DROP FUNCTION IF EXISTS cimhouse_estate_key(text, text[])")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
