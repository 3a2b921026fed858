"""households (户) and their dated members

- ``household``: number (户号) unique per county, kind (户别), registered house.
- ``household_member``: person, relation to the head (与户主关系), valid_from/valid_to;
  one current membership per person and one current head per household (partial unique
  indexes, county-keyed for Citus).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAMPS = (
    ("created_at", sa.DateTime(timezone=True), sa.text("now()")),
    ("updated_at", sa.DateTime(timezone=True), sa.text("now()")),
)


def _stamps() -> list[sa.Column[object]]:
    return [*(sa.Column(name, kind, server_default=default, nullable=False)
              for name, kind, default in _STAMPS),
            sa.Column("version", sa.Integer(), server_default="1", nullable=False)]


def upgrade() -> None:
    op.create_table(
        "household",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("house_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        *_stamps(),
        sa.CheckConstraint("kind IN ('family', 'collective')", name=op.f("ck_household_kind")),
        sa.ForeignKeyConstraint(["county", "house_id"], ["house.county", "house.id"],
                                name=op.f("fk_household_county_house_id_house")),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_household")),
        sa.UniqueConstraint("county", "number", name=op.f("uq_household_county_number")),
    )
    op.create_index("ix_household_county_house_id", "household", ["county", "house_id"])
    op.create_table(
        "household_member",
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("import_run_id", sa.BigInteger(), nullable=True),
        *_stamps(),
        sa.CheckConstraint(
            "relation IN ('head', 'spouse', 'son', 'daughter', 'father', 'mother', "
            "'grandchild', 'sibling', 'other')", name=op.f("ck_household_member_relation")),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
                           name=op.f("ck_household_member_valid_range")),
        sa.ForeignKeyConstraint(["county", "household_id"],
                                ["household.county", "household.id"],
                                name=op.f("fk_household_member_county_household_id_household")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_household_member_person_id_person")),
        sa.PrimaryKeyConstraint("county", "id", name=op.f("pk_household_member")),
    )
    op.create_index("ix_household_member_county_household_id", "household_member",
                    ["county", "household_id"])
    op.create_index("ix_household_member_person_id", "household_member", ["person_id"])
    op.create_index("uq_household_member_current", "household_member", ["county", "person_id"],
                    unique=True, postgresql_where=sa.text("valid_to IS NULL"))
    op.create_index("uq_household_member_one_head", "household_member",
                    ["county", "household_id"], unique=True,
                    postgresql_where=sa.text("relation = 'head' AND valid_to IS NULL"))


def downgrade() -> None:
    op.drop_table("household_member")
    op.drop_table("household")
