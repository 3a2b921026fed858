"""safety escalation: door-at-night and offline alerts, contacts, alert events, deliveries

- ``safety_alert``: two more kinds (``door_night``, ``offline``), ``escalation_level`` and
  ``ack_due_at`` (the acknowledgement deadline of the current step; a partial index finds
  the overdue ones).
- ``safety_contact``: who a community's alerts escalate to, by level; phones as ciphertext
  plus mask like ``person.phone``.
- ``safety_alert_event``: every step of an alert (opened, notified, escalated, ...).
- ``safety_delivery``: one message to one contact, sent by the job queue (a webhook's signed
  POST is a ``job`` of the delivery module: ``job_id``); and ``safety_notification``, the
  in-app channel's inbox.

All county-keyed (co-located with ``house`` on Citus); no triggers (Citus refuses them on
distributed tables): the application sends the NOTIFY the subscription listens to.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('gas', 'smoke', 'fall', 'sos', 'inactivity')"
NEW_KINDS = "kind IN ('gas', 'smoke', 'fall', 'sos', 'inactivity', 'door_night', 'offline')"


def _county_id() -> list[sa.Column[object]]:
    return [sa.Column("county", sa.String(length=6), nullable=False),
            sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False)]


def _created() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _updated() -> sa.Column[object]:
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _on_alert(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["county", "alert_id"], ["safety_alert.county",
                                                            "safety_alert.id"],
                                   name=op.f(f"fk_{table}_county_alert_id_safety_alert"))


def upgrade() -> None:
    op.drop_constraint(op.f("ck_safety_alert_kind"), "safety_alert", type_="check")
    op.create_check_constraint(op.f("ck_safety_alert_kind"), "safety_alert", NEW_KINDS)
    op.add_column("safety_alert", sa.Column("escalation_level", sa.SmallInteger(),
                                            server_default="0", nullable=False))
    op.add_column("safety_alert", sa.Column("ack_due_at", sa.DateTime(timezone=True),
                                            nullable=True))
    op.create_index("ix_safety_alert_ack_due_at", "safety_alert", ["ack_due_at"],
                    postgresql_where=sa.text("ack_due_at IS NOT NULL"))
    op.create_table(
        "safety_contact", *_county_id(),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("house_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.String(length=10), server_default="in_app", nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        _created(), _updated(),
        sa.CheckConstraint("role IN ('grid_worker', 'community_staff', 'family')",
                           name=op.f("ck_safety_contact_role")),
        sa.CheckConstraint("channel IN ('in_app', 'webhook')",
                           name=op.f("ck_safety_contact_channel")),
        sa.CheckConstraint("level BETWEEN 1 AND 9", name=op.f("ck_safety_contact_level")),
        sa.ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"],
                                name=op.f("fk_safety_contact_county_house_id_house")),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_safety_contact")),
    )
    op.create_index("ix_safety_contact_county_region_code", "safety_contact",
                    ["county", "region_code"])
    op.create_table(
        "safety_alert_event", *_county_id(),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        _created(),
        sa.CheckConstraint("kind IN ('opened', 'notified', 'delivered', 'delivery_failed', "
                           "'escalated', 'exhausted', 'acknowledged', 'resolved')",
                           name=op.f("ck_safety_alert_event_kind")),
        _on_alert("safety_alert_event"),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_safety_alert_event")),
    )
    op.create_index("ix_safety_alert_event_county_alert_id", "safety_alert_event",
                    ["county", "alert_id"])
    op.create_table(
        "safety_delivery", *_county_id(),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        _created(), _updated(),
        sa.CheckConstraint("channel IN ('in_app', 'webhook')",
                           name=op.f("ck_safety_delivery_channel")),
        sa.CheckConstraint("status IN ('queued', 'sent', 'delivered', 'failed')",
                           name=op.f("ck_safety_delivery_status")),
        _on_alert("safety_delivery"),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_safety_delivery")),
    )
    op.create_index("ix_safety_delivery_county_alert_id", "safety_delivery",
                    ["county", "alert_id"])
    op.create_table(
        "safety_notification", *_county_id(),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        _on_alert("safety_notification"),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_safety_notification")),
        sa.UniqueConstraint("county", "delivery_id",
                            name=op.f("uq_safety_notification_county_delivery_id")),
    )
    op.create_index("ix_safety_notification_county_contact_id", "safety_notification",
                    ["county", "contact_id"])


def downgrade() -> None:
    op.drop_table("safety_notification")
    op.drop_table("safety_delivery")
    op.drop_table("safety_alert_event")
    op.drop_table("safety_contact")
    op.drop_index("ix_safety_alert_ack_due_at", table_name="safety_alert")
    op.drop_column("safety_alert", "ack_due_at")
    op.drop_column("safety_alert", "escalation_level")
    op.execute("DELETE FROM safety_alert WHERE kind IN ('door_night', 'offline')")
    op.drop_constraint(op.f("ck_safety_alert_kind"), "safety_alert", type_="check")
    op.create_check_constraint(op.f("ck_safety_alert_kind"), "safety_alert", OLD_KINDS)
