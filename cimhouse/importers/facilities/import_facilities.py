"""Import public-service facilities from CSV, XLSX or GeoJSON, idempotently.

Every input row ends up accepted (added, updated or unchanged) or rejected with bilingual
reasons (accepted + rejected = read); rejected rows go to a CSV report and the run to
``import_run`` (kind ``facilities``). Rows are placed by location (see
:mod:`.matching`) and keyed, within their county, by source + external id, else by name +
category + place, so importing the same file again changes nothing and a changed row (any
column, the name included) is an update. A facility never changes county: a key that names
another county's facility is a conflict (rejected, counted in ``conflicts``), never an update.

Example::

    with session_scope(engine) as session:
        result = import_facilities(session, Path("jiaxing_facilities.csv"),
                                   source="jiaxing-2026", report_path=Path("rejects.csv"))
    result.read, result.added, len(result.rejected)   # (5120, 5101, 19)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import copy_rows, county_in, create_staging, execute_count
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.facilities.matching import (
    STAGE_COLUMNS,
    STAGE_SQL,
    find_existing,
    place_staged,
    stage_values,
)
from cimhouse.importers.facilities.reading import read_facility_file
from cimhouse.importers.facilities.rows import FacilityRow, validate_row
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.rejects import RejectedRow, write_rejects
from cimhouse.importers.result import UpsertResult

# Every attribute a file gives is compared and updated; the county never changes (see
# matching.find_existing), and source + external id are the key.
UPDATABLE = ("name", "category", "subtype", "address", "geom", "capacity", "status",
             "region_code", "estate_id", "attributes")


@dataclass
class FacilityImportResult(UpsertResult):
    conflicts: int = 0  # rows rejected because their key names another county's facility
    matched_by: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, object]:
        return {**super().counts(), "conflicts": self.conflicts, "matched_by": self.matched_by}


def _row_key(row: FacilityRow) -> tuple[str, ...]:
    if row.external_id:
        return ("id", row.external_id)
    return ("place", row.name, row.category, row.wkt or "", row.address or "",
            row.community_code or "")


def _validate_all(rows: list[tuple[int, dict[str, str]]], default_crs: str
                  ) -> tuple[list[tuple[int, FacilityRow]], list[RejectedRow]]:
    accepted: list[tuple[int, FacilityRow]] = []
    rejected: list[RejectedRow] = []
    first_line: dict[tuple[str, ...], int] = {}
    for line, raw in rows:
        row, reasons = validate_row(raw, default_crs=default_crs)
        if row is not None:
            key = _row_key(row)
            if key in first_line:
                reasons = [f"与第{first_line[key]}行重复 / duplicate of line {first_line[key]}"]
            else:
                first_line[key] = line
        if row is None or reasons:
            rejected.append(RejectedRow(line, raw, reasons))
        else:
            accepted.append((line, row))
    return accepted, rejected


def import_facilities(session: Session, path: Path, *, source: str | None = None,
                      default_crs: str = "CGCS2000", actor: str = "cli",
                      dry_run: bool = False, max_match_m: float = 1000.0,
                      metric_srid: int = 4549,
                      report_path: Path | None = None) -> FacilityImportResult:
    """Import ``path``; ``source`` names the data owner (default: the file's stem).

    ``report_path`` receives the rejected rows (CSV); ``dry_run`` validates, matches and
    counts but leaves no trace.
    """
    rows = read_facility_file(path)
    if not rows:
        raise InvalidInput(_("{file}: no rows", file=path.name))
    source = source or path.stem
    result = FacilityImportResult(read=len(rows))
    accepted, result.rejected = _validate_all(rows, default_crs)
    raw_by_line = dict(rows)

    handle = begin_run(session, kind="facilities", path=path, actor=actor, dry_run=dry_run,
                       rows_read=result.read,
                       options={"source": source, "default_crs": default_crs,
                                "max_match_m": max_match_m})
    create_staging(session, "stage_facility", STAGE_SQL)
    copy_rows(session, "stage_facility", STAGE_COLUMNS,
              (stage_values(line, row) for line, row in accepted))
    place_staged(session, max_match_m=max_match_m, metric_srid=metric_srid)
    result.conflicts = find_existing(session, source=source, metric_srid=metric_srid)
    for line, reason in session.execute(text(
            "SELECT line, reason FROM stage_facility WHERE reason IS NOT NULL")):
        result.rejected.append(RejectedRow(line, raw_by_line[line], [reason]))
    result.rejected.sort(key=lambda r: r.line)
    session.execute(text("DELETE FROM stage_facility WHERE reason IS NOT NULL"))
    result.matched_by = dict(Counter(session.scalars(text(
        "SELECT matched_by FROM stage_facility ORDER BY line")).all()))
    _apply(session, result, source, actor)

    if report_path is not None and result.rejected:
        result.report_path = write_rejects(report_path, result.rejected)
    summary = {k: v for k, v in result.summary().items()
                   if k in ("added", "updated", "unchanged", "conflicts", "matched_by")}
    result.import_run_id = end_run(session, handle, accepted=result.accepted,
                                   rejected=len(result.rejected), summary=summary,
                                   dry_run=dry_run, report_path=result.report_path)
    return result


def _apply(session: Session, result: FacilityImportResult, source: str, actor: str) -> None:
    new_values = {"estate_id": "CASE WHEN s.estate_county = f.county THEN s.estate_id END"}
    changed = " OR ".join(
        f"f.{c} IS DISTINCT FROM {new_values.get(c, 's.' + c)}" if c != "geom" else
        "NOT (f.geom IS NOT DISTINCT FROM s.geom OR ST_OrderingEquals(f.geom, s.geom))"
        for c in UPDATABLE)
    assignments = ", ".join(f"{c} = {new_values.get(c, 's.' + c)}" for c in UPDATABLE)
    # History for the change feed: the logged columns before and after (geometry as WKT).
    logged = [c for c in UPDATABLE if c not in ("geom", "attributes")]
    before = ", ".join(f"'{c}', f.{c}" for c in logged)
    after = ", ".join(f"'{c}', {new_values.get(c, 's.' + c)}" for c in logged)
    # the counties of the facilities found: Citus reads their shards only (county_in)
    found = tuple(session.execute(text(
        "SELECT DISTINCT facility_county FROM stage_facility "
        "WHERE facility_county IS NOT NULL ORDER BY 1")).scalars())
    session.execute(text(f"""
        WITH c AS MATERIALIZED (
            SELECT f.county, f.id, jsonb_build_object({before}) AS prev,
                   jsonb_build_object({after}) AS cur
            FROM facility f JOIN stage_facility s
                 ON f.county = s.facility_county AND f.id = s.facility_id
            WHERE {county_in('f', found)} AND ({changed}))
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'facility', id::text, 'update', :actor, :source, prev, cur
        FROM c ORDER BY id"""), {"actor": actor, "source": source})
    result.updated = execute_count(session, text(f"""
        UPDATE facility f SET {assignments}, updated_at = now()
        FROM stage_facility s
        WHERE {county_in('f', found)} AND f.county = s.facility_county
          AND f.id = s.facility_id AND ({changed})"""))
    result.added = execute_count(session, text("""
        WITH added AS (
            INSERT INTO facility (county, category, subtype, name, geom, capacity, region_code,
                                  estate_id, address, status, source, external_id, attributes)
            SELECT left(s.region_code, 6), s.category, s.subtype, s.name, s.geom, s.capacity,
                   s.region_code, CASE WHEN s.estate_county = left(s.region_code, 6)
                                       THEN s.estate_id END,
                   s.address, s.status, :source, s.external_id, s.attributes
            FROM stage_facility s WHERE s.facility_id IS NULL ORDER BY s.line
            RETURNING county, id, name, category, subtype, status, region_code)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'facility', id::text, 'insert', :actor, :source, NULL,
               jsonb_build_object('name', name, 'category', category, 'subtype', subtype,
                                  'status', status, 'region_code', region_code)
        FROM added"""),
        {"source": source, "actor": actor})
