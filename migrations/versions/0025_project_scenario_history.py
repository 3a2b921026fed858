"""future-community project scenarios with the date of every state (history)

- ``future_project_scenario`` (a reference table on Citus, like ``future_project``): one row
  per project, scenario and state reached, with the date it was reached (``since``; null: the
  state is known but not when). A scenario's state on a date is the last state reached on or
  before it, so progress "as of" a date counts the scenarios delivered on that date.
- The JSONB column ``future_project.scenarios`` (the current state only) moves there: each
  state becomes an undated row; downgrade rebuilds the column from the last state.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCENARIOS = ("neighbourhood", "education", "health", "entrepreneurship", "building",
             "transport", "low_carbon", "service", "governance")
STATES = ("planned", "in_progress", "delivered")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "future_project_scenario",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("scenario", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.CheckConstraint(_in("scenario", SCENARIOS),
                           name=op.f("ck_future_project_scenario_scenario")),
        sa.CheckConstraint(_in("state", STATES), name=op.f("ck_future_project_scenario_state")),
        sa.ForeignKeyConstraint(["project_id"], ["future_project.id"],
                                name=op.f("fk_future_project_scenario_project_id_future_project"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "scenario", "state",
                                name=op.f("pk_future_project_scenario")),
    )
    op.execute("INSERT INTO future_project_scenario (project_id, scenario, state) "
               "SELECT p.id, s.key, s.value FROM future_project p, "
               "jsonb_each_text(p.scenarios) s")
    op.drop_column("future_project", "scenarios")


def downgrade() -> None:
    op.add_column("future_project", sa.Column(
        "scenarios", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
        nullable=False))
    op.execute(f"""
        UPDATE future_project p SET scenarios = s.states
        FROM (SELECT project_id, jsonb_object_agg(scenario, state) AS states
              FROM (SELECT DISTINCT ON (project_id, scenario) project_id, scenario, state
                    FROM future_project_scenario
                    ORDER BY project_id, scenario,
                             array_position(ARRAY{list(STATES)!r}, state::text) DESC) last
              GROUP BY project_id) s
        WHERE s.project_id = p.id""")
    op.drop_table("future_project_scenario")
