"""estate, building, house: (region_code, county, id) indexes for scoped, ordered lists

Scoped lists filter on ``region_code`` (a community scope or ``regionCode`` filter is an
equality, a wider scope a range) and page in ``(county, id)`` order. With an index on
``region_code`` alone, PostgreSQL had two bad choices for "the first 50 houses of a
community": walk ``pk_house`` in order and discard every house of other communities (up to
800,000 rows at 1M houses, 116-155 ms), or fetch the whole community and sort it. With
``(region_code, county, id)`` an equality on ``region_code`` yields rows already in page
order, so the page stops after 51 index entries (0.4 ms). The new index replaces the old
one: it serves every lookup the old one did (its leading column), and a table keeps the
same number of indexes to maintain on writes.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("estate", "building", "house")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_region_code_county_id", table,
                        ["region_code", "county", "id"], unique=False)
        op.drop_index(f"ix_{table}_region_code", table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_region_code", table, ["region_code"], unique=False)
        op.drop_index(f"ix_{table}_region_code_county_id", table_name=table)
