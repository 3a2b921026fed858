"""The one rejects report of every importer: the original columns, then why and where.

Layout: the input's own header and cells (so a corrected report imports again as it is),
then ``错误原因/reasons`` (every reason, Chinese / English), ``原始行号/line`` (line or
feature number in the input), the importer's extra columns (the register adds a masked ID
number; its ID numbers and phones are written sealed) and, for an importer that warns,
``警告/warnings``: accepted rows worth a look (a new estate named like an existing one) appear
with empty reasons. The readers ignore the report columns.
UTF-8 with BOM (opens in Excel). The file appears only when the import succeeds (it is written
to ``<name>.part`` and renamed).

Example::

    with RejectsReport(Path("rejects.csv"), header, extra=MASKED) as report:
        report.add(12, cells, ["身份证号校验位错误 / ..."], "330402********1234")
        report.finish()
    write_rejects(Path("rejects.csv"), [RejectedRow(3, {"name": ""}, ["名称为空 / ..."])])
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REASONS_COLUMN = "错误原因/reasons"
LINE_COLUMN = "原始行号/line"
#: the columns every report adds after the input's own (readers skip them on re-import)
REPORT_COLUMNS = (REASONS_COLUMN, LINE_COLUMN)
WARNINGS_COLUMN = "警告/warnings"


@dataclass
class RejectedRow:
    """One refused input row: its line (or feature number), its cells by column, why."""

    line: int
    row: dict[str, str]
    reasons: list[str]


class RejectsReport:
    """A CSV (UTF-8 with BOM, opens in Excel) written row by row while importing."""

    def __init__(self, path: Path | None, header: Sequence[str],
                 extra: Sequence[str] = (), *, warnings: bool = False) -> None:
        self.path = path
        self.header = list(header)
        self.extra = list(extra)
        self.warnings = warnings
        self.count = 0
        self.warned = 0
        self._handle: IO[str] | None = None
        self._csv: Any = None

    @property
    def part_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".part")

    def __enter__(self) -> RejectsReport:
        return self

    def add(self, line: int, cells: Sequence[str], reasons: Sequence[str],
            *extra: str) -> None:
        self.count += 1
        self._write(line, cells, reasons, extra, ())

    def warn(self, line: int, cells: Sequence[str], warnings: Sequence[str],
             *extra: str) -> None:
        """An accepted row worth a look (reasons empty); not counted as rejected. Importing
        the report again changes nothing for it."""
        assert self.warnings, "this report has no warnings column"
        self.warned += 1
        self._write(line, cells, (), extra, warnings)

    def _write(self, line: int, cells: Sequence[str], reasons: Sequence[str],
               extra: Sequence[str], warnings: Sequence[str]) -> None:
        if self.path is None:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.part_path.open("w", newline="", encoding="utf-8-sig")
            self._csv = csv.writer(self._handle)
            self._csv.writerow([*self.header, *REPORT_COLUMNS, *self.extra,
                                *([WARNINGS_COLUMN] if self.warnings else [])])
        width = len(self.header)
        row = [*list(cells)[:width], *[""] * max(0, width - len(cells))]
        self._csv.writerow([*row, "；".join(reasons), line, *extra,
                            *(["；".join(warnings)] if self.warnings else [])])

    def finish(self) -> Path | None:
        """Close and publish the report; None when no row was rejected."""
        if self._handle is None or self.path is None:
            return None
        self._handle.close()
        self._handle = None
        os.replace(self.part_path, self.path)
        return self.path

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._handle is not None:  # failed import: no half report left behind
            self._handle.close()
            self._handle = None
            self.part_path.unlink(missing_ok=True)


def write_rejects(path: Path, rejected: Sequence[RejectedRow],
                  header: Sequence[str] | None = None) -> Path | None:
    """Write ``rejected`` in the one layout; ``header`` defaults to every column they carry
    (internal columns, named with a leading ``_``, left out). None when nothing was rejected.
    """
    if header is None:
        header = list(dict.fromkeys(c for rej in rejected for c in rej.row
                                    if not c.startswith("_")))
    with RejectsReport(path, header) as report:
        for rej in rejected:
            report.add(rej.line, [rej.row.get(c, "") for c in header], rej.reasons)
        return report.finish()


__all__ = ["LINE_COLUMN", "REASONS_COLUMN", "REPORT_COLUMNS", "WARNINGS_COLUMN", "RejectedRow",
           "RejectsReport", "write_rejects"]
