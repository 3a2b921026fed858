"""house: partial indexes on ifc_global_id and realestate_unit_no

Most houses (register imports) carry neither an IFC GlobalId nor a 不动产单元号. As partial
indexes they take no entry for such rows, so the non-HOT update that writes a house code
touches five indexes instead of seven.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("uq_house_county_ifc_global_id", "house", type_="unique")
    op.create_index("uq_house_county_ifc_global_id", "house", ["county", "ifc_global_id"],
                    unique=True, postgresql_where="ifc_global_id IS NOT NULL")
    op.drop_index("ix_house_county_realestate_unit_no", table_name="house")
    op.create_index("ix_house_county_realestate_unit_no", "house",
                    ["county", "realestate_unit_no"],
                    postgresql_where="realestate_unit_no IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_house_county_realestate_unit_no", table_name="house")
    op.create_index("ix_house_county_realestate_unit_no", "house",
                    ["county", "realestate_unit_no"])
    op.drop_index("uq_house_county_ifc_global_id", table_name="house")
    op.create_unique_constraint("uq_house_county_ifc_global_id", "house",
                                ["county", "ifc_global_id"])
