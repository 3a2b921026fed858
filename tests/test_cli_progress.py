"""The register import's progress bar has a total for XLSX too (issue 18): the rows of the
first sheet, counted in its XML stream without parsing a cell."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from cimhouse.cli.cmd_import_register import _count_lines


@pytest.mark.parametrize("write_only", [True, False])
def test_xlsx_total_is_the_row_count_of_the_first_sheet(tmp_path: Path,
                                                        write_only: bool) -> None:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("登记") if write_only else book.active
    assert sheet is not None
    # enough rows for several 1 MiB chunks of XML: a <row> split between chunks counts once
    for number in range(40_000):
        sheet.append([f"南湖区幸福小区{number}幢", "张三", number])
    if not write_only:
        other = book.create_sheet("说明")  # a second sheet is not counted
        other.append(["x"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sum(i.file_size for i in archive.infolist() if "worksheets" in i.filename) > 3 << 20
    assert _count_lines(path) == 40_000


def test_csv_total_and_unreadable_workbooks(tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text("姓名,身份证号\n张三,1\n李四,2\n", encoding="utf-8")
    assert _count_lines(csv) == 3
    broken = tmp_path / "r.xlsx"
    broken.write_bytes(b"not a zip")
    assert _count_lines(broken) is None  # the import then says what is wrong with it
    assert _count_lines(tmp_path / "r.xls") is None
