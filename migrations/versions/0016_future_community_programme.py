"""future community programme: projects, their communities and estates, gap projects, surveys

- ``future_project`` (a reference table on Citus): the 未来社区 creation projects with the date
  of every lifecycle step; ``future_project_region`` the communities they cover (reference).
- ``future_project_estate`` (county-keyed, co-located with ``estate``): the estates they cover.
- ``gap_project`` (county-keyed): gap-filling (补短板) projects, linked to the facility built.
- ``service_index_survey`` (county-keyed): the service index per community per survey date.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence


import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql
revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table('future_project',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('themes', sa.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('scenarios', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=True),
    sa.Column('lead_street', sa.String(length=12), nullable=False),
    sa.Column('investment_10k', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('area_m2', sa.Numeric(precision=14, scale=1), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('reserve_on', sa.Date(), nullable=True),
    sa.Column('declared_on', sa.Date(), nullable=True),
    sa.Column('listed_on', sa.Date(), nullable=True),
    sa.Column('under_construction_on', sa.Date(), nullable=True),
    sa.Column('acceptance_applied_on', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('new_build', 'renovation', 'inclusive', 'demolition_rebuild', 'rural')", name=op.f('ck_future_project_kind')),
    sa.CheckConstraint("level IN ('provincial', 'municipal')", name=op.f('ck_future_project_level')),
    sa.CheckConstraint("status IN ('reserve', 'declared', 'listed', 'under_construction', 'acceptance_applied', 'accepted')", name=op.f('ck_future_project_status')),
    sa.ForeignKeyConstraint(['lead_street'], ['region.code'], name=op.f('fk_future_project_lead_street_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_future_project')),
    sa.UniqueConstraint('external_id', name=op.f('uq_future_project_external_id')),
    sa.UniqueConstraint('lead_street', 'name', name=op.f('uq_future_project_lead_street_name'))
    )
    op.create_index('ix_future_project_level_status', 'future_project', ['level', 'status'], unique=False)
    op.create_table('service_index_survey',
    sa.Column('county', sa.String(length=6), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('survey_date', sa.Date(), nullable=False),
    sa.Column('index', sa.Float(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('estates', sa.Integer(), nullable=False),
    sa.Column('components', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_service_index_survey_region_code_region')),
    sa.PrimaryKeyConstraint('county', 'region_code', 'survey_date', name=op.f('pk_service_index_survey'))
    )
    op.create_table('future_project_estate',
    sa.Column('county', sa.String(length=6), nullable=False),
    sa.Column('project_id', sa.BigInteger(), nullable=False),
    sa.Column('estate_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['county', 'estate_id'], ['estate.county', 'estate.id'], name=op.f('fk_future_project_estate_county_estate_id_estate')),
    sa.ForeignKeyConstraint(['project_id'], ['future_project.id'], name=op.f('fk_future_project_estate_project_id_future_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('county', 'project_id', 'estate_id', name=op.f('pk_future_project_estate'))
    )
    op.create_index('ix_future_project_estate_project_id', 'future_project_estate', ['project_id'], unique=False)
    op.create_table('future_project_region',
    sa.Column('project_id', sa.BigInteger(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['future_project.id'], name=op.f('fk_future_project_region_project_id_future_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_future_project_region_region_code_region')),
    sa.PrimaryKeyConstraint('project_id', 'region_code', name=op.f('pk_future_project_region'))
    )
    op.create_index('ix_future_project_region_region_code', 'future_project_region', ['region_code'], unique=False)
    op.create_table('gap_project',
    sa.Column('county', sa.String(length=6), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('estate_id', sa.BigInteger(), nullable=True),
    sa.Column('planned_capacity', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('facility_id', sa.BigInteger(), nullable=True),
    sa.Column('affected', sa.Integer(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('under_construction_on', sa.Date(), nullable=True),
    sa.Column('in_use_on', sa.Date(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('education', 'medical', 'elderly_care', 'childcare', 'sports', 'culture', 'transport', 'commerce', 'property_service', 'security', 'governance')", name=op.f('ck_gap_project_category')),
    sa.CheckConstraint("status IN ('planned', 'under_construction', 'in_use')", name=op.f('ck_gap_project_status')),
    sa.ForeignKeyConstraint(['county', 'estate_id'], ['estate.county', 'estate.id'], name=op.f('fk_gap_project_county_estate_id_estate')),
    sa.ForeignKeyConstraint(['county', 'facility_id'], ['facility.county', 'facility.id'], name=op.f('fk_gap_project_county_facility_id_facility')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_gap_project_region_code_region')),
    sa.PrimaryKeyConstraint('county', 'id', name=op.f('pk_gap_project'))
    )
    op.create_index('ix_gap_project_region_code_category', 'gap_project', ['region_code', 'category'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_gap_project_region_code_category', table_name='gap_project')
    op.drop_table('gap_project')
    op.drop_index('ix_future_project_region_region_code', table_name='future_project_region')
    op.drop_table('future_project_region')
    op.drop_index('ix_future_project_estate_project_id', table_name='future_project_estate')
    op.drop_table('future_project_estate')
    op.drop_table('service_index_survey')
    op.drop_index('ix_future_project_level_status', table_name='future_project')
    op.drop_geospatial_table('future_project')
