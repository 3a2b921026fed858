"""safety devices: device, device_reading (monthly partitions, BRIN on time), safety_alert

- ``device``: a sensor at a house, county-keyed like ``house``; ``uid`` is the gateway's id.
- ``device_reading``: partitioned by range of ``ts``, one partition per month, named
  ``device_reading_YYYYMM``; created ahead by ``cimhouse_reading_partition(month)`` (the
  ingester calls it for a month it has not seen, retention drops whole partitions). The
  primary key (county, device_id, metric, ts) makes a repeated reading a no-op
  (``ON CONFLICT DO NOTHING``). BRIN on ``ts``: readings arrive roughly in time order.
- ``safety_alert``: one active (not resolved) alert per house and kind (partial unique index).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITION_FUNCTION = r"""
CREATE OR REPLACE FUNCTION cimhouse_reading_partition(month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'device_reading_' || to_char(first, 'YYYYMM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF device_reading '
                       'FOR VALUES FROM (%L) TO (%L)', name, first,
                       (first + interval '1 month')::date);
    END IF;
    RETURN name;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("house_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("battery_pct", sa.SmallInteger(), nullable=True),
        sa.Column("heartbeat_s", sa.Integer(), server_default="3600", nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("kind IN ('gas', 'smoke', 'door', 'motion', 'wearable', "
                           "'water_meter', 'electricity_meter')", name=op.f("ck_device_kind")),
        sa.CheckConstraint("status IN ('active', 'inactive', 'faulty')",
                           name=op.f("ck_device_status")),
        sa.CheckConstraint("battery_pct BETWEEN 0 AND 100", name=op.f("ck_device_battery_pct")),
        sa.ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"],
                                name=op.f("fk_device_county_house_id_house")),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_device")),
        sa.UniqueConstraint("county", "uid", name=op.f("uq_device_county_uid")),
    )
    op.create_index("ix_device_uid", "device", ["uid"], unique=False)
    op.create_index("ix_device_county_house_id", "device", ["county", "house_id"], unique=False)
    op.execute("""
        CREATE TABLE device_reading (
            county varchar(6) NOT NULL,
            device_id bigint NOT NULL,
            metric varchar(20) NOT NULL,
            ts timestamptz NOT NULL,
            value double precision NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_device_reading PRIMARY KEY (county, device_id, metric, ts)
        ) PARTITION BY RANGE (ts)""")
    op.execute("CREATE INDEX ix_device_reading_ts ON device_reading USING brin (ts)")
    op.execute(PARTITION_FUNCTION)
    op.create_table(
        "safety_alert",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=14), server_default="open", nullable=False),
        sa.Column("house_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("device_id", sa.BigInteger(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_evidence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurrences", sa.Integer(), server_default="1", nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("kind IN ('gas', 'smoke', 'fall', 'sos', 'inactivity')",
                           name=op.f("ck_safety_alert_kind")),
        sa.CheckConstraint("severity IN ('critical', 'high', 'medium')",
                           name=op.f("ck_safety_alert_severity")),
        sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved', 'escalated')",
                           name=op.f("ck_safety_alert_state")),
        sa.ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"],
                                name=op.f("fk_safety_alert_county_house_id_house")),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_safety_alert")),
    )
    op.create_index("uq_safety_alert_county_house_id_kind_active", "safety_alert",
                    ["county", "house_id", "kind"], unique=True,
                    postgresql_where=sa.text("state <> 'resolved'"))
    op.create_index("ix_safety_alert_county_state_opened_at", "safety_alert",
                    ["county", "state", "opened_at"], unique=False)


def downgrade() -> None:
    op.drop_table("safety_alert")
    op.execute("DROP FUNCTION IF EXISTS cimhouse_reading_partition(date)")
    op.execute("DROP TABLE IF EXISTS device_reading")
    op.drop_table("device")
