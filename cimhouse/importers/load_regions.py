"""Load the statistical division codes (统计用区划代码) into ``region``, idempotently.

A reload of the same file changes nothing. A newer file renames regions whose name changed,
re-parents moved ones, closes codes that disappeared (``valid_to``) and adds new ones;
nothing is ever deleted. Every change is written to ``change_log``.

Example::

    with session_scope(engine) as session:
        result = load_regions(session)           # the packaged Zhejiang 2023 file
    result.added, result.rejected                # (27036, 0) on an empty database
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import copy_rows, create_staging, execute_count
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.rejects import RejectedRow, write_rejects
from cimhouse.schema import Region
from cimhouse.schema.vocab import LEVEL_CODE_LENGTH

PACKAGED_FILE = "zhejiang_divisions.csv"
PACKAGED_VALID_FROM = dt.date(2023, 6, 30)  # NBS cut-off date of the packaged file
REQUIRED_COLUMNS = ("code", "name", "level", "parentCode")


@dataclass
class RegionLoadResult:
    read: int = 0
    accepted: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    report_path: Path | None = None
    added: int = 0
    renamed: int = 0
    reparented: int = 0
    closed: int = 0
    reopened: int = 0
    import_run_id: int | None = None

    @property
    def unchanged(self) -> int:
        return self.accepted - self.added - self.renamed - self.reparented - self.reopened


def packaged_regions_path() -> Path:
    return Path(str(resources.files("cimhouse.data").joinpath(PACKAGED_FILE)))


def _validate(rows: list[tuple[int, dict[str, str]]], known: set[str]
              ) -> tuple[list[tuple[str, str, int, str | None]], list[RejectedRow]]:
    accepted: dict[str, tuple[str, str, int, str | None]] = {}
    rejected: list[RejectedRow] = []
    pending: list[tuple[int, dict[str, str], tuple[str, str, int, str | None]]] = []
    seen: set[str] = set()
    for line, row in rows:
        reasons: list[str] = []
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        parent = (row.get("parentCode") or "").strip() or None
        level_raw = (row.get("level") or "").strip()
        level = int(level_raw) if level_raw.isdigit() else 0
        if not code.isascii() or not code.isdigit():
            reasons.append("代码不是数字 / code is not numeric")
        if level not in LEVEL_CODE_LENGTH:
            reasons.append("层级应为1-5 / level must be 1-5")
        elif len(code) != LEVEL_CODE_LENGTH[level]:
            reasons.append(f"代码长度与层级不符 / code length {len(code)} "
                           f"does not fit level {level}")
        if not name:
            reasons.append("名称为空 / name is empty")
        if level > 1 and not parent:
            reasons.append("缺少上级代码 / parent code missing")
        if parent and not code.startswith(parent):
            reasons.append("代码不以上级代码开头 / code does not start with its parent code")
        if code in seen:
            reasons.append("代码重复 / duplicate code")
        seen.add(code)
        if reasons:
            rejected.append(RejectedRow(line, row, reasons))
        else:
            pending.append((line, row, (code, name, level, parent)))
    # Parents must be accepted (in this file) or already known; resolve top-down by level.
    for line, row, values in sorted(pending, key=lambda item: item[2][2]):
        parent = values[3]
        if parent is None or parent in accepted or parent in known:
            accepted[values[0]] = values
        else:
            rejected.append(RejectedRow(line, row, ["上级代码不存在 / parent code unknown"]))
    rejected.sort(key=lambda r: r.line)
    return list(accepted.values()), rejected


def load_regions(session: Session, path: Path | None = None, *,
                 valid_from: dt.date | None = None, actor: str = "cli",
                 dry_run: bool = False, report_path: Path | None = None) -> RegionLoadResult:
    """Load a division-code CSV (columns code, name, level, parentCode) into ``region``;
    rejected rows go to ``report_path`` (:mod:`cimhouse.importers.rejects`)."""
    source = path or packaged_regions_path()
    if valid_from is None:
        valid_from = PACKAGED_VALID_FROM if path is None else dt.date.today()
    raw = source.read_bytes()
    try:
        textual = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        textual = raw.decode("gb18030")
    reader = csv.DictReader(textual.splitlines())
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(_("{file}: missing columns {missing}", file=source.name,
                             missing=', '.join(missing)))
    rows = [(index + 2, dict(row)) for index, row in enumerate(reader)]
    if not rows:
        raise InvalidInput(_("{file}: no rows", file=source.name))

    result = RegionLoadResult(read=len(rows))
    known = set(session.scalars(select(Region.code)))
    accepted, result.rejected = _validate(rows, known)
    result.accepted = len(accepted)
    handle = begin_run(session, kind="regions", path=source, actor=actor, dry_run=dry_run,
                       rows_read=result.read, sha256=hashlib.sha256(raw).hexdigest())
    result.import_run_id = handle.id

    create_staging(session, "stage_region",
                   "code text PRIMARY KEY, name text, level smallint, parent_code text")
    copy_rows(session, "stage_region", ["code", "name", "level", "parent_code"], accepted)
    _apply(session, result, valid_from, actor, handle.id)

    if report_path is not None and result.rejected:
        result.report_path = write_rejects(report_path, result.rejected,
                                           header=list(reader.fieldnames or []))
    summary = {k: getattr(result, k) for k in
               ("added", "renamed", "reparented", "closed", "reopened", "unchanged")}
    result.import_run_id = end_run(session, handle, accepted=result.accepted,
                                   rejected=len(result.rejected), summary=summary,
                                   dry_run=dry_run, report_path=result.report_path)
    return result


def _apply(session: Session, result: RegionLoadResult, valid_from: dt.date, actor: str,
           run_id: int) -> None:
    # Citus: region is a reference table and stage_region a local temp table. A statement
    # writing a distributed or reference table reads the staging through a MATERIALIZED CTE
    # (an INSERT ... SELECT joining both directly inserts nothing), and region is updated from
    # arrays of codes read first (UPDATE ... FROM a local table is refused).
    params = {"vf": valid_from, "actor": actor, "src": f"import_run:{run_id}"}
    log = """
        WITH c AS MATERIALIZED (
            SELECT r.code, jsonb_build_object({prev}) AS prev, jsonb_build_object({cur}) AS cur
            FROM region r JOIN stage_region s ON s.code = r.code WHERE {cond})
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT rpad(left(code, 6), 6, '0'), 'region', code, 'update', :actor, :src, prev, cur
        FROM c ORDER BY code
    """
    changes = {
        "renamed": ("'name', r.name", "'name', s.name", "r.name <> s.name", "name", "s.name"),
        "reparented": ("'parent_code', r.parent_code", "'parent_code', s.parent_code",
                       "r.parent_code IS DISTINCT FROM s.parent_code", "parent_code",
                       "s.parent_code"),
        "reopened": ("'valid_to', r.valid_to", "'valid_to', NULL", "r.valid_to IS NOT NULL",
                     "valid_to", "NULL"),
    }
    for attr, (prev, cur, cond, column, value) in changes.items():
        rows = session.execute(text(
            f"SELECT r.code, {value}::text FROM region r JOIN stage_region s ON s.code = r.code "
            f"WHERE {cond} ORDER BY r.code")).all()
        session.execute(text(log.format(prev=prev, cur=cur, cond=cond)), params)
        if rows:
            session.execute(text(
                f"UPDATE region r SET {column} = CAST(u.v AS {_COLUMN_TYPES[column]}), "
                "updated_at = now() "
                "FROM unnest(CAST(:codes AS text[]), CAST(:vals AS text[])) AS u(code, v) "
                "WHERE r.code = u.code"),
                {"codes": [r[0] for r in rows], "vals": [r[1] for r in rows]})
        setattr(result, attr, len(rows))
    # Parents first: distributing the table later copies it in batches, each checking that
    # the parent_code of its rows exists already.
    result.added = execute_count(session, text("""
        WITH s AS MATERIALIZED (
            SELECT s.code, s.name, s.level, s.parent_code FROM stage_region s
            WHERE NOT EXISTS (SELECT 1 FROM region r WHERE r.code = s.code))
        INSERT INTO region (code, code12, name, level, parent_code, valid_from)
        SELECT s.code, rpad(s.code, 12, '0'), s.name, s.level, s.parent_code, :vf
        FROM s ORDER BY s.level, s.code
    """), params)
    # Only provinces present in the file are complete in it: close what it no longer lists.
    closed = list(session.execute(text("""
        SELECT r.code FROM region r
        WHERE r.valid_to IS NULL AND left(r.code, 2) IN (SELECT DISTINCT left(code, 2)
                                                         FROM stage_region)
          AND NOT EXISTS (SELECT 1 FROM stage_region s WHERE s.code = r.code)
        ORDER BY r.code""")).scalars())
    if closed:
        session.execute(text("""
            INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                    previous, current)
            SELECT rpad(left(code, 6), 6, '0'), 'region', code, 'update', :actor, :src,
                   jsonb_build_object('valid_to', NULL), jsonb_build_object('valid_to', :vf)
            FROM unnest(CAST(:codes AS text[])) AS code"""), {**params, "codes": closed})
        session.execute(text(
            "UPDATE region SET valid_to = :vf, updated_at = now() "
            "WHERE code = ANY(CAST(:codes AS text[]))"), {**params, "codes": closed})
    result.closed = len(closed)


_COLUMN_TYPES = {"name": "text", "parent_code": "text", "valid_to": "date"}
