"""register import: free attributes on person-house relations

Unknown register columns are kept per row, and a row is one person-house relation, so the
relation carries them.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('person_house', sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()),
                                            server_default='{}', nullable=False))


def downgrade() -> None:
    op.drop_column('person_house', 'attributes')
