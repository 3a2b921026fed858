"""Read a register file as a stream of rows: CSV/TSV in any common Chinese encoding, XLSX.

:func:`open_table` detects the format (XLSX/XLS by their magic bytes, else delimited text),
the encoding (BOM, strict UTF-8, else charset-normalizer; GBK and GB2312 are read as
GB18030, their superset), the delimiter, and the header row (the row among the first 30
that names the most known columns, so title rows above it are skipped). Merged cells in a
sheet are filled with their top-left value. Rows stream: memory stays flat whatever the size.

:meth:`Table.chunks` hands the data rows out in chunks for validation workers: a CSV in
UTF-8 or GB18030 as raw blocks of whole records (:class:`TextChunk`, cut at a newline
outside quotes; parsing them is the workers' job, so the reading process only moves
bytes), anything else as parsed rows (:class:`RowChunk`).

Example::

    table = open_table(Path("register.csv"))
    table.encoding, table.header_line      # ('gb18030', 3)
    for line, cells in table.rows():       # 1-based line (CSV) or sheet row number
        ...
    for chunk in open_table(Path("register.csv")).chunks():
        for line, cells in chunk.parsed():  # the same rows, in the same order
            ...
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.register.columns import header_score

SAMPLE_BYTES = 1 << 18
HEADER_SEARCH_ROWS = 30
MIN_HEADER_FIELDS = 2
CHUNK_ROWS = 2_000
BLOCK_BYTES = 1 << 19  # ~2,000 register rows
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
# Encodings in which the bytes of '\n' and '"' never occur inside a character, so a file
# can be cut into records without decoding it.
_BLOCK_SAFE = {"utf-8", "utf-8-sig", "gb18030"}
Rows = list[tuple[int, list[str]]]


@dataclass
class RowChunk:
    """Data rows already parsed: ``(line, cells)``."""

    rows: Rows

    def parsed(self) -> Rows:
        return self.rows


@dataclass
class TextChunk:
    """Raw bytes of whole CSV records; ``lines_before`` physical lines precede them."""

    data: bytes
    lines_before: int
    encoding: str
    delimiter: str
    file_name: str

    def parsed(self) -> Rows:
        try:
            text = self.data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            line = self.lines_before + self.data.count(b"\n", 0, exc.start) + 1
            raise InvalidInput(_("{file_name}: bytes not valid {encoding} near line {line}",
                                 file_name=self.file_name, encoding=self.encoding,
                                 line=line)) from None
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        try:
            return [(self.lines_before + reader.line_num, cells) for cells in reader]
        except csv.Error as exc:
            raise InvalidInput(_("{file_name}: malformed CSV near line {value}: {exc}",
                                 file_name=self.file_name,
                                 value=self.lines_before + reader.line_num, exc=exc)) from None


Chunk = RowChunk | TextChunk


@dataclass
class Table:
    """An opened register: format, encoding, header and a way to stream the data rows."""

    path: Path
    kind: str  # 'csv' or 'xlsx'
    encoding: str | None
    header: list[str]
    header_line: int
    sheet: str | None = None
    delimiter: str | None = None
    block_safe: bool = False  # a CSV that chunks() may cut into raw blocks
    _rows: Iterator[tuple[int, list[str]]] | None = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) of every row after the header, blank rows included."""
        assert self._rows is not None, "rows() can be iterated once"
        rows, self._rows = self._rows, None
        return rows

    def chunks(self, *, chunk_rows: int = CHUNK_ROWS,
               block_bytes: int = BLOCK_BYTES) -> Iterator[Chunk]:
        """The rows of :meth:`rows` in chunks (raw CSV blocks where that is safe)."""
        rows = self.rows()
        if not self.block_safe:
            chunk: Rows = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= chunk_rows:
                    yield RowChunk(chunk)
                    chunk = []
            if chunk:
                yield RowChunk(chunk)
            return
        close = getattr(rows, "close", None)
        if close:
            close()  # the data are read again from the raw bytes
        yield from self._blocks(block_bytes)

    def _blocks(self, block_bytes: int) -> Iterator[TextChunk]:
        assert self.encoding
        assert self.delimiter
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        with self.path.open("rb") as handle:
            skipped = 0
            while skipped < self.header_line and handle.readline():
                skipped += 1
            lines, carry = self.header_line, b""
            while True:
                block = handle.read(block_bytes)
                data = carry + block
                cut = len(data) if not block else _record_end(data)
                if cut == 0 and block:  # one record longer than a block: read on
                    carry = data
                    continue
                if data[:cut]:
                    yield TextChunk(data[:cut], lines, encoding, self.delimiter,
                                    self.path.name)
                    lines += data.count(b"\n", 0, cut)
                carry = data[cut:]
                if not block:
                    return


def cell_text(value: Any) -> str:
    """A sheet cell as text: integral floats without '.0', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample; raise :class:`InvalidInput` when it is not text."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise InvalidInput(_("file is binary, not a CSV/XLSX table"))
    # Whole lines only: a sample cut inside a multi-byte character (UTF-8 or GB18030) would
    # look like no encoding at all.
    end = sample.rfind(b"\n")
    if end > 0:
        sample = sample[:end + 1]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and exc.reason.startswith("unexpected end"):
            return "utf-8"  # one long line, cut inside a character
    best = from_bytes(sample).best()
    if best is None:
        raise InvalidInput(_("file encoding could not be recognised (expected UTF-8, GBK or "
                             "GB18030 text, or XLSX)"))
    encoding = best.encoding.lower().replace("-", "_")
    return "gb18030" if encoding in _GB_FAMILY else best.encoding


def open_table(path: Path) -> Table:
    """Open ``path`` and find its header; raise :class:`InvalidInput` if it is no table."""
    try:
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except OSError as exc:
        raise InvalidInput(_("{file} cannot be read: {strerror}", file=path.name,
                             strerror=exc.strerror)) from None
    if not sample.strip():
        raise InvalidInput(_("{file} is empty", file=path.name))
    if sample.startswith(b"PK\x03\x04") or sample.startswith(b"\xd0\xcf\x11\xe0"):
        return _open_sheet(path)
    return _open_text(path, sample)


def _record_end(data: bytes) -> int:
    """The end of the last whole record in ``data`` (0: none): after a newline outside quotes.

    ``data`` starts at a record start, so a newline is outside quotes when the quotes before
    it are even in number (an escaped quote is doubled and keeps the count even).
    """
    cut = data.rfind(b"\n") + 1
    if cut == 0 or b'"' not in data:
        return cut
    odd = data.count(b'"', 0, cut) % 2
    while odd and cut:
        previous = data.rfind(b"\n", 0, cut - 1) + 1
        odd ^= data.count(b'"', previous, cut) % 2
        cut = previous
    return cut


def _find_header(rows: Iterator[tuple[int, list[str]]], name: str
                 ) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    head = list(islice(rows, HEADER_SEARCH_ROWS))
    best, best_score = -1, 0
    for index, (_line, cells) in enumerate(head):
        score = header_score(cells)
        if score > best_score:
            best, best_score = index, score
    if best < 0 or best_score < MIN_HEADER_FIELDS:
        raise InvalidInput(_("{name}: no header row with register columns "
                             "(姓名, 身份证号, 房屋坐落 ...) in "
                             "the first {header_search_rows} rows", name=name,
                             header_search_rows=HEADER_SEARCH_ROWS))
    line, header = head[best]
    return line, header, head[best + 1:]


def block_safe(encoding: str, sample: bytes) -> bool:
    """Whether a text file can be cut into raw blocks of records (see :meth:`Table.chunks`).

    Its encoding must keep newline and quote bytes out of characters, and its lines must
    end in LF or CRLF: csv also counts a lone CR as a line end, a newline count would not.
    """
    end = sample.rfind(b"\n")
    whole_lines = sample[:end + 1] if end >= 0 else sample  # it may end between CR and LF
    return encoding in _BLOCK_SAFE and whole_lines.count(b"\r") == whole_lines.count(b"\r\n")


def _open_text(path: Path, sample: bytes) -> Table:
    encoding = detect_encoding(sample)
    try:
        preview = sample.decode(encoding, errors="ignore")
    except LookupError:
        raise InvalidInput(_("{file}: unsupported encoding {encoding}", file=path.name,
                             encoding=encoding)) from None
    lines = [ln for ln in preview.splitlines()[:HEADER_SEARCH_ROWS] if ln.strip()]

    def widest(delimiter: str) -> int:
        return max((ln.count(delimiter) for ln in lines), default=0)

    delimiter = max(",\t;|", key=widest)
    if widest(delimiter) == 0:
        raise InvalidInput(_("{file} is not a delimited table (no comma, tab, ; or | in its first "
                             "lines)", file=path.name))
    handle = path.open("r", encoding=encoding, newline="", errors="strict")

    def generate() -> Iterator[tuple[int, list[str]]]:
        with handle:
            reader = csv.reader(handle, delimiter=delimiter)
            try:
                for cells in reader:
                    yield reader.line_num, cells
            except UnicodeDecodeError:
                raise InvalidInput(_("{file}: bytes not valid {encoding} near line {value}",
                                     file=path.name, encoding=encoding,
                                     value=reader.line_num + 1)) from None
            except csv.Error as exc:
                raise InvalidInput(_("{file}: malformed CSV near line {line_num}: {exc}",
                                     file=path.name, line_num=reader.line_num, exc=exc)) from None

    stream = generate()
    line, header, buffered = _find_header(stream, path.name)
    return Table(path, "csv", encoding, header, line, delimiter=delimiter,
                 block_safe=block_safe(encoding, sample), _rows=_chain(buffered, stream))


def _open_sheet(path: Path) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
        merged = sheet.merged_cell_ranges or []
        start_row = sheet.start[0] if sheet.start else 0
        raw_rows = sheet.iter_rows()
    except (CalamineError, OSError, ValueError) as exc:
        raise InvalidInput(_("{file} is not a readable XLSX/XLS workbook: {exc}", file=path.name,
                             exc=exc)) from None

    def generate() -> Iterator[tuple[int, list[str]]]:
        # merged range: every covered cell but the top-left reads as empty in the file
        anchors_by_row: dict[int, list[int]] = defaultdict(list)
        covered_by_row: dict[int, list[tuple[int, tuple[int, int]]]] = defaultdict(list)
        for (r0, c0), (r1, c1) in merged:
            anchors_by_row[r0].append(c0)
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        covered_by_row[r].append((c, (r0, c0)))
        anchors: dict[tuple[int, int], str] = {}
        for offset, values in enumerate(raw_rows):
            row_index = start_row + offset
            cells = [cell_text(v) for v in values]
            for c0 in anchors_by_row.pop(row_index, ()):
                anchors[(row_index, c0)] = cells[c0] if c0 < len(cells) else ""
            for col, anchor in covered_by_row.pop(row_index, ()):
                if col < len(cells) and not cells[col]:
                    cells[col] = anchors.get(anchor, "")
            yield row_index + 1, cells

    stream = generate()
    line, header, buffered = _find_header(stream, path.name)
    return Table(path, "xlsx", None, header, line, sheet=book.sheet_names[0],
                 _rows=_chain(buffered, stream))


def _chain(first: list[tuple[int, list[str]]], rest: Iterator[tuple[int, list[str]]]
           ) -> Iterator[tuple[int, list[str]]]:
    yield from first
    yield from rest


def is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


__all__ = ["Chunk", "RowChunk", "Table", "TextChunk", "block_safe", "cell_text",
           "detect_encoding", "is_blank", "open_table"]
