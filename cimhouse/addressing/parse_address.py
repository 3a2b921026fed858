"""Parse a Chinese house address into region codes, estate, building, unit, floor and room.

The region part (province ... community/village) is matched against the loaded regions,
full or abbreviated names, any level may be missing; the rest is split into estate name,
building (3幢, 三栋, 3号楼, 3#, 3座), unit (2单元), floor (5层/5楼) and room (501室, 501),
also in the ``3-2-501`` shorthand. Separate register columns (小区, 幢号, 单元, 楼层, 室号)
take part: where both are present they must agree.

Each parse has a ``confidence`` in [0, 1]; below :data:`ACCEPT_CONFIDENCE`, or with any
blocking reason, the caller must reject the row instead of guessing.

Example::

    >>> from cimhouse.addressing.gazetteer import Gazetteer, RegionEntry
    >>> g = Gazetteer([RegionEntry("33", "浙江省", 1, None), RegionEntry("3304", "嘉兴市", 2, "33"),
    ...     RegionEntry("330402", "南湖区", 3, "3304"),
    ...     RegionEntry("330402007", "建设街道", 4, "330402"),
    ...     RegionEntry("330402007024", "百福弄社区居委会", 5, "330402007")])
    >>> p = parse_address("嘉兴南湖区百福弄社区梅花苑三栋2单元501室", g)
    >>> p.community_code, p.estate, p.building, p.unit, p.room, p.floor_number
    ('330402007024', '梅花苑', '3', '2', '501', 5)
    >>> p.accepted, round(p.confidence, 2)
    (True, 0.9)
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cimhouse.addressing.gazetteer import Gazetteer, RegionMatch
from cimhouse.addressing.normalize import (
    NUMERAL_CHARS,
    chinese_to_int,
    normalize_estate_name,
    normalize_label,
    normalize_text,
    numerals_to_digits,
)

ACCEPT_CONFIDENCE = 0.6
_PENALTY_ABBREVIATED = 0.05
_PENALTY_MISSING_LEVEL = 0.05
_PENALTY_ESTATE_INFERENCE = 0.25
_PENALTY_NO_ROOM = 0.1

_LABEL = r"[0-9A-Z]+(?:-[0-9A-Z]+)?"
_FULL = re.compile(
    rf"^(?P<estate>.*?)(?P<building>{_LABEL})(?:号楼|幢|栋|座|#|号)"
    rf"(?:(?P<unit>{_LABEL})单元)?"
    r"(?:(?P<floor>-?[0-9]+)(?:层|楼))?"
    rf"(?:(?P<room>{_LABEL})(?:室|号|户)?)?$"
)
_HYPHEN3 = re.compile(r"^(?P<estate>.*?[^0-9A-Z-])?(?P<building>[0-9]+)-(?P<unit>[0-9]+)-"
                      r"(?P<room>[0-9]+)(?:室|号)?$")
_HYPHEN2 = re.compile(r"^(?P<estate>.*?[^0-9A-Z-])?(?P<building>[0-9]+)-(?P<room>[0-9]+)"
                      r"(?:室|号)?$")
_PARTS = ("estate", "building", "unit", "floor", "room")
_PART_NAMES = {"estate": "小区 / estate", "building": "幢号 / building", "unit": "单元 / unit",
               "floor": "楼层 / floor", "room": "室号 / room"}


@dataclass
class ParsedAddress:
    """The outcome of :func:`parse_address`; ``reasons`` are bilingual (中文 / English)."""

    community_code: str | None = None
    region_path: list[str] = field(default_factory=list)  # codes, province first
    estate: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)
    blocking: bool = False

    @property
    def accepted(self) -> bool:
        return not self.blocking and self.confidence >= ACCEPT_CONFIDENCE

    @property
    def county(self) -> str | None:
        return self.community_code[:6] if self.community_code else None

    @property
    def floor_number(self) -> int | None:
        """The stated floor, else the one implied by a 3-4 digit room number (501 -> 5)."""
        if self.floor and re.fullmatch("-?[0-9]+", self.floor):
            return int(self.floor)
        if self.room and self.room.isdigit() and 3 <= len(self.room) <= 4:
            return int(self.room) // 100 or None
        return None

    def block(self, reason: str) -> None:
        self.blocking = True
        self.reasons.append(reason)


def _match_regions(text: str, gazetteer: Gazetteer, seed: Sequence[str] | None
                   ) -> tuple[int, list[RegionMatch], list[str] | None]:
    """Longest-match the region chain at the start of ``text``.

    Returns (characters consumed, matches in order, candidate codes of the deepest level).
    """
    pos = 0
    chain: list[RegionMatch] = []
    candidates: list[str] | None = list(seed) if seed else None
    for level in range(1, 6):
        within = tuple(candidates) if candidates else None
        matches = gazetteer.match_at(text, pos, level=level, within=within)
        if not matches:
            continue
        chain.append(matches[0])
        pos += matches[0].length
        candidates = [m.code for m in matches]
    # A lone abbreviation at the end of the text part is more likely the start of an estate
    # name (南湖花园) than a region: keep it only when a matched region comes before it.
    if chain and chain[-1].abbreviated and len(chain) == 1 and not seed:
        pos -= chain[-1].length
        chain.pop()
        candidates = None
    return pos, chain, candidates


def parse_address(address: str | None, gazetteer: Gazetteer, *,
                  parts: Mapping[str, str | None] | None = None,
                  region_hint: str | None = None,
                  known_estates: Mapping[str, Sequence[str]] | None = None) -> ParsedAddress:
    """Parse ``address`` (and optional separate ``parts``) into a :class:`ParsedAddress`.

    ``parts`` may hold estate/building/unit/floor/room columns; ``region_hint`` the
    concatenated region columns (区县, 街道, 社区); ``known_estates`` maps existing estate
    names to the community codes they lie in, used only when the address names no
    community (at a confidence penalty).
    """
    result = ParsedAddress(confidence=1.0)
    parts = parts or {}
    seed: list[str] | None = None
    chain: list[RegionMatch] = []
    if region_hint:
        hint = normalize_text(region_hint)
        used, hint_chain, seed = _match_regions(hint, gazetteer, None)
        chain += hint_chain
        if used < len(hint):
            result.block(f"区划名称无法识别: {hint[used:]} / unknown region name {hint[used:]!r}")
    text = normalize_text(address or "")
    used, text_chain, candidates = _match_regions(text, gazetteer, seed)
    chain += text_chain
    candidates = candidates if candidates is not None else seed
    rest = numerals_to_digits(text[used:])

    _resolve_community(result, chain, candidates, rest, parts, known_estates)
    _split_rest(result, rest, parts)
    if result.community_code:
        result.region_path = [entry.code for entry in gazetteer.path(result.community_code)]
    if not result.building:
        result.block("缺少幢号 / building number missing")
    elif not result.room:
        result.confidence -= _PENALTY_NO_ROOM
    result.confidence = max(0.0, round(result.confidence, 4))
    if result.confidence < ACCEPT_CONFIDENCE and not result.blocking:
        result.reasons.append(f"地址置信度过低 ({result.confidence:.2f}) / address confidence "
                              f"too low ({result.confidence:.2f})")
    return result


def _resolve_community(result: ParsedAddress, chain: list[RegionMatch],
                       candidates: list[str] | None, rest: str,
                       parts: Mapping[str, str | None],
                       known_estates: Mapping[str, Sequence[str]] | None) -> None:
    levels = {m.level for m in chain}
    result.confidence -= _PENALTY_ABBREVIATED * sum(1 for m in chain if m.abbreviated)
    if 5 in levels and candidates:
        if len(candidates) > 1:
            result.block("社区/村名称不唯一，请补充区县或街道 / community name is ambiguous, "
                         "add the county or street")
            return
        result.community_code = candidates[0]
        result.confidence -= _PENALTY_MISSING_LEVEL * sum(1 for lv in (3, 4) if lv not in levels)
        return
    # No community named: an existing estate of that name may tell where the house lies.
    estate = normalize_estate_name(parts.get("estate")) or _estate_guess(rest)
    inferred: list[str] = []
    if estate and known_estates:
        inferred = [c for c in known_estates.get(estate, ())
                    if not candidates or c.startswith(tuple(candidates))]
    if len(set(inferred)) == 1:
        result.community_code = inferred[0]
        result.confidence -= _PENALTY_ESTATE_INFERENCE
        result.reasons.append("社区由已有小区推断 / community inferred from an existing estate")
        return
    if len(set(inferred)) > 1:
        result.block("小区名称对应多个社区 / estate name lies in several communities")
        return
    result.block("无法确定所属社区/村 / community or village not found in the address")


def _estate_guess(rest: str) -> str | None:
    match = _FULL.match(rest) or _HYPHEN3.match(rest) or _HYPHEN2.match(rest)
    return normalize_estate_name(match.group("estate")) if match and match.group("estate") \
        else None


def _split_rest(result: ParsedAddress, rest: str, parts: Mapping[str, str | None]) -> None:
    found: dict[str, str | None] = dict.fromkeys(_PARTS)
    if rest:
        estate_col = normalize_estate_name(parts.get("estate"))
        body = rest
        if estate_col and normalize_text(rest).startswith(estate_col):
            found["estate"] = estate_col
            body = rest[len(estate_col):]
            body = body[2:] if body.startswith("小区") else body
        match = None if not body else (_FULL.match(body) or _HYPHEN3.match(body)
                                       or _HYPHEN2.match(body))
        if match:
            groups = match.groupdict()
            for part in _PARTS:
                value = groups.get(part)
                if value and part != "estate":
                    found[part] = normalize_label(value)
                elif value:
                    found["estate"] = normalize_estate_name(value)
        elif body and not any(parts.get(p) for p in ("building", "room")):
            result.block(f"无法识别幢/单元/室: {body} / cannot read building/unit/room "
                         f"from {body!r}")
        elif body:
            found["estate"] = found["estate"] or normalize_estate_name(body)
    for part in _PARTS:
        column = parts.get(part)
        value = (normalize_estate_name(column) if part == "estate"
                 else normalize_label(column)) if column else None
        if value and found[part] and value != found[part]:
            result.block(f"地址与{_PART_NAMES[part].split(' / ')[0]}列不一致 "
                         f"({found[part]} ≠ {value}) / address and {part} column disagree")
        setattr(result, part, value or found[part])


def building_address(gazetteer: Gazetteer, parsed: ParsedAddress) -> str:
    """The normalised building address used for matching: region names, estate, N幢."""
    assert parsed.community_code
    assert parsed.building
    region = "".join(entry.name for entry in gazetteer.path(parsed.community_code))
    return " ".join(p for p in (region, parsed.estate or "", f"{parsed.building}幢") if p)


def house_address(gazetteer: Gazetteer, parsed: ParsedAddress) -> str:
    """The normalised house address: the building address plus unit, floor (no room) and room."""
    pieces = [building_address(gazetteer, parsed)]
    if parsed.unit:
        pieces.append(f"{parsed.unit}单元")
    if parsed.room:
        pieces.append(f"{parsed.room}室")
    elif parsed.floor:
        pieces.append(f"{parsed.floor}层")
    return " ".join(pieces)


# Search text: every part optional, spaces kept as boundaries (测试小区0-1 1幢 101室).
_SEARCH_HYPHEN = re.compile(r"^(?P<estate>.*?[^0-9A-Z-]|)\s*(?P<building>[0-9]+[A-Z]?)\s*-\s*"
                            r"(?:(?P<unit>[0-9]+)\s*-\s*)?(?P<room>[0-9]+[A-Z]?)\s*(?:室|号|户)?$")
_SEARCH_TAIL = re.compile(
    rf"^(?P<estate>.*?)\s*(?:(?P<building>{_LABEL})\s*(?:号楼|幢|栋|座|#|号)\s*)?"
    rf"(?:(?P<unit>{_LABEL})\s*单元\s*)?(?:(?P<floor>-?[0-9]+)\s*(?:层|楼)\s*)?"
    rf"(?:(?P<room>{_LABEL})\s*(?:室|户|号)?)?$")
# A numeral typed without its keyword after the last keyword: 3幢2单元五〇一 -> 501.
_TRAILING_NUMERAL = re.compile(
    f"(?:(?<=单元)|(?<=号楼)|(?<=[幢栋座#]))([{NUMERAL_CHARS}]+)$")


@dataclass(frozen=True)
class SearchParts:
    """What a typed search text names; every part may be missing.

    ``region_codes`` are the candidates of the deepest region level named (several when a
    short name is ambiguous), ``region_level`` that level.
    """

    region_codes: tuple[str, ...] = ()
    region_level: int | None = None
    estate: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    #: the same text read with its last, abbreviated region name as part of the estate
    alternative: SearchParts | None = None

    def given(self) -> tuple[str, ...]:
        """The parts present, in address order (``region`` first)."""
        named = ("region",) if self.region_codes else ()
        return named + tuple(p for p in _PARTS if getattr(self, p))


def split_search_text(text: str, gazetteer: Gazetteer) -> SearchParts:
    """Split free text as people type it into region, estate, building, unit, floor, room.

    Lenient where :func:`parse_address` is strict: nothing is required, the shorthands
    ``1-1-201`` and ``1-201`` count, spaces separate parts, Chinese numerals after the last
    keyword count too.

    Example::

        >>> split_search_text("南湖区 怡景府一幢一单元二〇一", g)
        SearchParts(region_codes=('330402',), region_level=3, estate='怡景府', building='1',
                    unit='1', floor=None, room='201')
    """
    spaced = " ".join(unicodedata.normalize("NFKC", text).upper().split())
    compact, starts = "", []  # starts[i]: index in `spaced` of compact[i]
    for index, char in enumerate(spaced):
        if char != " ":
            compact += char
            starts.append(index)
    used, chain, candidates = _match_regions(compact, gazetteer, None)
    parts = _search_parts(spaced[starts[used]:] if used < len(starts) else "", chain,
                          candidates)
    if chain and chain[-1].abbreviated and used < len(compact):
        # 桐乡和平公寓: 和平 may be a short community name or the start of the estate name;
        # the search tries both and keeps the reading whose estate matches better.
        shorter = used - chain[-1].length
        used, chain, candidates = _match_regions(compact[:shorter], gazetteer, None)
        if used == shorter:
            alternative = _search_parts(spaced[starts[used]:], chain, candidates)
            parts = dataclasses.replace(parts, alternative=alternative)
    return parts


def _search_parts(rest: str, chain: list[RegionMatch], candidates: list[str] | None
                  ) -> SearchParts:
    rest = numerals_to_digits(rest)
    rest = _TRAILING_NUMERAL.sub(lambda m: str(chinese_to_int(m.group(1))), rest)
    match = _SEARCH_HYPHEN.match(rest) or _SEARCH_TAIL.match(rest)
    groups = match.groupdict() if match else {"estate": rest}
    return SearchParts(region_codes=tuple(candidates or ()) if chain else (),
                       region_level=chain[-1].level if chain else None,
                       estate=normalize_estate_name(groups.get("estate") or None),
                       building=normalize_label(groups.get("building")),
                       unit=normalize_label(groups.get("unit")),
                       floor=normalize_label(groups.get("floor")),
                       room=normalize_label(groups.get("room")))


__all__ = ["ACCEPT_CONFIDENCE", "ParsedAddress", "SearchParts", "building_address",
           "house_address", "parse_address", "split_search_text"]
