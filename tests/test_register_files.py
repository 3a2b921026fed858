"""Register files as offices send them: XLSX with merged cells, mapping files, CLI, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cimhouse.demo.generate_demo import generate_demo
from cimhouse.errors import InvalidInput, exit_code
from cimhouse.importers.register.import_register import import_register
from cimhouse.importers.register.read_table import open_table
from cimhouse.schema import House, PersonHouse
from tests.helpers.cli import cli, cli_env
from tests.helpers.keys import VAULT
from tests.helpers.register_rows import ID_A, ID_B, ID_C


def write_sheet(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("登记表")
    sheet.merge_range(0, 0, 0, 7, "南湖区建设街道百福弄社区 住户登记表")
    sheet.write_row(2, 0, ["社区", "小区", "楼栋", "房间", "住户", "住户证件", "性质", "面积"])
    sheet.merge_range(3, 0, 5, 0, "南湖区百福弄社区")  # merged down: one community cell
    sheet.merge_range(3, 1, 5, 1, "梅花苑")
    rows: list[list[str | float | None]] = [["3", "501", "王芳", ID_A, "产权", 88.5],
            ["3", "501", "李强", ID_B, "常住", 88.5],
            ["三号楼", "六〇二", "赵小宝", ID_C, "户籍", None]]
    for offset, row in enumerate(rows):
        for col, value in enumerate(row, start=2):
            if value is not None:
                sheet.write(3 + offset, col, value)
    book.close()
    return path


def test_xlsx_with_title_merged_cells_and_mapping(session: Session, tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "登记表.xlsx")
    table = open_table(path)
    assert (table.kind, table.header_line) == ("xlsx", 3)
    rows = list(table.rows())
    assert [cells[0] for _, cells in rows] == ["南湖区百福弄社区"] * 3  # merged filled
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"住户证件": "id_number", "房间": "room", "性质": "relation",
                                   "住户": "name"}, ensure_ascii=False), "utf-8")
    result = import_register(session, path, vault=VAULT, mapping=mapping)
    assert (result.read, result.accepted, result.rejected) == (3, 3, 0), result.reasons
    assert result.counts["houses_added"] == 2
    assert result.kind == "xlsx"
    rooms = set(session.scalars(select(House.room_label)))
    assert rooms == {"501", "602"}


def test_mapping_file_errors_are_clear(session: Session, tmp_path: Path) -> None:
    from cimhouse.errors import InvalidInput

    path = write_sheet(tmp_path / "r.xlsx")
    bad = tmp_path / "m.csv"
    bad.write_text("住户证件,passport\n", "utf-8")
    with pytest.raises(InvalidInput, match="unknown field 'passport'"):
        import_register(session, path, vault=VAULT, mapping=bad)
    with pytest.raises(InvalidInput, match="required columns missing"):
        import_register(session, path, vault=VAULT)  # 住户证件 unknown without the mapping


def test_mapping_naming_an_absent_column_is_refused_before_any_work(
        session: Session, tmp_path: Path) -> None:
    """Issue 11 item 12: a mapping column the file does not have was silently ignored."""
    from cimhouse.errors import InvalidInput

    path = write_sheet(tmp_path / "r.xlsx")
    mapping = tmp_path / "other-office.json"  # its phone column is not in this file
    mapping.write_text(json.dumps({"住户证件": "id_number", "房间": "room", "性质": "relation",
                                   "住户": "name", "手机号码（住户）": "phone",
                                   "备用列": "ignore"}, ensure_ascii=False), "utf-8")
    runs = session.scalar(text("SELECT count(*) FROM import_run"))
    with pytest.raises(InvalidInput) as refused:
        import_register(session, path, vault=VAULT, mapping=mapping)
    message = str(refused.value)
    assert "the mapping names columns the file does not have: 手机号码（住户）, 备用列" in message
    chinese = refused.value.message.render("zh")  # type: ignore[attr-defined]
    assert "映射文件中的列在本文件中不存在：手机号码（住户）, 备用列" in chinese
    assert "header on line 3: 社区, 小区, 楼栋, 房间, 住户, 住户证件, 性质, 面积" in message
    assert session.scalar(text("SELECT count(*) FROM import_run")) == runs  # no work done
    assert session.scalar(select(func.count()).select_from(House)) == 0
    # a dict mapping is checked the same way, keys compared normalised (spaces, brackets)
    with pytest.raises(InvalidInput, match="住户 证件X"):
        import_register(session, path, vault=VAULT,
                        mapping={"住户 证件X": "id_number", "房间": "room"})
    ok = import_register(session, path, vault=VAULT,
                         mapping={"住户 证件": "id_number", "【房间】": "room",
                                  "性质": "relation", "住户": "name"})
    assert (ok.read, ok.accepted) == (3, 3)


def processes_naming(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().split(") ", 1)[1][0]
            except OSError:
                continue
            if marker.encode() in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2"])
def test_killed_import_leaves_nothing_and_rerun_completes(
        fresh_db: str, fresh_engine: Engine, tmp_path: Path, workers: str) -> None:
    demo = generate_demo(tmp_path / "demo", houses=2500, seed=3)
    register = str(demo.files["register"])
    env = cli_env(fresh_db, tmp_path / "var")
    proc = subprocess.Popen([sys.executable, "-m", "cimhouse.cli.main", "import", "register",
                             register, "--json", "--workers", workers], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    staged = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with fresh_engine.connect() as conn:  # kill once rows are being staged or applied
            staged = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%stage_%' "
                "AND pid <> pg_backend_pid()")).scalar() or 0
        if staged:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10  # worker processes die with their import
    while processes_naming(register) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_naming(register) == []

    with Session(fresh_engine) as session:
        assert session.scalar(select(func.count()).select_from(House)) == 0
        assert session.scalar(text("SELECT count(*) FROM import_run WHERE kind = 'register'")) == 0

    done = cli("import", "register", register, "--json", "--assign-codes", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["read"] == summary["accepted"] == demo.register_rows
    assert summary["houses_added"] == demo.houses
    assert sum(run["houses"] for run in summary["codes"]) == demo.houses

    again = json.loads(cli("import", "register", register, "--json", env=env).stdout)
    assert again["houses_added"] == again["persons_added"] == again["relations_added"] == 0
    with Session(fresh_engine) as session:
        houses = session.scalar(select(func.count()).select_from(House))
        distinct = session.scalar(select(func.count(func.distinct(House.address_norm))))
        coded = session.scalar(select(func.count()).select_from(House).where(
            House.code.is_not(None)))
        assert houses == distinct == coded == demo.houses
        relations = session.scalar(select(func.count()).select_from(PersonHouse))
        assert relations == demo.register_rows


def test_cli_dry_run_and_unreadable_file(fresh_db: str, fresh_engine: Engine,
                                         tmp_path: Path) -> None:
    env = cli_env(fresh_db, tmp_path / "var")
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    failed = cli("import", "register", str(bad), env=env)
    assert failed.returncode == exit_code(InvalidInput(""))
    assert "empty" in failed.stderr
    path = write_sheet(tmp_path / "r.xlsx")
    mapping = tmp_path / "m.csv"
    mapping.write_text("column,field\n住户证件,id_number\n房间,room\n性质,relation\n住户,name\n",
                       "utf-8")
    dry = cli("import", "register", str(path), "--mapping", str(mapping), "--dry-run",
              "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["houses_added"] == 2
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM house")).scalar() == 0
    assert "Example:" in cli("import", "register", "--help", env=env).stdout
    assert "Example:" in cli("demo", "generate", "--help", env=env).stdout
