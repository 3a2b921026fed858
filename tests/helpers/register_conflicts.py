"""Register rows about one estate's rooms (梅花苑3幢2单元), with unit numbers and locations, for
the tests of rows that disagree within a file or with what is stored."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from cimhouse.idnumber import make_id_number

HEADER = ["房屋坐落", "姓名", "身份证号", "联系电话", "人房关系", "建筑面积", "不动产单元号",
          "经度", "纬度", "坐标系"]
ADDR = "南湖区建设街道百福弄社区梅花苑3幢2单元{room}室"
UNIT_NO = "330402007024GB00012F0003{room:04d}"


def person(n: int) -> str:
    return make_id_number("330402", dt.date(1960 + n % 40, 1 + n % 12, 1 + n % 28), n, "F")


def row(room: int, name: str, id_number: str, *, area: str = "88.5", phone: str = "",
        relation: str = "常住", unit_no: str | None = None, lon: str = "120.75",
        lat: str = "30.75") -> list[str]:
    return [ADDR.format(room=room), name, id_number, phone, relation, area,
            UNIT_NO.format(room=room) if unit_no is None else unit_no, lon, lat, "CGCS2000"]


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def report_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text("utf-8-sig").splitlines()))
