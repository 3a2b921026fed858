"""Raw CSV blocks for the validation workers give exactly the rows a CSV reader gives."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cimhouse.errors import InvalidInput
from cimhouse.importers.register.read_table import (
    RowChunk,
    TextChunk,
    _record_end,
    block_safe,
    detect_encoding,
    open_table,
)

HEADER = ["房屋坐落", "姓名", "身份证号", "备注"]


def write(path: Path, rows: list[list[str]], encoding: str = "utf-8",
          preamble: str = "", newline: str = "\r\n") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        handle.write(preamble)
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def all_rows(path: Path, **kw: int) -> list[tuple[int, list[str]]]:
    return [row for chunk in open_table(path).chunks(**kw) for row in chunk.parsed()]


def test_record_end_skips_newlines_inside_quotes() -> None:
    assert _record_end(b"a,b\nc,d\ne") == 8
    assert _record_end(b'a,"x\ny"\nc,"open\nstill') == 8
    assert _record_end(b'a,"x""\n') == 0  # the quote is still open at the only newline
    assert _record_end(b"no newline") == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_blocks_give_the_rows_and_lines_of_the_reader(tmp_path: Path, encoding: str) -> None:
    rows = [[f"梅花苑{i}幢101室", f"住户{i}", f"33040219700101{i:04d}",
             "多行\n备注, 带\"引号\"" if i % 7 == 0 else ""] for i in range(200)]
    rows.insert(50, [""] * 4)
    path = write(tmp_path / "r.csv", rows, encoding=encoding, preamble="登记表,,,\r\n")
    expected = list(open_table(path).rows())
    assert expected[0][0] == 4
    assert len(expected) == 201
    chunks = list(open_table(path).chunks(block_bytes=97))
    assert len(chunks) > 20
    assert all(isinstance(c, TextChunk) for c in chunks)
    assert all_rows(path, block_bytes=97) == expected
    assert all_rows(path) == expected


def test_lf_lines_tabs_and_no_final_newline(tmp_path: Path) -> None:
    lines = ["\t".join(HEADER)] + [f"梅花苑{i}幢101室\t住户{i}\t1\t" for i in range(50)]
    path = tmp_path / "r.tsv"
    path.write_bytes("\n".join(lines).encode("utf-8"))  # no newline after the last row
    expected = list(open_table(path).rows())
    assert len(expected) == 50
    assert expected[-1] == (51, ["梅花苑49幢101室", "住户49", "1", ""])
    assert all_rows(path, block_bytes=64) == expected


def test_block_safe_needs_an_ascii_safe_encoding_and_lf_lines() -> None:
    assert block_safe("utf-8", b"a,b\r\nc,d\r\ne,f\r")  # the sample cut CR from its LF
    assert block_safe("gb18030", b"a,b\nc,d\n")
    assert not block_safe("utf-8", b"a,b\rc,d\re,f\r\n")
    assert not block_safe("utf-16", b"a,b\r\n")


def test_lone_cr_files_and_sheets_stay_on_parsed_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "mac.csv", [["梅花苑1幢101室", "王芳", "1", ""]], newline="\r")
    chunks = list(open_table(path).chunks())
    assert [type(c) for c in chunks] == [RowChunk]
    assert chunks[0].parsed() == [(2, ["梅花苑1幢101室", "王芳", "1", ""])]


def test_bad_bytes_in_a_block_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [["梅花苑1幢101室", "王芳", "1", ""]] * 12_000)
    data = path.read_bytes()
    assert len(data) > 1 << 18  # past the sample that decides the encoding
    at = data.index(b"\n", len(data) - 100) + 1
    line = data.count(b"\n", 0, at) + 1
    path.write_bytes(data[:at] + b"\xff\xfe" + data[at:])
    with pytest.raises(InvalidInput, match=f"bytes not valid utf-8 near line {line}"):
        all_rows(path)


def test_a_sample_cut_inside_a_gb18030_character_is_still_gb18030() -> None:
    text = "".join(f"嘉兴市南湖区梅花苑{i}幢,王芳{i},33040219700101{i:04d}\r\n"
                   for i in range(8000)).encode("gb18030")
    cut = next(n for n in range(1 << 18, 1 << 17, -1)
               if not _decodes(text[:n], "gb18030"))  # ends on half a character
    assert detect_encoding(text[:cut]) == "gb18030"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
