"""The dirt of real registers, applied to clean demo rows (``--messy``).

Every kind of dirt but one still imports: full-width digits, Chinese numerals, other
building spellings (3#, 3号楼, 3栋), missing province/city/county, duplicate rows, blank
lines, stray header rows and title rows are all read correctly. Wrong ID checksums are
rejected, as they must be.

Example::

    dirt = Dirt(random.Random(3))
    dirt.address("浙江省嘉兴市南湖区建设街道百福弄社区居委会", "浙江省嘉兴市南湖区",
                 "梅花苑", "3", "2", "501", rural=False)
    # e.g. '建设街道百福弄社区居委会梅花苑三栋二单元501室'
"""

from __future__ import annotations

import random

from cimhouse.checksum import mod11_2

_FULL_WIDTH = str.maketrans("0123456789#", "０１２３４５６７８９＃")
_CHINESE = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """12 -> 十二, 3 -> 三 (building and unit numbers are small)."""
    if n < 10:
        return _CHINESE[n]
    if n < 20:
        return "十" + (_CHINESE[n % 10] if n % 10 else "")
    return _CHINESE[n // 10] + "十" + (_CHINESE[n % 10] if n % 10 else "")


class Dirt:
    """Decides, row by row, which dirt to add; counts what it did."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counts = {"full_width": 0, "chinese_numerals": 0, "building_spelling": 0,
                       "missing_district": 0, "bad_checksum": 0, "duplicate_rows": 0,
                       "blank_lines": 0, "stray_headers": 0, "title_rows": 2}

    def address(self, region_path: str, county_path: str, estate: str, building: str,
                unit: str, room: str, *, rural: bool) -> str:
        rng = self.rng
        region = region_path
        if rng.random() < 0.08:
            region = region_path[len(county_path):]
            self.counts["missing_district"] += 1
        b_number, u_number = building, unit
        if building.isdigit() and rng.random() < 0.06:
            b_number = chinese_number(int(building))
            u_number = chinese_number(int(unit)) if unit.isdigit() else unit
            self.counts["chinese_numerals"] += 1
        if rural:
            tail = f"{estate}{b_number}号"
        else:
            spelling = "幢"
            if rng.random() < 0.12:
                spelling = rng.choice(("#", "号楼", "栋", "座"))
                self.counts["building_spelling"] += 1
            tail = f"{estate}{b_number}{spelling}"
            tail += f"{u_number}单元" if unit else ""
            tail += room + ("室" if rng.random() < 0.9 else "")
        text = region + tail
        if rng.random() < 0.05:
            text = text.translate(_FULL_WIDTH)
            self.counts["full_width"] += 1
        return text

    def id_number(self, value: str) -> str:
        if self.rng.random() < 0.01:
            wrong = next(c for c in "0123456789X" if c != mod11_2(value[:17]))
            self.counts["bad_checksum"] += 1
            return value[:17] + wrong
        return value

    def duplicate(self) -> bool:
        if self.rng.random() < 0.02:
            self.counts["duplicate_rows"] += 1
            return True
        return False

    def blank_line(self) -> bool:
        if self.rng.random() < 0.005:
            self.counts["blank_lines"] += 1
            return True
        return False

    def stray_header(self, rows_written: int) -> bool:
        if rows_written and rows_written % 2500 == 0:
            self.counts["stray_headers"] += 1
            return True
        return False


__all__ = ["Dirt", "chinese_number"]
