"""time travel: index the valid-time columns of code_registry

``asOf`` keeps a house when its code was not retired by the end of D and hides its code
when it was issued after D (:mod:`cimhouse.timetravel.rewind_rows`). Without an index both
read the whole ``code_registry`` in every statement (a sequential scan per ``statistics``
figure, 1,000,000 rows at a million houses). ``ix_code_registry_retired`` holds only the
retired codes (few), with their retirement time; ``ix_code_registry_issued`` finds the codes
issued after D per county and kind.

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_code_registry_retired", "code_registry",
                    ["county", "code", "retired_at"], unique=False,
                    postgresql_where=sa.text("retired_at IS NOT NULL"))
    op.create_index("ix_code_registry_issued", "code_registry",
                    ["county", "object_kind", "issued_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_code_registry_issued", table_name="code_registry")
    op.drop_index("ix_code_registry_retired", table_name="code_registry")
