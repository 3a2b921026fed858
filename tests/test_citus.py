"""On Citus (``make test-citus``): the distribution itself and single-shard routing.

The rest of the suite runs unchanged on the distributed schema; these tests check what only
exists there: ``cimhouse db distribute`` is complete and idempotent, and county-scoped reads
touch one shard (EXPLAIN shows one task).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from cimhouse.coding.house_code import encode
from cimhouse.db.distribute import DISTRIBUTED_TABLES, REFERENCE_TABLES, distribute
from cimhouse.graphql.codes import scoped_registry
from cimhouse.importers.register.import_register import import_register
from cimhouse.schema import CodeRegistry, House
from cimhouse.scope import code_county_keys, parse_scope, scope_filter, with_county_keys
from tests.helpers.citus_plans import explain_recorded, record
from tests.helpers.database import citus_only
from tests.helpers.keys import VAULT
from tests.helpers.register_rows import ID_A, ID_B, ID_C, write_csv

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


#: a register of two counties (南湖区 330402, 秀洲区 330411), persons of both
_TWO_COUNTIES = [
    ["南湖区百福弄社区梅花苑三栋二单元五〇一室", "王芳", ID_A, "13812345678", "产权", "88.5",
     "住宅", "汉"],
    ["南湖区百福弄社区梅花苑三栋二单元五〇一室", "李强", ID_B, "", "常住", "88.5", "住宅", "汉"],
    ["秀洲区亚都社区春华苑一栋一单元一〇一室", "赵小宝", ID_C, "", "产权", "70", "住宅", ""],
]
_FAN_OUT_TABLES = tuple(table for table, _column in DISTRIBUTED_TABLES)


def _county_shards(engine: Engine, counties: tuple[str, ...]) -> tuple[int, int]:
    """(shards of these counties' houses, shards of the table)."""
    with engine.connect() as conn:
        mine = conn.execute(text(
            "SELECT count(DISTINCT get_shard_id_for_distribution_column('house', c)) "
            "FROM unnest(CAST(:c AS text[])) AS c"), {"c": list(counties)}).scalar_one()
        total = conn.execute(text(
            "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'house'::regclass")
        ).scalar_one()
    return int(mine), int(total)


def test_the_register_import_touches_only_its_counties_shards(
        session: Session, engine: Engine, tmp_path: Path) -> None:
    # Every statement of a re-import (the update path: stored conflicts, matches, house and
    # relation updates) that reads a distributed table, EXPLAINed with its own parameters:
    # no task beyond the shards of the file's two counties. Before the county predicate the
    # joins of the staged rows to house, person_house, building, ... ran on every shard.
    path = write_csv(tmp_path / "two.csv", _TWO_COUNTIES)
    import_register(session, path, vault=VAULT)
    recording = record(session, lambda: import_register(session, path, vault=VAULT))
    mine, total = _county_shards(engine, ("330402", "330411"))
    assert mine < total
    explained = explain_recorded(engine, recording, _FAN_OUT_TABLES)
    # the three statements that took 20-130 s each at 1,000,000 rows (docs/architecture.md)
    for start in ("WITH matched AS", "WITH changed AS ( UPDATE person_house", "UPDATE house SET"):
        assert any(e.short().startswith(start) for e in explained), start
    # read before the file, for the validator: every estate's spellings (a small table)
    before_the_file = "SELECT estate.name, estate.aliases, estate.region_code FROM estate"
    fanning = [(e.short(), e.tasks) for e in explained
               if any(n > mine for n in e.tasks) and e.short() != before_the_file]
    assert fanning == [], "\n".join(f"{tasks} {sql}" for sql, tasks in fanning)
