"""The register import warns about a new estate named like one of its community (恰景府 for
怡景府) in the report and the summary, and still imports the rows."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cimhouse.idnumber import make_id_number
from cimhouse.importers.register.estate_warnings import is_near
from cimhouse.importers.register.import_register import import_register
from cimhouse.schema import Estate
from tests.helpers.keys import VAULT
from tests.helpers.register_rows import HEADER, write_csv

PLACE = "浙江省嘉兴市南湖区建设街道百福弄社区居委会"


def row(estate: str, room: int, seq: int) -> list[str]:
    number = make_id_number("330402", dt.date(1960, 1, 1), seq, "M")
    return [f"{PLACE}{estate}1幢1单元{room}室", f"住户{seq}", number, "", "产权", "", "", ""]


def test_near_duplicate_estate_is_reported_not_silently_created(session: Session,
                                                                 tmp_path: Path) -> None:
    first = import_register(session, write_csv(tmp_path / "a.csv", [row("怡景府", 101, 1)]),
                            vault=VAULT)
    assert first.estate_warnings == []
    rows = [row("恰景府", 201, 2), row("恰景府", 202, 3), row("梅花苑", 301, 4),
            row("怡景府", 102, 5)]
    report = tmp_path / "report.csv"
    result = import_register(session, write_csv(tmp_path / "b.csv", rows), vault=VAULT,
                             report_path=report)
    assert (result.accepted, result.rejected) == (4, 0)  # a warning rejects nothing
    assert result.estate_warnings == [{"estate": "恰景府", "community": "330402007024",
                                       "similar": ["怡景府"], "rows": 2}]
    assert result.summary()["estate_warnings"] == result.estate_warnings
    lines = list(csv.DictReader(report.read_text("utf-8-sig").splitlines()))
    assert [r["原始行号/line"] for r in lines] == ["2", "3"]
    assert all(r["错误原因/reasons"] == "" and "恰景府 ≈ 怡景府" in r["警告/warnings"]
               and "check for a typo" in r["警告/warnings"] for r in lines)
    assert all(r["公民身份号码"].startswith("sealed:") for r in lines)
    names = session.scalars(select(Estate.name).order_by(Estate.name)).all()
    assert sorted(names) == ["怡景府", "恰景府", "梅花苑"]
    # the report imports again as it is and changes nothing
    again = import_register(session, report, vault=VAULT)
    assert (again.accepted, again.rejected, again.counts["houses_added"]) == (2, 0, 0)
    assert session.scalar(select(func.count()).select_from(Estate)) == 3
    assert HEADER[0] in lines[0]


def test_what_counts_as_near() -> None:
    assert is_near("恰景府", "怡景府")
    assert is_near("锦绣花园", "锦秀华园")
    assert not is_near("梅花苑", "桂香苑")  # two of three characters: another estate
    assert not is_near("怡景府", "怡景府")
    assert not is_near("梅花苑", "阳光花园")
