"""outbound deliveries and change-feed webhooks: delivery, webhook; job status dead_letter

- ``delivery``: one signed POST per ``job`` row of kind ``delivery`` (the body, the encrypted
  signing secret, attempts and the last error); retried with back-off by the job queue.
- ``webhook``: a change-feed subscriber (URL, scope, kinds, encrypted secret, cursor, the
  delivery in flight).
- ``job.status`` / ``import_run.status`` admit ``dead_letter`` (both check ``RunStatus``): a
  delivery that failed its last attempt, kept so that ``cimhouse jobs retry`` can send it again.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'queued', 'running', 'succeeded', 'failed', 'cancelled'"
NEW_STATUSES = OLD_STATUSES + ", 'dead_letter'"


def _status_check(statuses: str) -> None:
    for table in ("job", "import_run"):
        op.drop_constraint(op.f(f"ck_{table}_status"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_status"), table,
                                   f"status IN ({statuses})")


def upgrade() -> None:
    _status_check(NEW_STATUSES)
    op.create_table(
        "delivery",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="8", nullable=False),
        sa.Column("base_delay_s", sa.Float(), server_default="10", nullable=False),
        sa.Column("on_delivered", sa.Text(), nullable=True),
        sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_delivery_job_id_job"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_delivery")),
    )
    op.create_table(
        "webhook",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("scope_code", sa.String(length=25), nullable=False),
        sa.Column("kinds", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("with_persons", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("batch_size", sa.Integer(), server_default="100", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="8", nullable=False),
        sa.Column("base_delay_s", sa.Float(), server_default="10", nullable=False),
        sa.Column("pending_job_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("last_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["pending_job_id"], ["job.id"],
                                name=op.f("fk_webhook_pending_job_id_job"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )


def downgrade() -> None:
    op.drop_table("webhook")
    op.drop_table("delivery")
    op.execute("UPDATE job SET status = 'failed' WHERE status = 'dead_letter'")
    _status_check(OLD_STATUSES)
