"""merge the coding (0002) and register (0004) branches into one head

Revision ID: 0005
Revises: 0002, 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0002", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the two branches touch different tables."""


def downgrade() -> None:
    """Nothing to change: downgrading past this point splits into the two branches again."""
