"""The 25-character unified urban-rural house code: normalize, validate, encode, decode.

Pure functions, no database. The normative description is docs/house-code.md.

====  ======  =================================================================
pos   digits  meaning
====  ======  =================================================================
1-12  12      community/village where the object lay when the code was issued
13-15 3       estate number in that community (000 = no estate)
16-19 4       building number in the estate (0000 = the estate itself)
20-24 5       house number in the building (00000 = the building itself)
25    1       ISO 7064 MOD 11-2 check character over positions 1-24 (10 = X)
====  ======  =================================================================

Example::

    >>> code = encode("330402007024", 1, 3, 101)
    >>> code, display(code)
    ('3304020070240010003001018', '330402007024-001-0003-00101-8')
    >>> decode("330402007024-001-0003-00101-8").object_kind
    'house'
    >>> normalize("３３０４０２００７０２４ 001 0003 00101 8")
    '3304020070240010003001018'
"""

from __future__ import annotations

from dataclasses import dataclass

from cimhouse.checksum import mod11_2
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema.vocab import ObjectKind

CODE_LENGTH = 25
BODY_LENGTH = 24
REGION_DIGITS = 12
MAX_ESTATE = 999
MAX_BUILDING = 9999
MAX_HOUSE = 99999
#: (level name, code length) of the region path inside positions 1-12
REGION_PATH = (("province", 2), ("city", 4), ("county", 6), ("town", 9), ("community", 12))

# Full-width digits and X, and the separators a person may type between the parts.
_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９ｘＸ"}
_SEPARATORS = {ord(c): None for c in "-‐‑‒–—－ \t\u3000"}


@dataclass(frozen=True)
class HouseCode:
    """A decoded, valid house code."""

    region_code: str
    estate_number: int
    building_number: int
    house_number: int

    @property
    def body(self) -> str:
        return (f"{self.region_code}{self.estate_number:03d}{self.building_number:04d}"
                f"{self.house_number:05d}")

    @property
    def check(self) -> str:
        return mod11_2(self.body)

    @property
    def code(self) -> str:
        """The canonical stored form: 25 characters, no separators."""
        return self.body + self.check

    @property
    def display(self) -> str:
        return display(self.code)

    @property
    def object_kind(self) -> str:
        if self.house_number:
            return ObjectKind.HOUSE.value
        if self.building_number:
            return ObjectKind.BUILDING.value
        return ObjectKind.ESTATE.value

    @property
    def region_path(self) -> dict[str, str]:
        """The region codes at issue, province to community (native code lengths)."""
        return {name: self.region_code[:length] for name, length in REGION_PATH}

    @property
    def estate_code(self) -> str | None:
        """The code of the estate this object belongs to (None for estate number 000)."""
        if not self.estate_number:
            return None
        return HouseCode(self.region_code, self.estate_number, 0, 0).code

    @property
    def building_code(self) -> str | None:
        """The code of the building a house lies in (the object itself for a building)."""
        if not self.building_number:
            return None
        return HouseCode(self.region_code, self.estate_number, self.building_number, 0).code

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code, "display": self.display, "object_kind": self.object_kind,
            "region_code_at_issue": self.region_code, "region_path": self.region_path,
            "estate_number": self.estate_number, "building_number": self.building_number,
            "house_number": self.house_number, "check_character": self.check,
            "estate_code": self.estate_code, "building_code": self.building_code,
        }


def normalize(raw: str) -> str:
    """Canonical form of a typed code: full-width to ASCII, separators dropped, x upper-cased.

    Only the characters are normalised; use :func:`validate` to check the result.
    """
    return raw.strip().translate(_FULLWIDTH).translate(_SEPARATORS).upper()


def _fail(message: str, raw: str, **detail: object) -> InvalidInput:
    return InvalidInput(message, detail={"input": raw, **detail})


def validate(raw: str) -> str:
    """Return the canonical code or raise :class:`InvalidInput` saying what is wrong and where.

    Positions in messages count the canonical form (separators removed) from 1.
    """
    code = normalize(raw)
    if len(code) != CODE_LENGTH:
        raise _fail(_("wrong length: {length} characters, expected 25 "
                      "(24 digits and a check character)", length=len(code)), raw,
                    length=len(code))
    for index, char in enumerate(code[:BODY_LENGTH], start=1):
        if not ("0" <= char <= "9"):
            raise _fail(_("non-digit {char!r} at position {index}", char=char, index=index),
                        raw, position=index)
    if not (code[24] == "X" or "0" <= code[24] <= "9"):
        raise _fail(_("check character {char!r} at position 25 must be 0-9 or X",
                      char=code[24]), raw, position=25)
    expected = mod11_2(code[:BODY_LENGTH])
    if code[24] != expected:
        raise _fail(_("check character mismatch at position 25: got {got!r}, "
                      "expected {expected!r}", got=code[24], expected=expected), raw,
                    position=25, expected=expected)
    _check_structure(code, raw)
    return code


def _check_structure(code: str, raw: str) -> None:
    region = code[:REGION_DIGITS]
    if region[:2] == "00":
        raise _fail(_("province part (positions 1-2) is 00"), raw, position=1)
    if region[9:12] == "000":
        raise _fail(_("community/village part (positions 10-12) is 000: positions 1-12 "
                      "must be a community or village code"), raw, position=10)
    estate, building, house = code[12:15], code[15:19], code[19:24]
    if estate == "000" and building == "0000":
        raise _fail(_("estate number 000 with building number 0000 names no object "
                      "(positions 13-19)"), raw, position=13)
    if building == "0000" and house != "00000":
        raise _fail(_("house number without a building number (positions 16-19 are 0000)"),
                    raw, position=16)


def is_valid(raw: str) -> bool:
    try:
        validate(raw)
    except InvalidInput:
        return False
    return True


def problem(raw: str) -> str | None:
    """The reason ``raw`` is not a valid code, or None when it is valid."""
    try:
        validate(raw)
    except InvalidInput as exc:
        return exc.message
    return None


def encode(region_code: str, estate_number: int, building_number: int,
           house_number: int) -> str:
    """Build the canonical code from its parts (validates every part)."""
    if len(region_code) != REGION_DIGITS or not region_code.isascii() \
            or not region_code.isdigit():
        raise InvalidInput(_("region code must be 12 digits, got {region_code!r}",
                             region_code=region_code))
    for name, value, top in (("estate", estate_number, MAX_ESTATE),
                             ("building", building_number, MAX_BUILDING),
                             ("house", house_number, MAX_HOUSE)):
        if not 0 <= value <= top:
            raise InvalidInput(_("{name} number {value} out of range 0-{top}", name=name,
                                 value=value, top=top))
    code = HouseCode(region_code, estate_number, building_number, house_number).code
    return validate(code)


def decode(raw: str) -> HouseCode:
    """Validate and split a code into its parts."""
    code = validate(raw)
    return HouseCode(code[:12], int(code[12:15]), int(code[15:19]), int(code[19:24]))


def display(code: str) -> str:
    """The display form ``330402007024-001-0003-00101-8`` of a canonical code."""
    canonical = normalize(code)
    return "-".join((canonical[:12], canonical[12:15], canonical[15:19], canonical[19:24],
                     canonical[24:]))
