"""house: a location point column (register coordinates), moved out of attributes

Register imports kept a row's coordinates as ``attributes -> 'location'`` ([lon, lat]);
a PostGIS point column with a GiST index makes them usable in spatial queries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("house", sa.Column("location", Geometry(
        geometry_type="POINT", srid=4490, dimension=2, spatial_index=False,
        from_text="ST_GeomFromEWKT", name="geometry"), nullable=True))
    op.execute("""
        UPDATE house SET location = ST_SetSRID(ST_MakePoint(
                   (attributes -> 'location' ->> 0)::float8,
                   (attributes -> 'location' ->> 1)::float8), 4490),
               attributes = attributes - 'location'
        WHERE jsonb_typeof(attributes -> 'location') = 'array'""")
    op.create_geospatial_index("idx_house_location", "house", ["location"], unique=False,
                               postgresql_using="gist", postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index("idx_house_location", table_name="house",
                             postgresql_using="gist", column_name="location")
    # The JSON is written as text from IMMUTABLE parts: Citus refuses STABLE functions
    # (jsonb_build_*, to_jsonb) with column references in a distributed UPDATE.
    op.execute("""
        UPDATE house SET attributes = attributes || CAST(
                   '{"location": [' || CAST(ST_X(location) AS text) || ', '
                   || CAST(ST_Y(location) AS text) || ']}' AS jsonb)
        WHERE location IS NOT NULL""")
    op.drop_column("house", "location")
