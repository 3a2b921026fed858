"""Households (户) in the register import: columns, validation, conflicts, moves (issue 15)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cimhouse.db import session_scope
from cimhouse.idnumber import make_id_number
from cimhouse.importers.register.columns import header_field
from cimhouse.importers.register.import_register import import_register
from cimhouse.importers.register.values import head_relation, household_kind
from cimhouse.pii import PiiVault
from tests.helpers.database import ON_CITUS

VAULT = PiiVault(b"k" * 32)
ADDR = "南湖区建设街道百福弄社区梅花苑3幢2单元{room}室"
# The file a new user tried (issue 15): 户号 next to the address, 户主姓名 before 姓名.
HEADER = ["户号", "房屋坐落", "户主姓名", "姓名", "身份证号", "与户主关系", "户别"]


def pid(n: int, year: int | None = None) -> str:
    born = dt.date(year or 1960 + n % 40, 1 + n % 12, 1 + n % 28)
    return make_id_number("330402", born, n, "F")


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def report_reasons(path: Path) -> dict[str, str]:
    """name -> reason of each rejected row."""
    rows = list(csv.reader(path.read_text("utf-8-sig").splitlines()))
    at = rows[0].index("姓名")
    return {r[at]: r[len(HEADER)] for r in rows[1:]}


def members(session: Session, number: str) -> list[tuple[str, str, bool]]:
    return [tuple(r) for r in session.execute(text("""
        SELECT p.name, m.relation, m.valid_to IS NULL
        FROM household h JOIN household_member m ON m.county = h.county
                                                AND m.household_id = h.id
        JOIN person p ON p.id = m.person_id
        WHERE h.number = :n ORDER BY m.valid_to NULLS FIRST, p.name"""), {"n": number})]


def family(number: str = "H0001", room: int = 201) -> list[list[str]]:
    address = ADDR.format(room=room)
    return [[number, address, "张建国", "张建国", pid(1), "户主", "家庭户"],
            [number, address, "张建国", "李秀英", pid(2), "配偶", "家庭户"],
            [number, address, "张建国", "张子涵", pid(3, 2024), "长女", "家庭户"]]


def test_household_headers_are_never_room_or_name() -> None:
    assert header_field("户号") == "household_no"
    assert header_field("户主姓名") == "head_name"
    assert header_field("姓名") == "name"
    assert header_field("与户主关系") == "head_relation"
    assert header_field("户别") == "household_kind"
    assert (head_relation("本人"), head_relation("长子"), head_relation("孙女")) == \
        ("head", "son", "grandchild")
    assert (household_kind("集体户"), household_kind("家庭")) == ("collective", "family")


def test_a_household_register_imports_with_head_members_and_house(session: Session,
                                                                   tmp_path: Path) -> None:
    result = import_register(session, write(tmp_path / "hh.csv", family()), vault=VAULT)
    assert (result.read, result.accepted, result.rejected) == (3, 3, 0)
    assert result.counts["households_added"] == 1
    assert result.counts["members_added"] == 3
    assert members(session, "H0001") == [("张子涵", "daughter", True),
                                         ("张建国", "head", True), ("李秀英", "spouse", True)]
    # three people with their own names, registered (户籍) at the one house of room 201
    kind, room = session.execute(text("""
        SELECT h.kind, x.room_label FROM household h
        JOIN house x ON x.county = h.county AND x.id = h.house_id""")).one()
    assert (kind, room) == ("family", "201")
    assert session.scalar(text("SELECT count(DISTINCT relation) FROM person_house")) == 1
    assert session.scalar(text(
        "SELECT count(*) FROM change_log WHERE object_kind LIKE 'household%'")) == 4

    again = import_register(session, write(tmp_path / "hh.csv", family()), vault=VAULT)
    assert {k: v for k, v in again.counts.items() if k.startswith(("household", "member"))} \
        == {"households_added": 0, "households_updated": 0, "members_added": 0,
            "members_ended": 0}


def test_household_conflicts_are_rejected_per_row_with_bilingual_reasons(
        session: Session, tmp_path: Path) -> None:
    a201, a202, a203 = (ADDR.format(room=r) for r in (201, 202, 203))
    rows = [
        # H1: two heads
        ["H1", a201, "王一", "王一", pid(11), "户主", ""],
        ["H1", a201, "", "王二", pid(12), "户主", ""],
        # H2: no head among its members
        ["H2", a202, "赵大", "赵小", pid(13), "子", ""],
        # H3: fine, but 孙丽 is also in H2's file rows below -> one household at a time
        ["H3", a203, "孙强", "孙强", pid(14), "户主", "集体户"],
        ["H3", a203, "孙强", "孙丽", pid(15), "其他", "集体户"],
        ["H2", a202, "赵大", "孙丽", pid(15), "女", ""],
        # unknown relation to the head; head whose 户主姓名 is someone else
        ["H4", a203, "钱多", "钱多", pid(16), "表舅", ""],
        ["H5", a203, "周大", "周小", pid(17), "户主", ""],
    ]
    report = tmp_path / "rejects.csv"
    result = import_register(session, write(tmp_path / "bad.csv", rows), vault=VAULT,
                             report_path=report)
    assert result.read == result.accepted + result.rejected == 8
    reasons = report_reasons(report)
    assert "同一户有多个户主: H1 / household H1 has more than one head" in reasons["王一"]
    assert "household H1 has more than one head" in reasons["王二"]
    assert "户内没有户主: H2 / household H2 has no head" in reasons["赵小"]
    assert "a person belongs to several households in this file" in reasons["孙丽"]
    assert "与户主关系无法识别: 表舅 / unknown relation to the head" in reasons["钱多"]
    assert "户主姓名与本人姓名不符: 周大 与 周小" in reasons["周小"]
    # H3 lost its second member to the conflict but keeps a valid head: imported
    assert set(reasons) == {"王一", "王二", "赵小", "孙丽", "钱多", "周小"}
    assert members(session, "H3") == [("孙强", "head", True)]
    assert session.scalar(text("SELECT kind FROM household WHERE number = 'H3'")) == \
        "collective"


def test_a_person_moving_household_ends_the_old_membership(session: Session,
                                                           tmp_path: Path) -> None:
    import_register(session, write(tmp_path / "one.csv", family()), vault=VAULT)
    # the daughter is now head of her own household at room 202
    moved = [["H0002", ADDR.format(room=202), "张子涵", "张子涵", pid(3, 2024), "户主", ""]]
    result = import_register(session, write(tmp_path / "two.csv", moved), vault=VAULT)
    assert (result.counts["members_ended"], result.counts["members_added"]) == (1, 1)
    assert members(session, "H0001") == [("张建国", "head", True), ("李秀英", "spouse", True),
                                         ("张子涵", "daughter", False)]
    assert members(session, "H0002") == [("张子涵", "head", True)]
    assert session.scalar(text(
        "SELECT count(*) FROM change_log WHERE object_kind = 'household_member' "
        "AND operation = 'update'")) == 1


def test_a_new_head_without_placing_the_stored_head_is_rejected(session: Session,
                                                               tmp_path: Path) -> None:
    import_register(session, write(tmp_path / "one.csv", family()), vault=VAULT)
    coup = [["H0001", ADDR.format(room=201), "李秀英", "李秀英", pid(2), "户主", ""]]
    report = tmp_path / "rejects.csv"
    result = import_register(session, write(tmp_path / "two.csv", coup), vault=VAULT,
                             report_path=report)
    assert (result.accepted, result.rejected) == (0, 1)
    assert "the stored household H0001 has another head" in report_reasons(report)["李秀英"]
    assert members(session, "H0001")[1] == ("张建国", "head", True)


def test_an_import_leaves_fresh_statistics_for_the_next_one(fresh_engine: Engine,
                                                             tmp_path: Path) -> None:
    """Regression: re-importing a 2,000-row register right after its first import took 62 s,
    its household checks planned for a ``household`` table the planner thought empty; on
    Citus a code job right after a 1M-row import planned for empty shards (minutes)."""
    filled: tuple[str, ...] = ("house", "person_house", "household", "household_member")
    if not ON_CITUS:  # on Citus a reference table, left to autovacuum (apply._analyze_filled)
        filled += ("person",)
    with session_scope(fresh_engine) as session:
        before = table_rows_estimate(session, filled)
        import_register(session, write(tmp_path / "hh.csv", family()), vault=VAULT)
    with session_scope(fresh_engine) as session:
        after = table_rows_estimate(session, filled)
    assert all(before[t] <= 0 for t in filled), before  # a new database: never analysed
    assert all(after[t] >= 1 for t in filled), after


def table_rows_estimate(session: Session, tables: tuple[str, ...]) -> dict[str, float]:
    """The planner's row estimate of each table: on Citus, the largest of its shards'
    (what the workers plan with), else its own."""
    if not ON_CITUS:
        return {str(name): float(rows) for name, rows in session.execute(text(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY (:t)"),
            {"t": list(tables)})}
    estimates: dict[str, float] = {}
    for table in tables:
        shards = session.execute(text(
            "SELECT result FROM run_command_on_placements(CAST(:t AS regclass), "
            "'SELECT reltuples FROM pg_class WHERE oid = ''%s''::regclass')"),
            {"t": table}).scalars()
        estimates[table] = max(float(result) for result in shards)
    return estimates
