"""The packaged Zhejiang division codes load completely and idempotently."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from cimhouse.importers.load_regions import load_regions, packaged_regions_path
from cimhouse.schema import ChangeLog, Region


def count(session: Session, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(Region).where(*where)) or 0


def test_counts_by_level(session: Session) -> None:
    assert count(session) == 27036
    by_level = dict(session.execute(select(Region.level, func.count()).group_by(Region.level)).all())
    assert by_level == {1: 1, 2: 11, 3: 90, 4: 1387, 5: 25547}


def test_jiaxing(session: Session) -> None:
    jx = dict(session.execute(
        select(Region.level, func.count()).where(Region.code.startswith("3304"))
        .group_by(Region.level)).all())
    assert jx == {2: 1, 3: 7, 4: 72, 5: 1202}
    assert session.get(Region, "3304").name == "嘉兴市"  # type: ignore[union-attr]


def test_every_parent_exists_and_code12_is_padded(session: Session) -> None:
    orphans = session.execute(text(
        "SELECT count(*) FROM region c LEFT JOIN region p ON p.code = c.parent_code "
        "WHERE c.parent_code IS NOT NULL AND p.code IS NULL")).scalar()
    assert orphans == 0
    assert count(session, Region.code12 != func.rpad(Region.code, 12, "0")) == 0


def test_reload_changes_nothing(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(ChangeLog))
    result = load_regions(session)
    assert (result.read, result.accepted, result.added) == (27036, 27036, 0)
    assert (result.renamed, result.closed, result.reopened, result.reparented) == (0, 0, 0, 0)
    assert session.scalar(select(func.count()).select_from(ChangeLog)) == before


def test_newer_file_renames_closes_adds(session: Session, tmp_path: Path) -> None:
    rows = list(csv.DictReader(packaged_regions_path().read_text("utf-8-sig").splitlines()))
    newer = [r for r in rows if r["code"] != "330402007024"]
    for r in newer:
        if r["code"] == "330402":
            r["name"] = "南湖区（新）"
    newer.append({"code": "330402007999", "code12": "330402007999", "name": "新社区",
                  "level": "5", "parentCode": "330402007"})
    newer.append({"code": "33040200X", "code12": "", "name": "bad", "level": "4",
                  "parentCode": "330402"})
    path = tmp_path / "newer.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(newer)
    report = tmp_path / "rejects.csv"
    result = load_regions(session, path, report_path=report)
    assert result.read == len(newer)
    assert result.accepted + len(result.rejected) == result.read
    assert (result.added, result.renamed, result.closed) == (1, 1, 1)
    closed = session.get(Region, "330402007024")
    assert closed is not None
    assert closed.valid_to is not None
    assert count(session) == 27037
    assert result.report_path == report
    assert "code is not numeric" in report.read_text("utf-8-sig")
    logged = session.scalars(select(ChangeLog.object_id).where(
        ChangeLog.object_kind == "region")).all()
    assert "330402" in logged
    assert "330402007024" in logged


def test_dry_run_writes_nothing(session: Session) -> None:
    session.execute(text("UPDATE region SET name = 'x' WHERE code = '3304'"))
    result = load_regions(session, dry_run=True)
    assert result.renamed == 1
    assert result.import_run_id is None
    assert session.get(Region, "3304").name == "x"  # type: ignore[union-attr]
