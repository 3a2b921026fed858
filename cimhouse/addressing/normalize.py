"""Text normalisation for addresses: full-width forms, Chinese numerals, label spellings.

Example::

    >>> normalize_text(" 梅花苑　３＃ ")
    '梅花苑3#'
    >>> chinese_to_int("二十五"), chinese_to_int("五〇一")
    (25, 501)
    >>> numerals_to_digits("梅花苑三栋二单元五〇一室")
    '梅花苑3栋2单元501室'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2,
           "三": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
           "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)
# Chinese numerals are converted only right before an address keyword, so that names such
# as 三塔社区 or 七星街道 keep their characters.
_NUMERAL_BEFORE_KEYWORD = re.compile(
    f"(?<![{NUMERAL_CHARS}])([{NUMERAL_CHARS}]+)(?=号楼|幢|栋|座|号|单元|层|楼|室|户|组|区)"
)


@lru_cache(maxsize=1 << 16)  # register rows repeat their labels and region columns
def normalize_text(text: str) -> str:
    """NFKC (full-width digits/letters/punctuation to ASCII), upper case, no whitespace."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).upper()


def chinese_to_int(text: str) -> int:
    """Convert a Chinese numeral (positional 五〇一 or with units 二十五) to an int.

    Raises ``ValueError`` for text that is not a numeral.
    """
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    if not any(ch in _UNITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def numerals_to_digits(text: str) -> str:
    """Replace Chinese numerals standing before an address keyword with Arabic digits."""
    def repl(match: re.Match[str]) -> str:
        return str(chinese_to_int(match.group(1)))

    return _NUMERAL_BEFORE_KEYWORD.sub(repl, text)


@lru_cache(maxsize=1 << 14)
def normalize_label(text: str | None) -> str | None:
    """A building/unit/room label reduced to its number part: '3号楼' -> '3', '0501' -> '501'.

    Returns None for empty input. Keeps letters (``A3``, ``3B``) and hyphens.
    """
    if text is None:
        return None
    value = numerals_to_digits(normalize_text(text))
    if value and all(ch in NUMERAL_CHARS for ch in value):
        value = str(chinese_to_int(value))
    value = re.sub("(号楼|幢|栋|座|#|号|单元|层|楼|室|户)$", "", value)
    value = re.sub("^第", "", value)
    if value.isdigit():
        value = str(int(value))
    return value or None


@lru_cache(maxsize=1 << 14)
def normalize_estate_name(text: str | None) -> str | None:
    """An estate name as stored and matched: normalised, without a trailing 小区."""
    if text is None:
        return None
    value = normalize_text(text)
    if value.endswith("小区") and len(value) > 2:
        value = value[:-2]
    return value or None


def edit_distance(a: str, b: str, *, infix: bool = False) -> int:
    """Edits between two strings: insert, delete, substitute, or swap two neighbours (a
    common slip: 和里平 for 和平里 is one edit). With ``infix``: edits from ``a`` to the
    closest substring of ``b`` (no swaps).

    >>> edit_distance("恰景府", "怡景府"), edit_distance("和里平", "和平里")
    (1, 1)
    >>> edit_distance("怡景府", "百福弄社区怡景府", infix=True)
    0
    """
    before: list[int] = []
    previous = [0] * (len(b) + 1) if infix else list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if not infix and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return min(previous) if infix else previous[-1]


__all__ = ["chinese_to_int", "edit_distance", "normalize_estate_name", "normalize_label",
           "normalize_text", "numerals_to_digits"]
