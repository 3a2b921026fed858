"""time travel: find the changes recorded after a day D, per county and kind

``asOf`` rewinds rows by the ``change_log`` entries recorded after D that carry previous
values (:mod:`cimhouse.timetravel.rewind_rows`). ``ix_change_log_rewind`` on
``(county, object_kind, changed_at)``, partial on ``jsonb_typeof(previous) = 'object'``
(inserts carry no previous values), reads exactly those rows, one shard per county on
Citus. No new table and no new column: the valid time of objects is their ``created_at``,
their status then and the retirement date of their code; relations and memberships carry
``valid_from``/``valid_to`` already.

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_change_log_rewind", "change_log",
                    ["county", "object_kind", "changed_at"], unique=False,
                    postgresql_where=sa.text("jsonb_typeof(previous) = 'object'"))


def downgrade() -> None:
    op.drop_index("ix_change_log_rewind", table_name="change_log")
