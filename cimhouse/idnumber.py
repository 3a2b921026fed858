"""Citizen ID numbers (GB 11643-1999): normalise, validate, derive birth date and gender.

Pure functions, no database. The full number must never be logged or written to a report:
use :func:`mask_id_number` for anything a person may see.

Example::

    >>> info = parse_id_number("11010519491231002x")
    >>> info.birth_date, info.gender, info.masked
    (datetime.date(1949, 12, 31), 'F', '110105********002X')
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from cimhouse.checksum import mod11_2
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

#: province-level prefixes of GB/T 2260 in use on ID numbers
PROVINCE_PREFIXES = frozenset([
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
    "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
    "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
])
_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９ｘＸ"}


@dataclass(frozen=True)
class IdNumber:
    """A validated ID number. ``repr`` never shows the number itself."""

    value: str
    birth_date: dt.date
    gender: str  # 'M' or 'F'

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)

    @property
    def region_prefix(self) -> str:
        return self.value[:6]

    def __repr__(self) -> str:
        return f"IdNumber({self.masked!r})"

    __str__ = __repr__


def normalize_id_number(raw: str) -> str:
    """Strip spaces, convert full-width digits and make the check character upper case."""
    return "".join(raw.translate(_FULLWIDTH).split()).upper()


def mask_id_number(value: str) -> str:
    """``330402199001011234`` -> ``330402********1234`` (first 6 and last 4 kept)."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def parse_id_number(raw: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate an 18-character ID number; raise :class:`InvalidInput` saying what is wrong.

    Checks, in order: length, characters, province prefix, birth date, MOD 11-2 check.
    Error messages carry the masked number only.
    """
    value = normalize_id_number(raw)
    masked = mask_id_number(value)
    if len(value) != 18:
        raise InvalidInput(_("ID number must have 18 characters, got {value_count}",
                             value_count=len(value)),
                           detail={"reason": "length", "masked": masked})
    body = value[:17]
    if not (body.isascii() and body.isdigit()):
        pos = next(i for i, ch in enumerate(body, start=1) if not "0" <= ch <= "9")
        raise InvalidInput(_("ID number has a non-digit at position {pos}", pos=pos),
                           detail={"reason": "character", "position": pos})
    if not (value[17].isdigit() or value[17] == "X"):
        raise InvalidInput(_("ID number check character must be a digit or X"),
                           detail={"reason": "character", "position": 18})
    if value[:2] not in PROVINCE_PREFIXES:
        raise InvalidInput(_("ID number region prefix {value} is not a province code",
                             value=value[:2]),
                           detail={"reason": "region", "masked": masked})
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput(_("ID number birth date is not a calendar date"),
                           detail={"reason": "birth_date", "masked": masked}) from None
    today = today or dt.date.today()
    if birth.year < 1880 or birth > today:
        raise InvalidInput(_("ID number birth date is out of range"),
                           detail={"reason": "birth_date", "masked": masked})
    expected = mod11_2(body)
    if value[17] != expected:
        raise InvalidInput(
            _("ID number check character does not match (MOD 11-2)"),
            detail={"reason": "checksum", "masked": masked},
        )
    gender = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(value, birth, gender)


def make_id_number(region6: str, birth_date: dt.date, sequence: int, gender: str) -> str:
    """Build a checksum-valid *fictitious* ID number (synthetic data only).

    ``sequence`` (0-99) fills positions 15-16; the 17th digit is chosen by ``gender``.
    """
    order = sequence % 100
    gender_digit = (order % 5) * 2 + (1 if gender == "M" else 0)
    body = f"{region6}{birth_date:%Y%m%d}{order:02d}{gender_digit}"
    return body + mod11_2(body)


def random_id_number(rng: random.Random, region6: str, birth_date: dt.date,
                     gender: str) -> str:
    return make_id_number(region6, birth_date, rng.randrange(100), gender)
