"""Apply an administrative boundary change (区划调整): regions move, codes stay.

A change maps old region codes to new ones of the same level (``330402007024`` ->
``330402007099``, or a whole county ``330402`` -> ``330499``: every region under the old code
moves with it). For each pair, set-based:

- new regions are added (name, level and classification copied, or the given new name;
  ``valid_from`` = the effective date), old ones closed (``valid_to``); nothing is deleted;
- estates, buildings, houses and facilities in the old regions get the new *current*
  ``region_code``; their house codes do not change (they record where the object was when
  coded), so scope checks, which use the current region, follow the move;
- every coded object moved gets a lineage event ``region_change`` (parent = child = its code,
  note ``old -> new``), region rows a ``change_log`` entry; the run is recorded in ``job``.

Example::

    apply_region_changes(session, {"330402007024": "330402007099"}, dt.date(2026, 12, 1),
                         actor="alice", names={"330402007099": "新百福社区"})
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.coding.namespace import lock_counties
from cimhouse.db.bulk import copy_rows, create_staging, execute_count
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema import Job
from cimhouse.schema.vocab import LEVEL_CODE_LENGTH, RunStatus

JOB_KIND = "region_change"
MOVED_TABLES = ("estate", "building", "house", "facility")


@dataclass
class RegionChangeResult:
    job_id: int | None = None
    effective_date: dt.date | None = None
    regions_added: int = 0
    regions_reopened: int = 0
    regions_closed: int = 0
    estates: int = 0
    buildings: int = 0
    houses: int = 0
    facilities: int = 0
    lineage_events: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_region_change_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Read a CSV with columns ``old_code,new_code[,new_name]``: (mapping, names)."""
    mapping: dict[str, str] = {}
    names: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"old_code", "new_code"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(_("{file}: missing columns {missing}", file=path.name,
                                 missing=', '.join(sorted(missing))))
        for line, row in enumerate(reader, start=2):
            old, new = (row.get("old_code") or "").strip(), (row.get("new_code") or "").strip()
            if old in mapping:
                raise InvalidInput(_("{file} line {line}: old code {old} appears twice",
                                     file=path.name, line=line, old=old))
            mapping[old] = new
            if (row.get("new_name") or "").strip():
                names[new] = (row.get("new_name") or "").strip()
    if not mapping:
        raise InvalidInput(_("{file}: no rows", file=path.name))
    return mapping, names


def _check(session: Session, mapping: Mapping[str, str]) -> None:
    lengths = set(LEVEL_CODE_LENGTH.values())
    for old, new in mapping.items():
        for code in (old, new):
            if not (code.isascii() and code.isdigit() and len(code) in lengths):
                raise InvalidInput(_("{code!r} is not a 2, 4, 6, 9 or 12-digit region code",
                                     code=code))
        if len(old) != len(new) or old == new:
            raise InvalidInput(_("{old} -> {new}: old and new codes must differ and have the same "
                                 "level", old=old, new=new))
        if new in mapping:
            raise InvalidInput(_("{new} is both a new and an old code: apply chains in steps",
                                 new=new))
        for other in mapping:
            if other != old and other.startswith(old):
                raise InvalidInput(_("{other} lies inside {old}, which is also changed",
                                     other=other, old=old))
        open_region = session.execute(text(
            "SELECT 1 FROM region WHERE code = :c AND valid_to IS NULL"), {"c": old}).first()
        if not open_region:
            raise InvalidInput(_("old region {old} does not exist or is already closed", old=old))


def _build_map(session: Session, mapping: Mapping[str, str], names: Mapping[str, str]) -> None:
    create_staging(session, "stage_region_change", "old text PRIMARY KEY, new text")
    copy_rows(session, "stage_region_change", ["old", "new"], sorted(mapping.items()))
    create_staging(session, "stage_region_name", "code text PRIMARY KEY, name text")
    copy_rows(session, "stage_region_name", ["code", "name"], sorted(names.items()))
    session.execute(text("DROP TABLE IF EXISTS region_map"))
    session.execute(text("""
        CREATE TEMP TABLE region_map ON COMMIT DROP AS
        SELECT r.code AS old, s.new || substr(r.code, length(s.old) + 1) AS new, r.level,
               CASE WHEN r.code = s.old
                    THEN left(s.new, length(r.parent_code))
                    ELSE s.new || substr(r.parent_code, length(s.old) + 1) END AS parent_new
        FROM stage_region_change s
        JOIN region r ON r.code LIKE s.old || '%' AND r.valid_to IS NULL"""))
    session.execute(text("ALTER TABLE region_map ADD PRIMARY KEY (old)"))
    session.execute(text("ANALYZE region_map"))
    orphan = session.execute(text("""
        SELECT m.new, m.parent_new FROM region_map m
        WHERE m.parent_new IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM region r WHERE r.code = m.parent_new
                          AND r.valid_to IS NULL AND r.code NOT IN (SELECT old FROM region_map))
          AND NOT EXISTS (SELECT 1 FROM region_map p WHERE p.new = m.parent_new)
        LIMIT 1""")).first()
    if orphan:
        raise InvalidInput(_("new region {orphan}: its parent {orphan2} does not exist (add the "
                             "parent change too)", orphan=orphan[0], orphan2=orphan[1]))


# The map as arrays in the statements that write: Citus writes no reference or distributed
# table from a local (temp) table; unnest() of bound arrays it can ship to every shard.
_MAP = ("unnest(CAST(:m_old AS text[]), CAST(:m_new AS text[]), CAST(:m_level AS smallint[]), "
        "CAST(:m_parent AS text[])) AS m(old, new, level, parent_new)")
_NAMES = "unnest(CAST(:n_code AS text[]), CAST(:n_name AS text[])) AS n(code, name)"


def _map_params(session: Session) -> dict[str, object]:
    rows = session.execute(text(
        "SELECT old, new, level, parent_new FROM region_map ORDER BY old")).all()
    names = session.execute(text("SELECT code, name FROM stage_region_name ORDER BY code")).all()
    return {"m_old": [r[0] for r in rows], "m_new": [r[1] for r in rows],
            "m_level": [r[2] for r in rows], "m_parent": [r[3] for r in rows],
            "n_code": [r[0] for r in names], "n_name": [r[1] for r in names]}


def _move_regions(session: Session, effective: dt.date, actor: str,
                  result: RegionChangeResult) -> None:
    params = {"eff": effective, "actor": actor, **_map_params(session)}
    result.regions_reopened = int(session.execute(text(f"""
        WITH reopened AS (
            UPDATE region r SET valid_to = NULL, valid_from = :eff FROM {_MAP}
            WHERE r.code = m.new AND r.valid_to IS NOT NULL RETURNING r.code)
        SELECT count(*) FROM reopened"""), params).scalar_one())
    added = session.execute(text(f"""
        SELECT m.new, coalesce(n.name, r.name), m.level, m.parent_new, r.urban_rural
        FROM {_MAP} JOIN region r ON r.code = m.old
        LEFT JOIN {_NAMES} ON n.code = m.new
        WHERE NOT EXISTS (SELECT 1 FROM region x WHERE x.code = m.new)
        ORDER BY m.level, m.new"""), params).all()
    # Inserted from arrays of the rows read above: Citus mis-plans an INSERT into a
    # reference table that selects from the same table.
    columns = ("a_code", "a_name", "a_level", "a_parent", "a_urban")
    rows = {key: [row[i] for row in added] for i, key in enumerate(columns)}
    result.regions_added = int(session.execute(text("""
        WITH added AS (
            INSERT INTO region (code, code12, name, level, parent_code, urban_rural, valid_from)
            SELECT a.code, rpad(a.code, 12, '0'), a.name, a.level, a.parent, a.urban, :eff
            FROM unnest(CAST(:a_code AS text[]), CAST(:a_name AS text[]),
                        CAST(:a_level AS smallint[]), CAST(:a_parent AS text[]),
                        CAST(:a_urban AS text[])) AS a(code, name, level, parent, urban)
            ORDER BY a.level, a.code
            RETURNING code, name, parent_code),
        logged AS (
            INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                    current)
            SELECT rpad(left(code, 6), 6, '0'), 'region', code, 'insert', :actor,
                   'apply_region_changes',
                   jsonb_build_object('name', name, 'parent_code', parent_code,
                                      'valid_from', :eff)
            FROM added RETURNING 1)
        SELECT count(*) FROM logged"""), {**params, **rows}).scalar_one())
    result.regions_closed = int(session.execute(text(f"""
        WITH closed AS (
            UPDATE region r SET valid_to = :eff FROM {_MAP}
            WHERE r.code = m.old AND r.valid_to IS NULL RETURNING r.code, m.new),
        logged AS (
            INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                    previous, current)
            SELECT rpad(left(code, 6), 6, '0'), 'region', code, 'update', :actor,
                   'apply_region_changes', jsonb_build_object('valid_to', NULL),
                   jsonb_build_object('valid_to', :eff, 'replaced_by', new)
            FROM closed RETURNING 1)
        SELECT count(*) FROM logged"""), params).scalar_one())


def _move_objects(session: Session, effective: dt.date, actor: str, job_id: int,
                  result: RegionChangeResult) -> None:
    params = {"eff": effective, "actor": actor, "job": job_id, **_map_params(session)}
    for table in MOVED_TABLES:
        if table == "facility":
            result.facilities = execute_count(session, text(
                "UPDATE facility t SET region_code = m.new, updated_at = now() "
                f"FROM {_MAP} WHERE t.region_code = m.old"), params)
            continue
        moved, logged = session.execute(text(f"""
            WITH moved AS (
                UPDATE {table} t SET region_code = m.new, updated_at = now() FROM {_MAP}
                WHERE t.region_code = m.old RETURNING t.county, t.code, m.old, m.new),
            logged AS (
                INSERT INTO code_lineage (county, event, parent_code, child_code,
                                          effective_date, actor, job_id, note)
                SELECT county, 'region_change', code, code, :eff, :actor, :job,
                       'region ' || old || ' -> ' || new
                FROM moved WHERE code IS NOT NULL RETURNING 1)
            SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM logged)"""),
            params).one()
        setattr(result, table + "s", int(moved))
        result.lineage_events += int(logged)


def apply_region_changes(session: Session, mapping: Mapping[str, str],
                         effective_date: dt.date, *, actor: str,
                         names: Mapping[str, str] | None = None) -> RegionChangeResult:
    """Move regions and the objects in them from old to new codes; codes never change."""
    if not mapping:
        raise InvalidInput(_("no region changes given"))
    # Citus: regions and the job (reference tables) are written after the objects moved
    # (distributed): one connection per node, as in the register import.
    session.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    session.execute(text("SET LOCAL citus.max_adaptive_executor_pool_size = 1"))
    _check(session, mapping)
    job = Job(kind=JOB_KIND, status=RunStatus.RUNNING.value, requested_by=actor,
              options={"mapping": dict(mapping), "names": dict(names or {}),
                       "effective_date": effective_date.isoformat()})
    session.add(job)
    session.flush()
    result = RegionChangeResult(job_id=job.id, effective_date=effective_date)
    _build_map(session, mapping, names or {})
    counties = session.execute(text(
        "SELECT left(old, 6) FROM region_map WHERE length(old) >= 6 "
        "UNION SELECT left(new, 6) FROM region_map WHERE length(new) >= 6")).scalars()
    lock_counties(session, counties)  # uncoded objects move to other code namespaces
    _move_regions(session, effective_date, actor, result)
    _move_objects(session, effective_date, actor, job.id, result)
    job.status = RunStatus.SUCCEEDED.value
    job.started_at = job.requested_at
    job.finished_at = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    job.counts = {k: v for k, v in result.as_dict().items()
                  if k not in ("job_id", "effective_date")}
    session.flush()
    return result
