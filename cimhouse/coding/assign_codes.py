"""Give every uncoded estate, building and house in a scope its house code, set-based.

What a run does, inside the caller's transaction:

1. Collects the candidates: uncoded estates, buildings and houses in the scope, plus the
   uncoded estate of a candidate building and the uncoded building of a candidate house
   (a house code contains its building's code, a building code its estate's). House numbers
   are handed out per building, so a run codes *every* uncoded house of a building it touches.
2. Locks the county namespaces it will issue in (:mod:`cimhouse.coding.namespace`), then
   drops candidates that a concurrent job coded meanwhile: two jobs on overlapping scopes
   serialise per county and never issue the same code, and neither fails.
3. Numbers estates, then buildings, then houses (the last in batches of ~50,000, reporting
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
    lock_counties,
    registered_max_sql,
    require_read_committed,
)
from cimhouse.errors import Conflict, NotFound
from cimhouse.schema import Building, Estate, House, Job
from cimhouse.schema.vocab import ObjectKind, RunStatus
from cimhouse.scope import Scope, parse_scope, scope_filter

JOB_KIND = "code_assignment"
HOUSE_BATCH = 50_000
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
    _run(session, f"""
        CREATE TEMP TABLE cand_estate ON COMMIT DROP AS
        {_sql(estate_in_scope)}
        UNION
        SELECT e.county, e.id FROM estate e
        JOIN building b ON b.county = e.county AND b.estate_id = e.id
        WHERE e.code IS NULL AND (
            EXISTS (SELECT 1 FROM cand_building c WHERE c.county = b.county AND c.id = b.id)
            OR EXISTS (SELECT 1 FROM cand_house_building c
                       WHERE c.county = b.county AND c.building_id = b.id))""")


def _namespaces(session: Session) -> list[str]:
    """Counties (first 6 digits of the codes to be issued) the run will write under."""
    rows = _run(session, """
        SELECT left(e.region_code, 6) FROM cand_estate c
        JOIN estate e ON e.county = c.county AND e.id = c.id
        UNION
        SELECT left(coalesce(e.code, e.region_code, b.region_code), 6)
        FROM building b LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE EXISTS (SELECT 1 FROM cand_building c WHERE c.county = b.county AND c.id = b.id)
           OR EXISTS (SELECT 1 FROM cand_house_building c
                      WHERE c.county = b.county AND c.building_id = b.id)""")
    return [row[0] for row in rows]


def _drop_coded_meanwhile(session: Session) -> None:
    """After waiting for the locks: forget candidates a concurrent job has coded."""
    _run(session, "DELETE FROM cand_estate c USING estate e "
                  "WHERE e.county = c.county AND e.id = c.id AND e.code IS NOT NULL")
    _run(session, "DELETE FROM cand_building c USING building b "
                  "WHERE b.county = c.county AND b.id = c.id AND b.code IS NOT NULL")


def _issue(session: Session, *, kind: ObjectKind, numbered_sql: str, prefix_length: int,
           actor: str, job_id: int | None) -> int:
    """Number the rows of ``numbered_sql`` (county, id, prefix, rn) and issue their codes."""
    width, top = NUMBER_FIELD[prefix_length]
    suffix = "0" * (24 - prefix_length - width)
    table = kind.value
    _run(session, "DROP TABLE IF EXISTS issue_batch")
    _run(session, f"""
        CREATE TEMP TABLE issue_batch ON COMMIT DROP AS
        WITH numbered AS ({numbered_sql}),
        prefixes AS (SELECT prefix, max(rn) AS n FROM numbered GROUP BY prefix),
        bases AS (
            SELECT p.prefix, greatest(
                coalesce((SELECT last_number FROM code_counter cc
                          WHERE cc.county = left(p.prefix, 6) AND cc.prefix = p.prefix), 0),
                {registered_max_sql("p.prefix", width)}) AS base
            FROM prefixes p)
        SELECT s.*, s.body || cimhouse_mod11_2(s.body) AS code FROM (
            SELECT n.county, n.id, n.prefix, b.base + n.rn AS number,
                   n.prefix || lpad((b.base + n.rn)::text, {width}, '0') || '{suffix}' AS body
            FROM numbered n JOIN bases b ON b.prefix = n.prefix) AS s""")
    overflow = _run(session, f"SELECT prefix, max(number) FROM issue_batch GROUP BY prefix "
                             f"HAVING max(number) > {top} LIMIT 1").first()
    if overflow:
        raise Conflict(f"{table} numbers under {overflow[0]} exhausted: would reach "
                       f"{overflow[1]}, the most is {top}")
    if _run(session, "SELECT 1 FROM issue_batch WHERE prefix IS NULL LIMIT 1").first():
        raise Conflict(f"a {table} lies in an uncoded parent; rerun the assignment")
    count = int(_run(session, f"""
        UPDATE {table} t SET code = i.code, updated_at = now() FROM issue_batch i
        WHERE t.county = i.county AND t.id = i.id AND t.code IS NULL""").rowcount)
    _run(session, """
        INSERT INTO code_registry (county, code, object_kind, object_id, status, issued_by,
                                   job_id)
        SELECT county, code, :kind, id, 'active', :actor, :job FROM issue_batch""",
         kind=kind.value, actor=actor, job=job_id)
    _run(session, """
        INSERT INTO code_lineage (county, event, child_code, actor, job_id)
        SELECT county, 'issue', code, :actor, :job FROM issue_batch""", actor=actor, job=job_id)
    _run(session, """
        INSERT INTO code_counter (county, prefix, last_number)
        SELECT left(prefix, 6), prefix, max(number) FROM issue_batch GROUP BY prefix
        ON CONFLICT (county, prefix) DO UPDATE
        SET last_number = greatest(code_counter.last_number, EXCLUDED.last_number)""")
    return count


def _issue_estates(session: Session, actor: str, job_id: int | None) -> int:
    return _issue(session, kind=ObjectKind.ESTATE, prefix_length=12, actor=actor,
                  job_id=job_id, numbered_sql=f"""
        SELECT e.county, e.id, e.region_code AS prefix,
               row_number() OVER (PARTITION BY e.region_code
                                  ORDER BY {ordering.estate_order('e')}) AS rn
        FROM estate e JOIN cand_estate c ON c.county = e.county AND c.id = e.id""")


def _issue_buildings(session: Session, actor: str, job_id: int | None) -> int:
    prefix = ("CASE WHEN b.estate_id IS NULL THEN b.region_code || '000' "
              "ELSE left(e.code, 15) END")
    return _issue(session, kind=ObjectKind.BUILDING, prefix_length=15, actor=actor,
                  job_id=job_id, numbered_sql=f"""
        SELECT b.county, b.id, {prefix} AS prefix,
               row_number() OVER (PARTITION BY {prefix}
                                  ORDER BY {ordering.building_order('b')}) AS rn
        FROM building b JOIN cand_building c ON c.county = b.county AND c.id = b.id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id""")


def _plan_house_batches(session: Session) -> list[tuple[int, int]]:
    """Split the buildings with uncoded houses into batches of ~HOUSE_BATCH houses."""
    _run(session, "DROP TABLE IF EXISTS house_batch_plan")
    _run(session, f"""
        CREATE TEMP TABLE house_batch_plan ON COMMIT DROP AS
        SELECT county, building_id, n,
               div(sum(n) OVER (ORDER BY county, building_id) - n, {HOUSE_BATCH})::int AS batch
        FROM (SELECT h.county, h.building_id, count(*) AS n FROM house h
              JOIN cand_house_building c ON c.county = h.county AND c.building_id = h.building_id
              WHERE h.code IS NULL GROUP BY h.county, h.building_id) AS per_building""")
    _run(session, "CREATE INDEX ON house_batch_plan (batch)")
    rows = _run(session, "SELECT batch, sum(n) FROM house_batch_plan GROUP BY batch "
                         "ORDER BY batch").all()
    return [(int(batch), int(n)) for batch, n in rows]


def _issue_house_batch(session: Session, batch: int, actor: str, job_id: int | None) -> int:
    return _issue(session, kind=ObjectKind.HOUSE, prefix_length=19, actor=actor,
                  job_id=job_id, numbered_sql=f"""
        SELECT h.county, h.id, left(b.code, 19) AS prefix,
               row_number() OVER (PARTITION BY h.county, h.building_id
                                  ORDER BY {ordering.house_order('h')}) AS rn
        FROM house_batch_plan p
        JOIN building b ON b.county = p.county AND b.id = p.building_id
        JOIN house h ON h.county = p.county AND h.building_id = p.building_id
        WHERE p.batch = {int(batch)} AND h.code IS NULL""")


def _job_row(session: Session, scope: Scope, actor: str, job_id: int | None,
             dry_run: bool) -> Job:
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job
    job = Job(kind=JOB_KIND, scope_code=scope.code, status=RunStatus.RUNNING.value,
              requested_by=actor, started_at=func.now(),
              options={"scope": scope.code, "dry_run": dry_run, "runner": "inline"})
    session.add(job)
    session.flush()
    return job


def assign_codes(session: Session, scope: str | Scope, *, actor: str, dry_run: bool = False,
                 job_id: int | None = None,
                 on_progress: ProgressCallback | None = None) -> AssignResult:
    """Code every uncoded estate, building and house in ``scope``; see the module docstring.

    ``job_id`` names a ``job`` row created by the caller (the CLI and the worker do); without
    it a job row is created here. A dry run computes the same counts and writes nothing but
    the job record.
    """
    parsed = scope if isinstance(scope, Scope) else parse_scope(scope)
    require_read_committed(session)
    clock = time.perf_counter()
    job = _job_row(session, parsed, actor, job_id, dry_run)
    started_at = session.scalar(select(func.now()))
    result = AssignResult(scope=parsed.code, dry_run=dry_run, job_id=job.id)
    report = on_progress or (lambda stage, done, total: None)

    savepoint = session.begin_nested() if dry_run else None
    try:
        _collect_candidates(session, parsed)
        result.counties = lock_counties(session, _namespaces(session))
        _drop_coded_meanwhile(session)
        result.estates = _issue_estates(session, actor, job.id)
        report("estates", result.estates, result.estates)
        result.buildings = _issue_buildings(session, actor, job.id)
        report("buildings", result.buildings, result.buildings)
        batches = _plan_house_batches(session)
        total = sum(n for _, n in batches)
        report("houses", 0, total)
        for batch, _n in batches:
            result.houses += _issue_house_batch(session, batch, actor, job.id)
            report("houses", result.houses, total)
    finally:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()

    result.seconds = time.perf_counter() - clock
    job.status = RunStatus.SUCCEEDED.value
    job.started_at = job.started_at or started_at or dt.datetime.now(dt.UTC)
    job.finished_at = session.scalar(select(func.clock_timestamp()))
    job.counts = {"estates": result.estates, "buildings": result.buildings,
                  "houses": result.houses, "issued": result.issued, "dry_run": dry_run,
                  "counties": result.counties, "seconds": round(result.seconds, 3)}
    session.flush()
    return result
