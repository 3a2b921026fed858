"""change feed: a commit-ordered sequence over change_log and code_lineage

- ``change_log.seq`` / ``code_lineage.seq``: the feed position, NULL until the stamper
  (:mod:`cimhouse.feed.stamp_changes`) numbers the row after its transaction committed.
  ``feed_region`` / ``feed_estate`` hold the object's community and estate code at that
  moment: the scope of a feed entry, fixed when it is numbered.
- Partial indexes ``(county, id) WHERE seq IS NULL`` find what is left to number; indexes on
  ``seq`` serve the readers.
- ``change_feed_mark``: one row, the highest position whose rows are all committed on every
  node; readers never go past it (see docs/feed.md).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FED_TABLES = ("change_log", "code_lineage")
TIME_COLUMN = {"change_log": "changed_at", "code_lineage": "recorded_at"}


def upgrade() -> None:
    for table in FED_TABLES:
        op.add_column(table, sa.Column("seq", sa.BigInteger(), nullable=True))
        op.add_column(table, sa.Column("feed_region", sa.String(length=12), nullable=True))
        op.add_column(table, sa.Column("feed_estate", sa.String(length=25), nullable=True))
        op.create_index(f"ix_{table}_seq", table, ["seq"], unique=False)
        op.create_index(f"ix_{table}_unfed", table, ["county", TIME_COLUMN[table], "id"],
                        unique=False, postgresql_where=sa.text("seq IS NULL"))
    op.create_table(
        "change_feed_mark",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("stamped_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_change_feed_mark_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_feed_mark")),
    )
    op.execute("INSERT INTO change_feed_mark (id, last_seq) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("change_feed_mark")
    for table in FED_TABLES:
        op.drop_index(f"ix_{table}_unfed", table_name=table)
        op.drop_index(f"ix_{table}_seq", table_name=table)
        op.drop_column(table, "feed_estate")
        op.drop_column(table, "feed_region")
        op.drop_column(table, "seq")
