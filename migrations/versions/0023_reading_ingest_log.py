"""reading ingestion log: counts per county/source/day and refused readings

- ``reading_ingest_count``: the counts of every batch (received, stored, malformed, unknown
  device, duplicate, out of order) per county, source (mqtt/http) and UTC day,
  added in the batch's own transaction.
- ``reading_reject``: refused readings with a reason code, the reason in Chinese / English,
  the topic and the start of the payload.

Both county-keyed (distributed by county on Citus, co-located with ``house``).

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("received", "stored", "malformed", "unknown_device", "duplicate", "out_of_order")


def upgrade() -> None:
    op.create_table(
        "reading_ingest_count",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)
          for name in COUNTS],
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("county", "source", "day", name=op.f("pk_reading_ingest_count")),
    )
    op.create_table(
        "reading_reject",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("device", sa.Text(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_reading_reject")),
    )
    op.create_index("ix_reading_reject_county_received_at", "reading_reject",
                    ["county", "received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("reading_reject")
    op.drop_table("reading_ingest_count")
