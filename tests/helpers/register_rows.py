"""Register files as the register import tests write them: three synthetic persons and the
office's usual columns."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from cimhouse.idnumber import make_id_number

ID_A = make_id_number("330402", dt.date(1950, 3, 1), 11, "F")
ID_B = make_id_number("330402", dt.date(1985, 7, 9), 12, "M")
ID_C = make_id_number("330411", dt.date(2021, 1, 2), 13, "M")
HEADER = ["房屋坐落", "姓名", "公民身份号码", "手机", "人房关系", "建筑面积", "用途", "民族"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER,
              encoding: str = "utf-8", preamble: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        for line in preamble or []:
            handle.write(line + "\n")
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
