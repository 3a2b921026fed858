"""Import a housing register (CSV/XLSX) into estates, buildings, houses, persons, relations.

Rows stream from the file in chunks: each is validated (address against the regions, ID
number, phone, relation, use, area, 不动产单元号, coordinates), in worker processes for a
large file (see :mod:`.validate_chunks`); rejected rows go to the report with every reason,
accepted rows are COPYed into a staging table. Rows that disagree with other rows of their
house or person are then rejected too (see :mod:`.conflicts`), and set-based SQL matches
and writes everything (see :mod:`.apply`). It all happens in the caller's transaction: a
run killed at any point leaves nothing half-written, and running the same command again
completes it; re-importing a file changes nothing.

Example::

    with session_scope(engine) as session:
        result = import_register(session, Path("register.csv"), vault=vault,
                                 report_path=Path("rejects.csv"))
    result.read == result.accepted + result.rejected     # always
    result.counts["houses_added"], result.communities    # (1234, ['330402007024', ...])
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cimhouse.addressing.gazetteer import Gazetteer
from cimhouse.addressing.normalize import normalize_estate_name
from cimhouse.coding.house_relations import reject_rows_on_retired_houses
from cimhouse.db.bulk import copy_stream, create_staging
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.register.apply import apply_staged
from cimhouse.importers.register.columns import (
    MASKED_ID_COLUMN,
    absent_mapped_columns,
    load_mapping,
    map_header,
    missing_required,
)
from cimhouse.importers.register.conflicts import reject_conflicts
from cimhouse.importers.register.estate_warnings import EstateWarning, near_duplicate_estates
from cimhouse.importers.register.household_conflicts import reject_household_conflicts
from cimhouse.importers.register.read_table import BLOCK_BYTES, CHUNK_ROWS, open_table
from cimhouse.importers.register.rows import STAGE_COLUMNS, STAGE_SQL, RowValidator
from cimhouse.importers.register.stored_conflicts import reject_stored_conflicts
from cimhouse.importers.register.table import fields
from cimhouse.importers.register.validate_chunks import ChunkValidation, default_workers
from cimhouse.importers.rejects import RejectsReport
from cimhouse.pii import PiiVault
from cimhouse.schema import Estate

STAGE_TABLE = "stage_register"
PARALLEL_MIN_BYTES = 4 << 20  # smaller files validate inline: forking would cost more


@dataclass
class RegisterImportResult:
    """How every row ended; ``read == accepted + rejected`` always holds."""

    file_name: str
    kind: str = "csv"
    encoding: str | None = None
    header_line: int = 0
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    blank_lines: int = 0
    repeated_headers: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    communities: list[str] = field(default_factory=list)
    import_run_id: int | None = None
    report_path: Path | None = None
    dry_run: bool = False
    unknown_columns: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # read+stage, apply
    workers: int = 0
    worker_peak_mb: float = 0.0  # the largest resident set of a validation worker
    estate_warnings: list[dict[str, Any]] = field(default_factory=list)  # near-duplicates

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file_name, "format": self.kind, "encoding": self.encoding,
            "header_line": self.header_line, "read": self.read, "accepted": self.accepted,
            "rejected": self.rejected, "blank_lines": self.blank_lines,
            "repeated_headers": self.repeated_headers, **self.counts,
            "communities": len(self.communities), "unknown_columns": self.unknown_columns,
            "rejected_reasons": dict(self.reasons.most_common(20)),
            "report": str(self.report_path) if self.report_path else None,
            "import_run_id": self.import_run_id, "dry_run": self.dry_run,
            "seconds": self.seconds, "workers": self.workers,
            "worker_peak_mb": self.worker_peak_mb, "estate_warnings": self.estate_warnings,
        }


def _known_estates(session: Session) -> dict[str, list[str]]:
    known: dict[str, list[str]] = {}
    for name, aliases, region_code in session.execute(
            select(Estate.name, Estate.aliases, Estate.region_code)):
        for spelling in (name, *(aliases or [])):
            key = normalize_estate_name(spelling)
            if key:
                known.setdefault(key, []).append(region_code)
    return known


def import_register(session: Session, path: Path, *, vault: PiiVault,
                    mapping: Path | Mapping[str, str] | None = None,
                    report_path: Path | None = None, dry_run: bool = False,
                    actor: str = "cli", default_crs: str = "CGCS2000",
                    chunk_rows: int = CHUNK_ROWS, chunk_bytes: int = BLOCK_BYTES,
                    workers: int | None = None, update_persons: bool = False,
                    as_of: dt.datetime | None = None,
                    on_progress: Callable[[int], None] | None = None) -> RegisterImportResult:
    """Import the register at ``path``; see the module docstring.

    ``mapping`` (a file or a dict ``{header: field}``) overrides the header synonyms;
    ``default_crs`` applies to rows without a 坐标系 column. ``workers`` validation
    processes (0: inline; default: one per core for files over 4 MiB) get chunks of
    ``chunk_bytes`` of CSV or ``chunk_rows`` of other tables. Rows that would rename a
    stored person or undo a lifecycle edit made after ``as_of`` are rejected (see
    :mod:`.stored_conflicts`); ``update_persons`` renames instead. Raises
    :class:`InvalidInput` (nothing written) when the file is not a readable register.
    """
    # Citus: the transaction reads and writes distributed tables (estates, houses) and then
    # writes the reference table person, which Citus refuses after any parallel multi-shard
    # access; one connection per node avoids that, set before the first query.
    # Plain PostgreSQL keeps them as unused placeholder settings.
    session.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    session.execute(text("SET LOCAL citus.max_adaptive_executor_pool_size = 1"))
    table = open_table(path)
    explicit = load_mapping(mapping) if isinstance(mapping, Path) else dict(mapping or {})
    absent = absent_mapped_columns(table.header, explicit)
    if absent:  # a mapping meant for another file: refuse before any work
        raise InvalidInput(
            _("{file}: the mapping names columns the file does not have: {absent} (header on "
              "line {line}: {header})", file=path.name, absent=", ".join(absent),
              line=table.header_line, header=", ".join(h for h in table.header if h.strip())))
    columns = map_header(table.header, explicit)
    missing = missing_required(columns)
    if missing:
        raise InvalidInput(_("{file}: required columns missing: {missing} (header on line "
                             "{header_line}; use --mapping to name them)", file=path.name,
                             missing=', '.join(missing), header_line=table.header_line))
    result = RegisterImportResult(file_name=path.name, kind=table.kind,
                                  encoding=table.encoding, header_line=table.header_line,
                                  dry_run=dry_run,
                                  unknown_columns=sorted(set(columns.extra.values())))
    validator = RowValidator(columns, Gazetteer.load(session), vault,
                             known_estates=_known_estates(session), default_crs=default_crs)
    if workers is None:
        workers = default_workers() if path.stat().st_size >= PARALLEL_MIN_BYTES else 0
    result.workers = workers
    handle = begin_run(session, kind="register", path=path, actor=actor, dry_run=dry_run,
                       options={"mapping": bool(mapping), "default_crs": default_crs,
                                "update_persons": update_persons,
                                "as_of": as_of.isoformat() if as_of else None})
    result.import_run_id = handle.id
    # Hashes and sorts over a million staged rows spill to disk at the default work_mem;
    # LOCAL keeps the larger setting to this transaction.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    create_staging(session, STAGE_TABLE, STAGE_SQL)

    clock = time.perf_counter()
    with RejectsReport(report_path, table.header, extra=[MASKED_ID_COLUMN],
                       warnings=True) as report:
        with copy_stream(session, STAGE_TABLE, STAGE_COLUMNS) as copy:
            validation = ChunkValidation(validator, workers)
            for checked in validation.results(table.chunks(chunk_rows=chunk_rows,
                                                                  block_bytes=chunk_bytes)):
                result.read += checked.read
                result.accepted += checked.accepted
                result.blank_lines += checked.blank_lines
                result.repeated_headers += checked.repeated_headers
                result.worker_peak_mb = max(result.worker_peak_mb,
                                            round(checked.worker_peak_kb / 1024, 1))
                if checked.staged:
                    copy.write(checked.staged)
                for line, cells, reasons in checked.rejects:
                    _report(report, validator, result, line, cells, reasons)
                if on_progress:
                    on_progress(result.read)
        if result.read == 0:
            raise InvalidInput(_("{file}: no data rows after the header (line {header_line})",
                                 file=path.name, header_line=table.header_line))
        session.execute(text(f"ANALYZE {STAGE_TABLE}"))
        # retired houses first: the conflict checks summarise the rows that are left
        conflicting = reject_rows_on_retired_houses(session) | reject_conflicts(session)
        stored, kept = reject_stored_conflicts(session, update_persons=update_persons,
                                               as_of=as_of)
        conflicting.update(stored)
        households = any(f in columns.fields for f in fields("household"))
        if households:  # last: a household must keep its head among the rows left
            conflicting.update(reject_household_conflicts(session))
        if conflicting:
            result.accepted -= len(conflicting)
            for line, cells in open_table(path).rows():
                if line in conflicting:
                    _report(report, validator, result, line, cells, conflicting[line])
        _warn_near_duplicates(path, report, validator, result,
                              near_duplicate_estates(session, STAGE_TABLE))
        result.rejected = report.count
        result.seconds["read_validate_stage"] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        result.counts = apply_staged(session, actor=actor, run_id=handle.id,
                                     households=households) | kept
        result.seconds["apply"] = round(time.perf_counter() - clock, 2)
        result.communities = list(session.scalars(text(
            f"SELECT DISTINCT region_code FROM {STAGE_TABLE} ORDER BY 1")))
        result.report_path = report.finish()

    summary = {k: v for k, v in result.summary().items()
               if k not in ("file", "report", "import_run_id", "dry_run")}
    result.import_run_id = end_run(session, handle, accepted=result.accepted,
                                   rejected=result.rejected, summary=summary, dry_run=dry_run,
                                   report_path=result.report_path, rows_read=result.read)
    return result


def _report(report: RejectsReport, validator: RowValidator, result: RegisterImportResult,
            line: int, cells: list[str], reasons: list[str]) -> None:
    report_cells, masked = validator.report_cells(cells)
    report.add(line, report_cells, reasons, masked)
    result.reasons.update(r.split(":")[0].split(" / ")[0] for r in reasons)


def _warn_near_duplicates(path: Path, report: RejectsReport, validator: RowValidator,
                          result: RegisterImportResult, warnings: list[EstateWarning]) -> None:
    """Rows of a new estate named like one of its community: in the report and summary."""
    result.estate_warnings = [w.as_dict() for w in warnings]
    by_line = {line: w.message for w in warnings for line in w.lines}
    if by_line:
        for line, cells in open_table(path).rows():
            if line in by_line:
                report_cells, masked = validator.report_cells(cells)
                report.warn(line, report_cells, [by_line[line]], masked)


__all__ = ["RegisterImportResult", "import_register"]
