"""Rows that disagree with what is stored (issue 11 items 9 and 10): a person renamed by a
later file, a lifecycle edit (codes relabel/split) undone by re-importing an older file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.relabel_object import relabel_object
from cimhouse.coding.split_house import split_house
from cimhouse.errors import InvalidInput, exit_code
from cimhouse.importers.register.import_register import import_register
from cimhouse.schema import ChangeLog, Estate, House, ImportRun, Person, PersonHouse
from tests.helpers.cli import cli, cli_env
from tests.helpers.keys import VAULT
from tests.helpers.register_conflicts import HEADER, person, report_rows, row, write


def _log_text(session: Session) -> str:
    return json.dumps([[c.previous, c.current] for c in session.scalars(select(ChangeLog))],
                      ensure_ascii=False, default=str)


def test_id_number_stored_with_another_name_is_a_conflict_across_files(
        session: Session, tmp_path: Path) -> None:
    """Issue 11 item 9: 史俊平 became 付阳 (persons_updated 1) when a later file said so."""
    someone, other = person(1), person(2)
    first = import_register(session, write(tmp_path / "a.csv", [
        row(501, "史俊平", someone), row(502, "王芳", other)]), vault=VAULT)
    assert first.counts["persons_added"] == 2
    report = tmp_path / "rejects.csv"
    second = import_register(session, write(tmp_path / "b.csv", [
        row(501, "付阳", someone, relation="产权"),  # same ID number, another name
        row(503, "付阳", someone),                   # every row of that ID number goes
        row(502, "王芳", other, relation="租住")]), vault=VAULT, report_path=report)
    assert (second.read, second.accepted, second.rejected) == (3, 1, 2)
    assert second.counts["persons_updated"] == 0
    assert second.counts["persons_conflicting"] == 1
    assert second.counts["relations_added"] == 1  # 王芳's new relation still imports
    names = set(session.scalars(select(Person.name)))
    assert names == {"史俊平", "王芳"}
    assert session.scalar(select(func.count()).select_from(House)) == 2  # 503 not created
    lines = report_rows(report)
    assert sorted(int(r[len(HEADER) + 1]) for r in lines[1:]) == [2, 3]
    reason = lines[1][len(HEADER)]
    masked = someone[:6] + "********" + someone[-4:]
    assert f"身份证号已以另一姓名登记: {masked} 已登记的姓名为 史**，本文件为 付*" in reason
    assert f"ID number stored with another name: {masked} is stored as 史**, this file " \
           "says 付*" in reason
    assert "--update-persons" in reason
    report_text = report.read_text("utf-8-sig")
    assert someone not in report_text
    assert "史俊平" not in report_text
    summary = session.get(ImportRun, second.import_run_id).summary  # type: ignore[union-attr]
    assert summary["persons_conflicting"] == 1
    assert summary["rejected_reasons"] == {"身份证号已以另一姓名登记": 2}
    assert someone not in json.dumps(summary, ensure_ascii=False)

    # The operator says the file is right: renamed, with history (masked values only).
    renamed = import_register(session, write(tmp_path / "c.csv", [
        row(501, "付阳", someone, relation="产权")]), vault=VAULT, update_persons=True)
    assert (renamed.rejected, renamed.counts["persons_updated"]) == (0, 1)
    assert renamed.counts["persons_conflicting"] == 0
    assert set(session.scalars(select(Person.name))) == {"付阳", "王芳"}
    assert someone not in _log_text(session)


def test_same_clash_inside_one_file_is_rejected_too(session: Session, tmp_path: Path) -> None:
    """Both ways of the clash end the same: rejected rows, the stored record unchanged."""
    someone = person(3)
    import_register(session, write(tmp_path / "a.csv", [row(501, "史俊平", someone)]),
                    vault=VAULT)
    result = import_register(session, write(tmp_path / "b.csv", [
        row(501, "付阳", someone), row(502, "付阳", someone), row(503, "付月", someone)]),
        vault=VAULT, update_persons=True)  # two names in one file: no flag picks one
    assert (result.accepted, result.rejected) == (0, 3)
    assert set(session.scalars(select(Person.name))) == {"史俊平"}


def _coded_house(session: Session, tmp_path: Path) -> tuple[Path, str]:
    path = write(tmp_path / "register.csv", [row(501, "王芳", person(11), area="88.5"),
                                             row(501, "李强", person(12), area="88.5"),
                                             row(502, "赵敏", person(13))])
    import_register(session, path, vault=VAULT)
    assign_codes(session, "330402", actor="tester")
    code = session.scalar(select(House.code).where(House.room_label == "501"))
    assert code is not None
    return path, code


def test_reimport_keeps_a_newer_relabel_and_reports_the_rows(session: Session,
                                                              tmp_path: Path) -> None:
    """Issue 11 item 10: re-importing the register undid `codes relabel` (houses_updated 1)."""
    path, code = _coded_house(session, tmp_path)
    relabel_object(session, code, actor="alice", room_label="1101",
                   realestate_unit_no="330402007024GB00012F00031101")
    report = tmp_path / "rejects.csv"
    again = import_register(session, path, vault=VAULT, report_path=report)
    assert again.counts["houses_updated"] == 0
    assert again.counts["houses_edits_kept"] == 1
    assert (again.accepted, again.rejected) == (1, 2)  # both rows of house 501
    house = session.scalars(select(House).where(House.code == code)).one()
    assert house.room_label == "1101"
    assert house.realestate_unit_no == "330402007024GB00012F00031101"
    lines = report_rows(report)
    reasons = lines[1][len(HEADER)]
    assert f"房屋 {code} 的室号已于" in reasons
    assert "经 relabel 改为 1101，本文件为 501" in reasons
    assert f"house edited after the file's data: house {code}, the room was set to 1101 by " \
           "relabel on" in reasons
    assert "and this file says 501; the edit is kept" in reasons
    assert "不动产单元号" in reasons  # each disagreeing field is named
    summary = session.get(ImportRun, again.import_run_id).summary  # type: ignore[union-attr]
    assert summary["houses_edits_kept"] == 1

    # The file's data predates the edit: still kept. A file newer than the edit wins.
    today = session.execute(select(func.now())).scalar_one()
    older = import_register(session, path, vault=VAULT, as_of=today - dt.timedelta(days=1))
    assert older.counts["houses_edits_kept"] == 1
    assert older.rejected == 2
    newer = import_register(session, path, vault=VAULT, as_of=today + dt.timedelta(days=1))
    assert newer.counts["houses_edits_kept"] == 0
    assert newer.rejected == 0
    assert newer.counts["houses_updated"] == 1
    session.refresh(house)
    assert house.room_label == "501"
    log = session.scalars(select(ChangeLog).where(
        ChangeLog.object_kind == "house", ChangeLog.source.like("import_run:%"))).all()
    assert [c.previous["room_label"] for c in log if c.previous] == ["1101"]  # with history


def test_an_edit_the_file_agrees_with_or_an_untouched_field_is_no_conflict(
        session: Session, tmp_path: Path) -> None:
    _path, code = _coded_house(session, tmp_path)
    relabel_object(session, code, actor="alice", floor_label="5F")
    rows = [row(501, "王芳", person(11), area="90.1"), row(501, "李强", person(12), area="90.1"),
            row(502, "赵敏", person(13))]  # the area changed, the relabelled field is blank
    result = import_register(session, write(tmp_path / "b.csv", rows), vault=VAULT)
    assert (result.rejected, result.counts["houses_edits_kept"]) == (0, 0)
    house = session.scalars(select(House).where(House.code == code)).one()
    assert (house.floor_label, str(house.area_m2)) == ("5F", "90.10")


def test_reimport_does_not_undo_a_split(session: Session, tmp_path: Path) -> None:
    path, code = _coded_house(session, tmp_path)
    first, second = split_house(session, code, 2, actor="alice")
    result = import_register(session, path, vault=VAULT)
    # The old house is retired; the file's 501 names a new house by its address, whose
    # label the split set: the rows are rejected, the labels stay.
    assert (result.rejected, result.counts["houses_updated"]) == (2, 0)
    assert result.counts["houses_edits_kept"] == 1
    labels = {c: label for c, label in session.execute(select(House.code, House.room_label)
                                                        .where(House.code.in_([first, second])))}
    assert labels == {first: "501-1", second: "501-2"}


def test_cli_update_persons_and_as_of(fresh_db: str, fresh_engine: Engine,
                                      tmp_path: Path) -> None:
    env = cli_env(fresh_db, tmp_path / "var")
    someone = person(21)
    assert cli("import", "register", str(write(tmp_path / "a.csv", [
        row(501, "史俊平", someone)])), "--json", env=env).returncode == 0
    renamed = write(tmp_path / "b.csv", [row(501, "付阳", someone)])
    kept = cli("import", "register", str(renamed), "--json", env=env)
    assert kept.returncode == 1
    assert json.loads(kept.stdout)["persons_conflicting"] == 1
    assert someone not in kept.stdout + kept.stderr
    done = cli("import", "register", str(renamed), "--json", "--update-persons", env=env)
    assert done.returncode == 0
    assert json.loads(done.stdout)["persons_updated"] == 1
    bad = cli("import", "register", str(renamed), "--as-of", "yesterday", env=env)
    assert bad.returncode == exit_code(InvalidInput(""))
    assert "--as-of" in bad.stderr
    ok = cli("import", "register", str(renamed), "--as-of", "2026-12-01", "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    with fresh_engine.connect() as conn:
        options = conn.execute(text(
            "SELECT options FROM import_run ORDER BY id DESC LIMIT 1")).scalar_one()
        assert options["as_of"].startswith("2026-12-01T23:59:59")
        assert conn.execute(select(func.count()).select_from(PersonHouse)).scalar() == 1


def test_reimport_does_not_make_a_twin_of_a_renamed_estate(session: Session,
                                                            tmp_path: Path) -> None:
    """A relabelled estate name: the old file's name would have become a new, empty estate."""
    path, _code = _coded_house(session, tmp_path)
    estate = session.scalars(select(Estate)).one()
    assert estate.code is not None
    relabel_object(session, estate.code, actor="alice", name="梅花园")
    report = tmp_path / "rejects.csv"
    again = import_register(session, path, vault=VAULT, report_path=report)
    assert (again.counts["estates_added"], again.counts["estates_edits_kept"]) == (0, 1)
    assert (again.accepted, again.rejected) == (0, 3)
    assert list(session.scalars(select(Estate.name))) == ["梅花园"]
    reason = report_rows(report)[1][len(HEADER)]
    assert "小区 梅花苑 已于" in reason
    assert f"更名为 梅花园（{estate.code}）" in reason
    assert f"estate renamed after the file's data: 梅花苑 was renamed 梅花园 ({estate.code}) " \
           "by relabel on" in reason
    today = session.execute(select(func.now())).scalar_one()
    older = import_register(session, path, vault=VAULT, as_of=today - dt.timedelta(days=1))
    assert older.counts["estates_edits_kept"] == 1
