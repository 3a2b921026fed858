"""Validators of the identifiers kept beside the house code (pure functions, no database).

Each returns the canonical form or raises :class:`InvalidInput` saying what and where:

- :func:`validate_realestate_unit_no`: the 28-character 不动产单元号 of GB/T 37346-2019.
- :func:`validate_address_code`: the public-security standard address code (标准地址编码).
- :func:`validate_ifc_global_id`: an IFC GlobalId (22 characters, IFC base64 alphabet).
- :func:`validate_external_ids`: ids of the object in other registers, ``{system: id}``.

Example::

    >>> validate_realestate_unit_no("330402 001 002 GB00012 F 0003 0101")
    '330402001002GB00012F00030101'
    >>> validate_ifc_global_id("2O2Fr$t4X7Zf8NOew3FLOH")
    '2O2Fr$t4X7Zf8NOew3FLOH'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_SPACES = {ord(c): None for c in " \t\u3000-"}

REALESTATE_UNIT_LENGTH = 28
#: (first position, last position, pattern, what) of the 不动产单元号 parts
REALESTATE_PARTS = (
    (1, 6, r"[0-9]{6}", "county code (县级行政区划代码), 6 digits"),
    (7, 9, r"[0-9]{3}", "cadastral district (地籍区), 3 digits"),
    (10, 12, r"[0-9]{3}", "cadastral sub-district (地籍子区), 3 digits"),
    (13, 13, r"[GJZ]", "land ownership code G (state), J (collective) or Z (disputed)"),
    (14, 14, r"[A-Z]", "parcel feature code, a letter A-Z"),
    (15, 19, r"[0-9]{5}", "parcel number (宗地顺序号), 5 digits"),
    (20, 20, r"[FLQW]", "fixture code F (house), L (forest), Q (other), W (none)"),
    (21, 24, r"[0-9]{4}", "building number (幢号), 4 digits"),
    (25, 28, r"[0-9]{4}", "unit number (户号), 4 digits"),
)

IFC_GLOBAL_ID_LENGTH = 22
IFC_BASE64 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$"

ADDRESS_CODE_MIN, ADDRESS_CODE_MAX = 12, 40
_EXTERNAL_SYSTEM = re.compile(r"[a-z][a-z0-9_]{1,31}")
EXTERNAL_ID_MAX = 64


def _compact(raw: str) -> str:
    return raw.strip().translate(_FULLWIDTH).translate(_SPACES).upper()


def validate_realestate_unit_no(raw: str) -> str:
    """Check a 28-character real-estate unit number (不动产单元号, GB/T 37346-2019)."""
    value = _compact(raw)
    if len(value) != REALESTATE_UNIT_LENGTH:
        raise InvalidInput(_("不动产单元号: wrong length {value_count}, expected 28",
                             value_count=len(value)),
                           detail={"length": len(value)})
    for first, last, pattern, what in REALESTATE_PARTS:
        part = value[first - 1:last]
        if not re.fullmatch(pattern, part):
            where = f"position {first}" if first == last else f"positions {first}-{last}"
            raise InvalidInput(_("不动产单元号: {part!r} at {where} is not a {what}", part=part,
                                 where=where, what=what),
                               detail={"position": first})
    if value[19] == "W" and value[20:] != "00000000":
        raise InvalidInput(_("不动产单元号: fixture code W (no fixture) needs building and unit "
                             "00000000 (positions 21-28)"), detail={"position": 21})
    return value


def realestate_unit_parts(raw: str) -> dict[str, str]:
    """Split a valid 不动产单元号 into named parts."""
    value = validate_realestate_unit_no(raw)
    names = ("county", "district", "sub_district", "ownership", "feature", "parcel",
             "fixture", "building", "unit")
    return {name: value[first - 1:last]
            for name, (first, last, _p, _w) in zip(names, REALESTATE_PARTS, strict=True)}


def validate_address_code(raw: str) -> str:
    """Check a public-security standard address code (公安标准地址编码).

    Provincial address platforms differ in length and suffix layout, so only what they
    share is checked: 12-40 characters of digits and capital letters, starting with the
    6-digit county code of the address.
    """
    value = _compact(raw)
    if not ADDRESS_CODE_MIN <= len(value) <= ADDRESS_CODE_MAX:
        raise InvalidInput(_("address code: wrong length {value_count}, expected "
                             "{address_code_min}-{address_code_max}", value_count=len(value),
                             address_code_min=ADDRESS_CODE_MIN, address_code_max=ADDRESS_CODE_MAX),
                           detail={"length": len(value)})
    for index, char in enumerate(value, start=1):
        if not (char.isascii() and char.isalnum()):
            raise InvalidInput(_("address code: {char!r} at position {index} is not a digit or "
                                 "letter", char=char, index=index),
                               detail={"position": index})
    if not value[:6].isdigit() or value[:2] == "00":
        raise InvalidInput(_("address code: positions 1-6 must be the county code"),
                           detail={"position": 1})
    return value


def validate_ifc_global_id(raw: str) -> str:
    """Check an IFC GlobalId: 22 characters of the IFC base64 alphabet, the first 0-3.

    The id is case-sensitive and used as given (no normalisation).
    """
    value = raw.strip()
    if len(value) != IFC_GLOBAL_ID_LENGTH:
        raise InvalidInput(_("IFC GlobalId: wrong length {value_count}, expected 22",
                             value_count=len(value)),
                           detail={"length": len(value)})
    for index, char in enumerate(value, start=1):
        if char not in IFC_BASE64:
            raise InvalidInput(_("IFC GlobalId: {char!r} at position {index} is not in the IFC "
                                 "base64 alphabet 0-9 A-Z a-z _ $", char=char, index=index),
                               detail={"position": index})
    if value[0] not in "0123":
        raise InvalidInput(_("IFC GlobalId: the first character encodes 2 bits and must be 0-3"),
                           detail={"position": 1})
    return value


def validate_external_ids(ids: Mapping[str, object]) -> dict[str, str]:
    """Check ``{system: id}`` pairs naming the object in other registers.

    A system name is 2-32 characters ``[a-z][a-z0-9_]*`` (e.g. ``housing_register``); an id
    is 1-64 printable characters.
    """
    clean: dict[str, str] = {}
    for system, value in ids.items():
        if not _EXTERNAL_SYSTEM.fullmatch(system):
            raise InvalidInput(_("external id: system name {system!r} must match "
                                 "[a-z][a-z0-9_]{{1,31}}", system=system),
                               detail={"system": system})
        text = str(value).strip() if value is not None else ""
        if not text or len(text) > EXTERNAL_ID_MAX or not text.isprintable():
            raise InvalidInput(_("external id of {system!r} must be 1-{external_id_max} printable "
                                 "characters", system=system, external_id_max=EXTERNAL_ID_MAX),
                               detail={"system": system})
        clean[system] = text
    return clean
