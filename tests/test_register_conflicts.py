"""Rows of one file that disagree about a house or a person; worker processes; locations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import copy_stream, copy_text_line, create_staging
from cimhouse.importers.register.import_register import import_register
from tests.helpers.keys import VAULT
from tests.helpers.register_conflicts import HEADER, UNIT_NO, person, report_rows, row, write


def test_rows_of_one_house_that_disagree_are_all_rejected(session: Session,
                                                          tmp_path: Path) -> None:
    rows = [row(501, "王芳", person(1), area="88.5"),
            row(501, "李强", person(2), area="90.1"),
            row(501, "赵敏", person(3), area=""),  # empty says nothing: still a conflict row
            row(502, "孙丽", person(4)),
            row(502, "周杰", person(5), area="")]  # empty next to 88.5: no conflict
    report = tmp_path / "rejects.csv"
    result = import_register(session, write(tmp_path / "r.csv", rows), vault=VAULT,
                             report_path=report)
    assert (result.read, result.accepted, result.rejected) == (5, 2, 3)
    assert result.counts["houses_added"] == 1
    assert result.counts["relations_added"] == 2
    lines = report_rows(report)
    assert sorted(r[1] for r in lines[1:]) == ["李强", "王芳", "赵敏"]
    reason = lines[1][len(HEADER)]
    assert "同一房屋各行的建筑面积不一致: 88.50 与 90.10" in reason
    assert "rows of one house disagree on the area: 88.50 vs 90.10" in reason
    area = session.scalar(text("SELECT area_m2 FROM house WHERE room_label = '502'"))
    assert area == Decimal("88.50")

    # The corrected rows import as they are (sealed ID numbers included).
    fixed = [r[:len(HEADER)] for r in lines[1:]]
    for cells in fixed:
        cells[5] = "90.1"
    again = import_register(session, write(tmp_path / "fixed.csv", fixed), vault=VAULT)
    assert (again.accepted, again.rejected) == (3, 0)
    assert session.scalar(text("SELECT area_m2 FROM house WHERE room_label = '501'")) == \
        Decimal("90.10")


def test_one_id_number_with_two_names_or_phones_is_rejected(session: Session,
                                                           tmp_path: Path) -> None:
    rows = [row(501, "王芳", person(1), phone="13812345678", relation="产权"),
            row(502, "王方", person(1), relation="产权"),
            row(503, "李强", person(2), phone="13812345678"),
            row(504, "李强", person(2), phone="13900001111"),
            row(505, "孙丽", person(3), phone="13812345678"),
            row(506, "孙丽", person(3))]  # a phone on one row only: that phone
    report = tmp_path / "rejects.csv"
    result = import_register(session, write(tmp_path / "r.csv", rows), vault=VAULT,
                             report_path=report)
    assert (result.accepted, result.rejected) == (2, 4)
    text_ = report.read_text("utf-8-sig")
    assert "同一身份证号各行的姓名不一致: 王方 与 王芳" in text_
    assert "rows of one ID number disagree on the phone: 138****5678 vs 139****1111" in text_
    assert person(1) not in text_
    assert "13900001111" not in text_
    phone = session.scalar(text("SELECT phone_masked FROM person WHERE name = '孙丽'"))
    assert phone == "138****5678"


def test_one_unit_number_for_two_houses_is_rejected(session: Session, tmp_path: Path) -> None:
    shared = UNIT_NO.format(room=501)
    rows = [row(501, "王芳", person(1), unit_no=shared),
            row(502, "李强", person(2), unit_no=shared),
            row(503, "孙丽", person(3))]
    result = import_register(session, write(tmp_path / "r.csv", rows), vault=VAULT)
    assert (result.accepted, result.rejected) == (1, 2)
    assert result.reasons == {"同一不动产单元号对应本文件中的不同房屋": 2}


def test_worker_processes_give_the_same_result_as_inline(session: Session,
                                                         tmp_path: Path) -> None:
    rows = [row(100 + i // 3, f"住户{i}", person(i), area="" if i % 3 else "70")
            for i in range(60)]
    rows[7][4] = "朋友"  # one bad relation
    rows[20][5] = "71"   # one house in conflict (its three rows)
    path = write(tmp_path / "r.csv", rows)
    inline = import_register(session, path, vault=VAULT, workers=0, dry_run=True)
    forked = import_register(session, path, vault=VAULT, workers=2, chunk_bytes=300,
                             report_path=tmp_path / "rejects.csv")
    assert (forked.read, forked.accepted, forked.rejected) == (60, 56, 4)
    assert forked.counts == inline.counts
    assert forked.reasons == inline.reasons
    assert len(report_rows(tmp_path / "rejects.csv")) == 1 + 4
    assert session.scalar(text("SELECT count(*) FROM person_house")) == 56


def test_register_point_is_the_house_location(session: Session, tmp_path: Path) -> None:
    rows = [row(501, "王芳", person(1), lon="120.7816685", lat="30.7262416")]
    import_register(session, write(tmp_path / "a.csv", rows), vault=VAULT)
    point = session.execute(text("SELECT ST_X(location), ST_Y(location), ST_SRID(location), "
                                 "attributes FROM house")).one()
    assert (round(point[0], 7), round(point[1], 7), point[2], point[3]) == \
        (120.7816685, 30.7262416, 4490, {})
    rows[0][7] = "120.79"
    again = import_register(session, write(tmp_path / "b.csv", rows), vault=VAULT)
    assert again.counts["houses_updated"] == 1
    log = session.execute(text("SELECT previous -> 'location', current -> 'location' "
                               "FROM change_log WHERE object_kind = 'house' AND operation = 'update'")).one()
    assert log[0] == [120.7816685, 30.7262416]
    assert log[1] == [120.79, 30.7262416]


def test_copy_text_line_round_trips_awkward_values(session: Session) -> None:
    values = ("a\tb\nc\\d\re", None, b"\x00\xff", dt.date(2024, 2, 29), Decimal("88.50"),
              3.25, 7, True, "社区")
    create_staging(session, "stage_copy_check",
                   "t text, n text, b bytea, d date, m numeric, f float8, i int, k bool, "
                   "z text")
    with copy_stream(session, "stage_copy_check", ["t", "n", "b", "d", "m", "f", "i", "k",
                                                   "z"]) as copy:
        copy.write(copy_text_line(values))
    assert tuple(session.execute(text("SELECT * FROM stage_copy_check")).one()) == values


def test_changed_extra_columns_update_the_relation_with_history(session: Session,
                                                                tmp_path: Path) -> None:
    header = [*HEADER, "备注"]
    first = import_register(session, write(tmp_path / "a.csv",
                                           [[*row(501, "王芳", person(1)), "独居"]], header),
                            vault=VAULT)
    assert first.counts["relations_added"] == 1
    same = import_register(session, write(tmp_path / "b.csv",
                                          [[*row(501, "王芳", person(1)), "独居"]], header),
                           vault=VAULT)
    assert same.counts["relations_updated"] == 0
    changed = import_register(session, write(tmp_path / "c.csv",
                                             [[*row(501, "王芳", person(1)), "子女同住"]], header),
                              vault=VAULT)
    assert changed.counts["relations_updated"] == 1
    assert changed.counts["relations_added"] == 0
    log = session.execute(text("SELECT previous, current FROM change_log "
                               "WHERE object_kind = 'person_house' AND operation = 'update'")).one()
    assert log == ({"attributes": {"备注": "独居"}}, {"attributes": {"备注": "子女同住"}})
    version = session.scalar(text("SELECT version FROM person_house"))
    assert version == 2
