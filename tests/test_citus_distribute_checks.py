"""On Citus: ``cimhouse db distribute`` reruns safely and refuses a distribution that
differs from its plan; what it leaves local is what docs/architecture.md says."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from cimhouse.db.distribute import distribute
from cimhouse.errors import ConfigurationError
from tests.helpers.database import citus_only

pytestmark = citus_only("checks the Citus distribution (make test-citus)")

LOCAL = ["alembic_version", "procrastinate_events", "procrastinate_jobs",
         "procrastinate_periodic_defers", "procrastinate_workers", "spatial_ref_sys"]


def test_rerun_skips_everything_and_lists_the_local_tables(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as conn:
        first = distribute(conn)
        second = distribute(conn)
    assert first.created == second.created == []
    assert first.skipped == second.skipped
    assert second.local == LOCAL


def test_a_table_out_of_the_county_colocation_group_is_refused(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as conn:
        # metadata only (undistribute_table refuses identity columns)
        conn.execute(text("SELECT update_distributed_table_colocation('change_log', "
                          "colocate_with => 'none')"))
        conn.commit()
        with pytest.raises(ConfigurationError, match="change_log"):
            distribute(conn)
