"""Give every uncoded estate, building and house in a scope its house code, set-based.

What a run does, inside the caller's transaction:

1. Collects the candidates: uncoded estates, buildings and houses in the scope, plus the
   uncoded estate of a candidate building and the uncoded building of a candidate house
   (a house code contains its building's code, a building code its estate's). House numbers
   are handed out per building, so a run codes *every* uncoded house of a building it touches.
2. Locks the county namespaces it will issue in (:mod:`cimhouse.coding.namespace`), then
   drops candidates that a concurrent job coded meanwhile: two jobs on overlapping scopes
   serialise per county and never issue the same code, and neither fails.
3. Numbers estates, then buildings, then houses (the last in batches of ~100,000, reporting
   progress) with window functions in the order of :mod:`cimhouse.coding.ordering`,
   continuing each prefix's counter; writes the code onto the object, into
   ``code_registry`` and ``code_lineage`` (event ``issue``) and advances ``code_counter``.
4. Records the job (who, scope, counts, timing, outcome) in ``job``.

Nothing is committed here: a run killed at any point leaves nothing behind (the edge's
transaction rolls back), and the rerun codes everything. A second run issues nothing.

Example::

    with session_scope(engine) as session:
        result = assign_codes(session, "330402007024", actor="alice")
    result.houses, result.job_id      # (1200, 17)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select, text, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from cimhouse.coding import ordering
from cimhouse.coding.namespace import (
    NUMBER_FIELD,
    check_char_sql,
    digits_sum_sql,
    lock_counties,
    number_sum_sql,
    require_read_committed,
)
from cimhouse.errors import Conflict, NotFound
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, House, Job
from cimhouse.schema.vocab import ObjectKind, RunStatus
from cimhouse.scope import Scope, parse_scope, scope_filter, with_county_keys

JOB_KIND = "code_assignment"
HOUSE_BATCH = 100_000
#: ``on_progress(stage, done, total)``: stage is "estates", "buildings" or "houses"
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class AssignResult:
    """Counts of codes issued by one run (would be issued, for a dry run)."""

    scope: str
    dry_run: bool
    job_id: int | None = None
    estates: int = 0
    buildings: int = 0
    houses: int = 0
    counties: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def issued(self) -> int:
        return self.estates + self.buildings + self.houses

    def as_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "scope": self.scope, "dry_run": self.dry_run,
                "estates": self.estates, "buildings": self.buildings, "houses": self.houses,
                "issued": self.issued, "counties": self.counties,
                "seconds": round(self.seconds, 3)}


def _sql(statement: Any) -> str:
    """Render a Core statement with its (digit-only) literals for use inside raw SQL."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _run(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params)


def _collect_candidates(session: Session, scope: Scope) -> None:
    house_in_scope = select(House.county, House.building_id).where(
        House.code.is_(None), scope_filter(House, scope))
    uncoded_house = aliased(House)
    building_with_uncoded = select(Building.county, Building.id).where(
        scope_filter(Building, scope),
        exists(select(1).where(uncoded_house.county == Building.county,
                               uncoded_house.building_id == Building.id,
                               uncoded_house.code.is_(None))))
    _run(session, "DROP TABLE IF EXISTS cand_house_building, cand_building, cand_estate")
    _run(session, "CREATE TEMP TABLE cand_house_building ON COMMIT DROP AS "
                  + _sql(union(house_in_scope, building_with_uncoded)))
    _run(session, "ALTER TABLE cand_house_building ADD PRIMARY KEY (county, building_id)")
    _run(session, "ANALYZE cand_house_building")
    building_in_scope = select(Building.county, Building.id).where(
        Building.code.is_(None), scope_filter(Building, scope))
    _run(session, f"""
        CREATE TEMP TABLE cand_building ON COMMIT DROP AS
        {_sql(building_in_scope)}
        UNION
        SELECT b.county, b.id FROM building b
        JOIN cand_house_building c ON c.county = b.county AND c.building_id = b.id
        WHERE b.code IS NULL""")
    estate_in_scope = select(Estate.county, Estate.id).where(
        Estate.code.is_(None), scope_filter(Estate, scope))
    # An uncorrelated IN over the candidates: Citus refuses EXISTS on local tables here.
    _run(session, f"""
        CREATE TEMP TABLE cand_estate ON COMMIT DROP AS
        {_sql(estate_in_scope)}
        UNION
        SELECT e.county, e.id FROM estate e
        JOIN building b ON b.county = e.county AND b.estate_id = e.id
        WHERE e.code IS NULL AND (b.county, b.id) IN (
            SELECT county, id FROM cand_building
            UNION SELECT county, building_id FROM cand_house_building)""")


def _namespaces(session: Session) -> list[str]:
    """Counties (first 6 digits of the codes to be issued) the run will write under."""
    rows = _run(session, """
        SELECT left(e.region_code, 6) FROM cand_estate c
        JOIN estate e ON e.county = c.county AND e.id = c.id
        UNION
        SELECT left(coalesce(e.code, e.region_code, b.region_code), 6)
        FROM building b LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE (b.county, b.id) IN (SELECT county, id FROM cand_building
                                   UNION SELECT county, building_id FROM cand_house_building)
    """)  # an uncorrelated IN, as in _candidates (Citus)
    return [row[0] for row in rows]


def _drop_coded_meanwhile(session: Session) -> None:
    """After waiting for the locks: forget candidates a concurrent job has coded."""
    _run(session, "DELETE FROM cand_estate c USING estate e "
                  "WHERE e.county = c.county AND e.id = c.id AND e.code IS NOT NULL")
    _run(session, "DELETE FROM cand_building c USING building b "
                  "WHERE b.county = c.county AND b.id = c.id AND b.code IS NOT NULL")


def _write_codes_sql(kind: ObjectKind, coded_sql: str) -> str:
    """One statement: set the codes of ``coded_sql`` (county, id, code) on the objects and
    add them to code_registry and code_lineage; its row count is the number issued."""
    return f"""
        WITH coded AS ({coded_sql}),
        updated AS (
            UPDATE {kind.value} t SET code = c.code, updated_at = now() FROM coded c
            WHERE t.county = c.county AND t.id = c.id AND t.code IS NULL
            RETURNING t.county, t.id, t.code),
        registered AS (
            INSERT INTO code_registry (county, code, object_kind, object_id, status,
                                       issued_by, job_id)
            SELECT county, code, '{kind.value}', id, 'active', :actor, :job FROM updated
            RETURNING county, code)
        INSERT INTO code_lineage (county, event, child_code, actor, job_id)
        SELECT county, 'issue', code, :actor, :job FROM registered"""


def _plan(session: Session, *, plan: str, groups_sql: str, prefix_length: int,
          kind: ObjectKind) -> None:
    """Create ``plan`` (group key..., prefix, n, base, prefix_sum, batch) from ``groups_sql``
    (group key..., prefix, n): the numbers already used under each prefix, checked against
    the capacity of the number field before anything is written."""
    width, top = NUMBER_FIELD[prefix_length]
    _run(session, f"DROP TABLE IF EXISTS {plan}")
    # Joins on the distinct prefixes, not per-row subqueries: Citus cannot correlate
    # code_counter and code_registry (distributed) with the rows of a local query.
    _run(session, f"""
        CREATE TEMP TABLE {plan} ON COMMIT DROP AS
        WITH g AS MATERIALIZED ({groups_sql}),
        p AS MATERIALIZED (SELECT DISTINCT prefix FROM g WHERE prefix IS NOT NULL),
        counter AS (
            SELECT cc.prefix, max(cc.last_number) AS n FROM code_counter cc
            JOIN p ON cc.county = left(p.prefix, 6) AND cc.prefix = p.prefix
            GROUP BY cc.prefix),
        registered AS (
            SELECT p.prefix, max(substr(r.code, length(p.prefix) + 1, {width})::int) AS n
            FROM code_registry r
            JOIN p ON r.code >= rpad(p.prefix, 25, '0')
                  AND r.code < rpad(lpad((p.prefix::numeric + 1)::text, length(p.prefix),
                                         '0'), 25, '0')
            GROUP BY p.prefix)
        SELECT g.*, greatest(coalesce(counter.n, 0), coalesce(registered.n, 0)) AS base,
               {digits_sum_sql("g.prefix", prefix_length)} AS prefix_sum,
               div(sum(g.n) OVER (ORDER BY g.prefix) - g.n, {HOUSE_BATCH})::int AS batch
        FROM g LEFT JOIN counter ON counter.prefix = g.prefix
        LEFT JOIN registered ON registered.prefix = g.prefix""")
    _run(session, f"ANALYZE {plan}")  # temp tables get no autovacuum statistics
    if _run(session, f"SELECT 1 FROM {plan} WHERE prefix IS NULL LIMIT 1").first():
        raise Conflict(_("a {kind} lies in an uncoded parent; rerun the assignment",
                         kind=kind.value))
    overflow = _run(session, f"SELECT prefix, base + n FROM {plan} WHERE base + n > {top} "
                             "ORDER BY prefix LIMIT 1").first()
    if overflow:
        raise Conflict(_("{kind} numbers under {overflow} exhausted: would reach {overflow2}, the "
                         "most is {top}", kind=kind.value, overflow=overflow[0],
                         overflow2=overflow[1], top=top))


def _advance_counters(session: Session, plan: str) -> None:
    _run(session, f"""
        INSERT INTO code_counter (county, prefix, last_number)
        SELECT left(prefix, 6), prefix, max(base + n) FROM {plan} GROUP BY prefix
        ON CONFLICT (county, prefix) DO UPDATE
        SET last_number = greatest(code_counter.last_number, EXCLUDED.last_number)""")


def _coded_sql(numbered_sql: str, prefix_length: int) -> str:
    """(county, id, code) from ``numbered_sql`` rows (county, id, prefix, prefix_sum, number)."""
    width, _top = NUMBER_FIELD[prefix_length]
    suffix = "0" * (24 - prefix_length - width)
    check = check_char_sql("n.prefix_sum + "
                           + number_sum_sql("n.number", prefix_length + 1, width))
    return (f"SELECT n.county, n.id, n.prefix || lpad(n.number::text, {width}, '0') "
            f"|| '{suffix}' || {check} AS code FROM ({numbered_sql}) AS n")


def _issue_simple(session: Session, *, kind: ObjectKind, source_sql: str, order: str,
                  prefix_length: int, actor: str, job_id: int | None) -> int:
    """Estates or buildings: ``source_sql`` gives (county, id, prefix) plus order columns."""
    plan = f"plan_{kind.value}"
    _run(session, f"DROP TABLE IF EXISTS src_{kind.value}")
    _run(session, f"CREATE TEMP TABLE src_{kind.value} ON COMMIT DROP AS {source_sql}")
    _plan(session, plan=plan, kind=kind, prefix_length=prefix_length,
          groups_sql=f"SELECT prefix, count(*) AS n FROM src_{kind.value} GROUP BY prefix")
    numbered = f"""
        SELECT s.county, s.id, s.prefix, p.prefix_sum,
               p.base + row_number() OVER (PARTITION BY s.prefix ORDER BY {order}) AS number
        FROM src_{kind.value} s JOIN {plan} p ON p.prefix = s.prefix"""
    count = int(_run(session, _write_codes_sql(kind, _coded_sql(numbered, prefix_length)),
                     actor=actor, job=job_id).rowcount)
    _advance_counters(session, plan)
    return count


def _issue_estates(session: Session, actor: str, job_id: int | None) -> int:
    return _issue_simple(
        session, kind=ObjectKind.ESTATE, prefix_length=12, actor=actor, job_id=job_id,
        order=ordering.estate_order("s"), source_sql="""
        SELECT e.county, e.id, e.region_code AS prefix, e.name
        FROM estate e JOIN cand_estate c ON c.county = e.county AND c.id = e.id""")


def _issue_buildings(session: Session, actor: str, job_id: int | None) -> int:
    return _issue_simple(
        session, kind=ObjectKind.BUILDING, prefix_length=15, actor=actor, job_id=job_id,
        order=ordering.building_order("s"), source_sql="""
        SELECT b.county, b.id, b.building_label, b.door_number,
               CASE WHEN b.estate_id IS NULL THEN b.region_code || '000'
                    ELSE left(e.code, 15) END AS prefix
        FROM building b JOIN cand_building c ON c.county = b.county AND c.id = b.id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id""")


def _plan_houses(session: Session) -> list[tuple[int, int]]:
    """Per building with uncoded houses: its prefix, the count, the base; in batches of
    ~HOUSE_BATCH houses. Returns (batch, houses) pairs."""
    _plan(session, plan="plan_house", kind=ObjectKind.HOUSE, prefix_length=19, groups_sql="""
        SELECT h.county, h.building_id, left(b.code, 19) AS prefix, count(*) AS n
        FROM house h
        JOIN cand_house_building c ON c.county = h.county AND c.building_id = h.building_id
        JOIN building b ON b.county = h.county AND b.id = h.building_id
        WHERE h.code IS NULL GROUP BY h.county, h.building_id, b.code""")
    _run(session, "CREATE INDEX ON plan_house (batch)")
    rows = _run(session, "SELECT batch, sum(n) FROM plan_house GROUP BY batch ORDER BY batch")
    return [(int(batch), int(n)) for batch, n in rows]


def _issue_house_batch(session: Session, batch: int, actor: str, job_id: int | None) -> int:
    numbered = f"""
        SELECT h.county, h.id, p.prefix, p.prefix_sum,
               p.base + row_number() OVER (PARTITION BY h.county, h.building_id
                                           ORDER BY {ordering.house_order('h')}) AS number
        FROM plan_house p
        JOIN house h ON h.county = p.county AND h.building_id = p.building_id
        WHERE p.batch = {int(batch)} AND h.code IS NULL"""
    return int(_run(session, _write_codes_sql(ObjectKind.HOUSE, _coded_sql(numbered, 19)),
                    actor=actor, job=job_id).rowcount)


def _job_row(session: Session, scope: Scope, actor: str, job_id: int | None,
             dry_run: bool) -> Job:
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(_("job {job_id} not found", job_id=job_id))
        return job
    # Only the id now; the row is inserted by the run's last statement (_record_job). On
    # Citus ``job`` is a reference table whose writes lock its shard until commit: a row
    # inserted here would block, and deadlock with, every other job's progress and end.
    new_id = session.execute(text(
        "SELECT nextval(pg_get_serial_sequence('job', 'id'))")).scalar_one()
    return Job(id=new_id, kind=JOB_KIND, scope_code=scope.code,
               status=RunStatus.RUNNING.value, requested_by=actor,
               options={"scope": scope.code, "dry_run": dry_run, "runner": "inline"})


def assign_codes(session: Session, scope: str | Scope, *, actor: str, dry_run: bool = False,
                 job_id: int | None = None,
                 on_progress: ProgressCallback | None = None) -> AssignResult:
    """Code every uncoded estate, building and house in ``scope``; see the module docstring.

    ``job_id`` names a ``job`` row created by the caller (the CLI and the worker do); without
    it a job row is created here. A dry run computes the same counts and writes nothing but
    the job record.
    """
    parsed = with_county_keys(session, scope if isinstance(scope, Scope) else parse_scope(scope))
    require_read_committed(session)
    clock = time.perf_counter()
    job = _job_row(session, parsed, actor, job_id, dry_run)
    started_at = session.scalar(select(func.now()))
    result = AssignResult(scope=parsed.code, dry_run=dry_run, job_id=job.id)
    report = on_progress or (lambda *_: None)

    savepoint = session.begin_nested() if dry_run else None
    try:
        # JIT-compiling these large-looking plans costs seconds and saves nothing
        _run(session, "SET LOCAL jit = off")
        # Citus: the writes below join the numbered rows (an intermediate result), so they
        # cannot be pruned to the county's shard and go to every shard; by default Citus then
        # takes a self-conflicting lock on each shard until commit, and two counties' jobs
        # ran one after the other. The county advisory locks taken below already keep two
        # jobs off the same rows, which is what that lock guards against. (A literal
        # ``county IN (...)`` would prune instead, but lets PostgreSQL's planner drive the
        # UPDATE from the county's houses and re-scan the numbered rows for each one:
        # minutes for 8,000 houses.) Sequential mode (one connection per node) also lets the
        # job row, a reference table, be written after these writes in the same
        # transaction. Placeholder settings on plain PostgreSQL.
        _run(session, "SET LOCAL citus.enable_deadlock_prevention = off")
        _run(session, "SET LOCAL citus.multi_shard_modify_mode = 'sequential'")
        _collect_candidates(session, parsed)
        result.counties = lock_counties(session, _namespaces(session))
        _drop_coded_meanwhile(session)
        result.estates = _issue_estates(session, actor, job.id)
        report("estates", result.estates, result.estates)
        result.buildings = _issue_buildings(session, actor, job.id)
        report("buildings", result.buildings, result.buildings)
        batches = _plan_houses(session)
        total = sum(n for _, n in batches)
        report("houses", 0, total)
        # A batch touches a few percent of the houses: reach them through the indexes (nested
        # loops), never by scanning the whole table once per batch, which the planner
        # otherwise prefers on large tables (measured: ~1 s per batch at 1M houses).
        _run(session, "SET LOCAL enable_seqscan = off")
        _run(session, "SET LOCAL enable_hashjoin = off")
        _run(session, "SET LOCAL enable_mergejoin = off")
        for batch, _n in batches:
            result.houses += _issue_house_batch(session, batch, actor, job.id)
            report("houses", result.houses, total)
        _run(session, "SET LOCAL enable_seqscan = on")
        _run(session, "SET LOCAL enable_hashjoin = on")
        _run(session, "SET LOCAL enable_mergejoin = on")
        _advance_counters(session, "plan_house")
    finally:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()

    result.seconds = time.perf_counter() - clock
    finished_at = session.scalar(select(func.clock_timestamp()))
    # The job row is written last, in one statement, right before the caller commits (see
    # _job_row; a query between two changes of it would autoflush an INSERT and an UPDATE).
    if job not in session:
        session.add(job)
    job.status = RunStatus.SUCCEEDED.value
    job.error = None
    job.started_at = job.started_at or started_at or dt.datetime.now(dt.UTC)
    job.finished_at = finished_at
    job.counts = {"estates": result.estates, "buildings": result.buildings,
                  "houses": result.houses, "issued": result.issued, "dry_run": dry_run,
                  "counties": result.counties, "seconds": round(result.seconds, 3)}
    session.flush()
    return result
