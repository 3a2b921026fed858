"""Register import on a real database: matching, idempotence, history, rejects, dry run."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.idnumber import make_id_number
from cimhouse.importers.register.import_register import import_register
from cimhouse.importers.register.rows import SEALED_PREFIX
from cimhouse.schema import ChangeLog, Estate, House, ImportRun, Person, PersonHouse
from tests.helpers.keys import VAULT
from tests.helpers.register_rows import HEADER, ID_A, ID_B, ID_C, write_csv


def base_rows() -> list[list[str]]:
    addr = "浙江省嘉兴市南湖区建设街道百福弄社区居委会梅花苑小区3幢2单元501室"
    return [
        [addr, "王芳", ID_A, "13812345678", "产权", "88.5", "住宅", "汉"],
        [addr, "李强", ID_B, "", "常住", "88.5", "住宅", "汉"],
        ["南湖区百福弄社区梅花苑三栋二单元六〇二室", "赵小宝", ID_C, "", "户籍", "", "", ""],
    ]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_then_reimport_changes_nothing(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", base_rows())
    first = import_register(session, path, vault=VAULT)
    assert (first.read, first.accepted, first.rejected) == (3, 3, 0)
    assert first.counts["estates_added"] == 1
    assert first.counts["buildings_added"] == 1
    assert first.counts["houses_added"] == 2
    assert first.counts["persons_added"] == 3
    assert first.communities == ["330402007024"]
    house = session.scalars(select(House).where(House.room_label == "501")).one()
    assert house.county == "330402"
    assert house.region_code == "330402007024"
    assert house.floor_number == 5
    assert house.unit_label == "2"
    assert str(house.area_m2) == "88.50"
    assert house.address_norm is not None
    assert house.address_norm.endswith("梅花苑 3幢 2单元 501室")
    person = session.scalars(select(Person).where(Person.name == "王芳")).one()
    assert person.id_masked == ID_A[:6] + "********" + ID_A[-4:]
    assert VAULT.decrypt(person.id_cipher) == ID_A
    assert person.phone_masked == "138****5678"
    rel = session.scalars(select(PersonHouse).where(PersonHouse.person_id == person.id)).one()
    assert rel.relation == "owner"
    assert rel.attributes == {"民族": "汉"}
    assert rel.import_run_id == first.import_run_id

    log_before = count(session, ChangeLog)
    again = import_register(session, path, vault=VAULT)
    assert again.accepted == 3
    assert all(v == 0 for v in again.counts.values()), again.counts
    assert count(session, ChangeLog) == log_before
    assert count(session, House) == 2
    assert count(session, PersonHouse) == 3


def test_updated_file_updates_with_history(session: Session, tmp_path: Path) -> None:
    import_register(session, write_csv(tmp_path / "a.csv", base_rows()), vault=VAULT)
    rows = base_rows()
    rows[0][5] = rows[1][5] = "90.1"  # area corrected on every row of the house
    rows[0][3] = "13900001111"
    result = import_register(session, write_csv(tmp_path / "b.csv", rows), vault=VAULT)
    assert result.counts["houses_updated"] == 1, result.counts
    assert result.counts["persons_updated"] == 1
    assert result.counts["houses_added"] == 0
    house = session.scalars(select(House).where(House.room_label == "501")).one()
    assert str(house.area_m2) == "90.10"
    assert house.version == 2
    log = session.scalars(select(ChangeLog).where(ChangeLog.object_kind == "house",
                                                  ChangeLog.operation == "update",
                                                  ChangeLog.object_id == str(house.id))).one()
    assert log.previous is not None
    assert log.current is not None
    assert log.previous["area_m2"] == 88.5
    assert log.current["area_m2"] == 90.1
    plog = session.scalars(select(ChangeLog).where(ChangeLog.object_kind == "person")).one()
    assert plog.previous == {"name": "王芳", "phone_masked": "138****5678"}
    assert ID_A not in str(plog.current)


def test_rejects_with_reasons_and_reimportable_report(session: Session, tmp_path: Path) -> None:
    bad_id = ID_B[:17] + ("0" if ID_B[17] != "0" else "1")
    rows = [
        *base_rows(),
        ["南湖区建设街道百福弄社区梅花苑4幢101室", "错号", bad_id, "", "租住", "", "", ""],
        ["不存在的地方8号", "无址", make_id_number("330402", dt.date(1970, 1, 1), 1, "M"),
         "", "常住", "", "", ""],
        ["南湖区建设街道百福弄社区梅花苑4幢102室", "关系错", make_id_number(
            "330402", dt.date(1971, 1, 1), 2, "M"), "123", "朋友", "-3", "宫殿", ""],
    ]
    report = tmp_path / "rejects.csv"
    result = import_register(session, write_csv(tmp_path / "r.csv", rows), vault=VAULT,
                             report_path=report)
    assert (result.read, result.accepted, result.rejected) == (6, 3, 3)
    text_ = report.read_text("utf-8-sig")
    assert bad_id not in text_
    assert SEALED_PREFIX in text_
    assert "ID number check character is wrong" in text_
    assert "校验位错误" in text_
    assert "community or village not found" in text_
    assert "unknown relation" in text_
    assert "unknown house use" in text_
    assert "phone number" in text_
    assert "area is not a positive number" in text_
    lines = list(csv.reader(text_.splitlines()))
    assert lines[0][:len(HEADER)] == HEADER
    assert lines[1][lines[0].index("原始行号/line")] == "5"
    run = session.get(ImportRun, result.import_run_id)
    assert run is not None
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (6, 3, 3)

    # Fix the relation/use/area/phone row in the report and import the report as it is.
    fixed = [lines[0]] + [row for row in lines[1:] if row[1] == "关系错"]
    fixed[1][3:7] = ["", "租住", "", "住宅"]
    again = import_register(session, write_csv(tmp_path / "fixed.csv", fixed[1:],
                                               header=fixed[0]), vault=VAULT)
    assert (again.accepted, again.rejected) == (1, 0)
    assert again.unknown_columns == ["民族"]


def test_dry_run_writes_nothing(session: Session, tmp_path: Path) -> None:
    before = (count(session, Estate), count(session, ImportRun))
    result = import_register(session, write_csv(tmp_path / "r.csv", base_rows()), vault=VAULT,
                             dry_run=True)
    assert result.counts["houses_added"] == 2
    assert result.import_run_id is None
    assert (count(session, Estate), count(session, ImportRun)) == before


def test_gbk_title_rows_blank_lines_repeated_header(session: Session, tmp_path: Path) -> None:
    rows = base_rows()
    rows.insert(1, [""] * len(HEADER))
    rows.insert(2, HEADER)
    path = write_csv(tmp_path / "gbk.csv", rows, encoding="gbk",
                     preamble=["嘉兴市南湖区住户登记表,,,", "填报单位：建设街道,,,"])
    result = import_register(session, path, vault=VAULT)
    assert result.encoding == "gb18030"
    assert result.header_line == 3
    assert (result.read, result.accepted, result.blank_lines, result.repeated_headers) == \
        (3, 3, 1, 1)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"\x00\x01\x02binary", "binary"),
    (b"just some words\nand more", "not a delimited table"),
    ("姓名,年龄\n张三,30\n".encode(), "no header row"),
    ("姓名,身份证号,年龄\n张三,1,30\n".encode(), "required columns missing"),
    ("姓名,身份证号,房屋坐落,关系\n".encode(), "no data rows"),
])
def test_unreadable_file_one_error_nothing_written(session: Session, tmp_path: Path,
                                                   content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = count(session, ImportRun)
    with pytest.raises(InvalidInput, match=message):
        import_register(session, path, vault=VAULT, report_path=tmp_path / "rep.csv")
    session.rollback()
    assert count(session, ImportRun) == before
    assert not (tmp_path / "rep.csv").exists()


def test_realestate_number_matches_and_is_validated(session: Session, tmp_path: Path) -> None:
    header = ["小区", "幢号", "室号", "社区", "姓名", "身份证号", "关系", "不动产单元号"]
    unit_no = "330402007001GB00012F00030501"
    rows = [["梅花苑", "3", "501", "南湖区百福弄社区", "王芳", ID_A, "产权", unit_no],
            ["梅花苑", "3", "502", "南湖区百福弄社区", "李强", ID_B, "产权", "3304020070"]]
    result = import_register(session, write_csv(tmp_path / "u.csv", rows, header=header),
                             vault=VAULT)
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.reasons
    assert "不动产单元号应为28位，实际10位" in result.reasons
    # The same unit number with a changed room label finds the same house and updates it.
    rows = [["梅花苑", "3", "0501", "南湖区百福弄社区", "王芳", ID_A, "产权", unit_no]]
    again = import_register(session, write_csv(tmp_path / "u2.csv", rows, header=header),
                            vault=VAULT)
    assert again.counts["houses_added"] == 0
    assert session.scalar(text("SELECT count(*) FROM house WHERE realestate_unit_no = :u"),
                          {"u": unit_no}) == 1
