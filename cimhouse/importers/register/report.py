"""The rejects report: original header and cells, line number and every reason.

Accepted rows with a warning (a new estate named like an existing one) appear too, with an
empty reasons column and the warning in the last column.

ID numbers and phones are written sealed (encrypted with the instance key, prefix
``sealed:``) so the report never shows them, yet a corrected report imports again as it is;
a masked ID column helps find the person. The file appears only when the import succeeds
(it is written to ``<name>.part`` and renamed).

Example::

    with RejectsReport(Path("rejects.csv"), header) as report:
        report.add(12, cells, "330402********1234", ["身份证号校验位错误 / ..."])
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from cimhouse.importers.register.columns import REPORT_COLUMNS


class RejectsReport:
    """A CSV (UTF-8 with BOM, opens in Excel) written row by row while importing."""

    def __init__(self, path: Path | None, header: Sequence[str]) -> None:
        self.path = path
        self.header = list(header)
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

    def add(self, line: int, cells: Sequence[str], masked_id: str,
            reasons: Sequence[str]) -> None:
        self.count += 1
        self._write(line, cells, masked_id, reasons, ())

    def warn(self, line: int, cells: Sequence[str], masked_id: str,
             warnings: Sequence[str]) -> None:
        """An accepted row worth a look (reasons empty); not counted as rejected. Importing
        the report again changes nothing for it."""
        self.warned += 1
        self._write(line, cells, masked_id, (), warnings)

    def _write(self, line: int, cells: Sequence[str], masked_id: str,
               reasons: Sequence[str], warnings: Sequence[str]) -> None:
        if self.path is None:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.part_path.open("w", newline="", encoding="utf-8-sig")
            self._csv = csv.writer(self._handle)
            self._csv.writerow([*self.header, *REPORT_COLUMNS])
        width = len(self.header)
        row = [*list(cells)[:width], *[""] * max(0, width - len(cells))]
        self._csv.writerow([*row, "；".join(reasons), line, masked_id, "；".join(warnings)])

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


__all__ = ["RejectsReport"]
