"""On Citus (``make test-citus``): the distribution itself and single-shard routing.

The rest of the suite runs unchanged on the distributed schema; these tests check what only
exists there: ``cimhouse db distribute`` is complete and idempotent, and county-scoped reads
touch one shard (EXPLAIN shows one task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from cimhouse.coding.house_code import encode
from cimhouse.db.distribute import DISTRIBUTED_TABLES, REFERENCE_TABLES, distribute
from cimhouse.graphql.codes import scoped_registry
from cimhouse.schema import CodeRegistry, House
from cimhouse.scope import code_county_keys, parse_scope, scope_filter, with_county_keys
from tests.helpers.database import citus_only

pytestmark = citus_only("checks the Citus distribution (make test-citus)")


def explain(session: Session, statement: Any) -> str:
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    return "\n".join(session.execute(text(f"EXPLAIN {compiled}")).scalars())


def test_distribute_is_complete_and_idempotent(engine: Engine) -> None:
    with engine.connect() as conn:
        report = distribute(conn)
        kinds: dict[str, str] = dict(conn.execute(text(
            "SELECT logicalrelid::regclass::text, partmethod::text FROM pg_dist_partition")
        ).all())
        colocated = conn.execute(text(
            "SELECT count(DISTINCT colocationid) FROM pg_dist_partition "
            "WHERE logicalrelid::regclass::text = ANY(:t)"),
            {"t": [t for t, _ in DISTRIBUTED_TABLES]}).scalar()
    assert report.created == []
    assert report.workers == 2
    assert report.citus_version.startswith("13.0")
    assert all(kinds[t] == "n" for t in REFERENCE_TABLES)
    assert all(kinds[t] == "h" for t, _ in DISTRIBUTED_TABLES)
    assert kinds["audit_log"] == "h"
    assert colocated == 1


def test_county_scoped_house_list_touches_one_shard(session: Session) -> None:
    # scopes resolved first: Citus refuses a local read of a reference table (job) after an
    # EXPLAIN that went to a worker, in the same transaction
    county, community, city = (with_county_keys(session, parse_scope(code))
                               for code in ("330402", "330402007024", "3304"))
    assert county.county_keys == community.county_keys == ("330402",)
    plan = explain(session, select(House.id).where(scope_filter(House, county)))
    assert "Task Count: 1" in plan, plan
    plan = explain(session, select(House.id).where(scope_filter(House, community)))
    assert "Task Count: 1" in plan, plan
    plan = explain(session, select(House.id).where(scope_filter(House, city)))
    assert "Task Count: 1" not in plan  # a city fans out


def test_code_lookup_touches_one_shard(session: Session) -> None:
    code = "330402007024001000100010X"
    keys = code_county_keys(session, [code])
    assert keys == ("330402",)
    plan = explain(session, select(CodeRegistry).where(CodeRegistry.county.in_(keys),
                                                       CodeRegistry.code == code))
    assert "Task Count: 1" in plan, plan


def sent_statements(session: Session, run: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters) that ``run`` sends on the session's
    connection."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return sent


def test_the_code_lookup_sends_one_shard_statements(session: Session) -> None:
    # the statements the GraphQL codeLookup resolver sends (cimhouse.graphql.codes), not a
    # look-alike: EXPLAINed with their own parameters
    county = with_county_keys(session, parse_scope("330402"))
    code = encode("330402007024", 1, 1, 1)
    sent = sent_statements(session, lambda: scoped_registry(session, county, [code]))
    lookups = [(sql, parameters) for sql, parameters in sent if "code_registry" in sql]
    assert len(lookups) == 1, sent
    for sql, parameters in lookups:
        plan = "\n".join(str(row[0]) for row in
                         session.connection().exec_driver_sql(f"EXPLAIN {sql}", parameters))
        assert "Task Count: 1" in plan, plan
