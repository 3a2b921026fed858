"""Find houses by an address as people type it: ranked candidates, scoped in SQL.

The text is split by :func:`~cimhouse.addressing.parse_address.split_search_text` (region,
estate, building, unit, floor, room; every part optional; shorthands, full-width digits,
Chinese numerals). Then two statements, both filtered by the principal's scope:

1. estates: the nearest names and aliases by the trigram index on ``estate.name_key``
   (migration 0014), once inside the named region and once in the whole scope, so that a
   wrong region name does not hide the estate; Python re-ranks them by edit distance
   (a typo, 恰景府 for 怡景府, is one edit) and keeps the best few;
2. houses of those estates, each scored by the parts it matches (weights in
   :data:`WEIGHTS`, normalised by the parts the text gives), best first.

Without an estate name the region (or an estate scope) stands in for it and every given
label must match. A text naming neither estate, region nor label finds nothing.

Example::

    found = search_addresses(session, "南湖区恰景府1-1-201", scope=parse_scope("3304"))
    best = found.candidates[0]
    best.code, best.score, best.matched
    # ('3304020070240010001002017', 0.94, ('region', 'estate_fuzzy', 'building', 'unit', 'room'))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from cimhouse.addressing.gazetteer import Gazetteer
from cimhouse.addressing.normalize import edit_distance, normalize_estate_name
from cimhouse.addressing.parse_address import SearchParts, split_search_text
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, House
from cimhouse.scope import Scope, prefix_range, scope_filter

#: how much each part of the text counts; a candidate's score is the weighted share of the
#: given parts it matches (the estate by its name similarity), so 1.0 means all of them
WEIGHTS = {"region": 0.1, "estate": 0.4, "building": 0.2, "unit": 0.1, "floor": 0.05,
           "room": 0.15}
NEAREST_ESTATES = 12  # per trigram probe; Python re-ranks them
ESTATES_KEPT = 4
MIN_SIMILARITY = 0.34  # below: a different name (two of three characters wrong)
REGION_ONLY_ESTATES = 200
MAX_ROWS = 4000  # houses scored when the typed labels narrow nothing
MAX_FIRST = 50
MAX_TEXT = 200
_LABEL_PARTS = ("building", "unit", "floor", "room")


@dataclass(frozen=True)
class AddressCandidate:
    """One house a text may mean. ``matched`` names the parts that agree: region, estate
    (or estate_alias: an alias or former name; estate_fuzzy: a near spelling), building,
    unit, floor, room."""

    county: str
    house_id: int
    code: str | None
    address: str | None
    region_code: str
    estate_code: str | None
    estate_name: str
    building: str | None
    unit: str | None
    floor: int | None
    room: str | None
    score: float
    matched: tuple[str, ...]


@dataclass
class AddressSearch:
    text: str
    parts: SearchParts
    candidates: list[AddressCandidate] = field(default_factory=list)


@dataclass
class _Estate:
    county: str
    id: int
    code: str | None
    name: str
    region_code: str
    similarity: float
    match: str  # estate | estate_alias | estate_fuzzy
    in_region: bool

    @property
    def rank(self) -> float:
        return WEIGHTS["estate"] * self.similarity + WEIGHTS["region"] * self.in_region


def name_similarity(typed: str, spelling: str) -> float:
    """1.0 for the same name, 1 - edits/length for a near one; a name typed inside other
    text (an unrecognised road or community before it) counts a little less."""
    if not typed or not spelling:
        return 0.0
    whole = 1.0 - edit_distance(typed, spelling) / max(len(typed), len(spelling))
    if len(typed) <= len(spelling):
        return max(0.0, whole)
    inside = 1.0 - edit_distance(spelling, typed, infix=True) / len(spelling) - 0.15
    return max(0.0, whole, inside)


def _ranked(row: Any, typed: str, regions: Sequence[str]) -> _Estate:
    best, match = 0.0, "estate_fuzzy"
    for index, spelling in enumerate((row.name, *(row.aliases or ()))):
        norm = normalize_estate_name(spelling) or ""
        similarity = name_similarity(typed, norm)
        if similarity > best:
            best = similarity
            match = ("estate" if index == 0 else "estate_alias") if norm == typed \
                else "estate_fuzzy"
    return _Estate(row.county, row.id, row.code, row.name, row.region_code, best, match,
                   any(row.region_code.startswith(r) for r in regions))


def _region_clause(codes: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(prefix_range(Estate.region_code, c) for c in codes))


def _find_estates(session: Session, parts: SearchParts, scope: Scope | None) -> list[_Estate]:
    columns = (Estate.county, Estate.id, Estate.code, Estate.name, Estate.aliases,
               Estate.region_code)
    base = select(*columns).where(scope_filter(Estate, scope))
    if not parts.estate:
        if parts.region_codes:
            base = base.where(_region_clause(parts.region_codes))
        elif scope is None or not scope.is_estate:
            return []
        rows = session.execute(base.order_by(Estate.county, Estate.id)
                               .limit(REGION_ONLY_ESTATES)).all()
        return [_Estate(r.county, r.id, r.code, r.name, r.region_code, 0.0, "", True)
                for r in rows]
    key = " ".join(parts.estate) + " "  # the form cimhouse_estate_key gives names
    nearest = Estate.name_key.op("<->")(key)
    probe = base.order_by(nearest).limit(NEAREST_ESTATES)
    if parts.region_codes:
        within = base.where(_region_clause(parts.region_codes)).order_by(nearest) \
            .limit(NEAREST_ESTATES)
        probe = within.union(probe)  # type: ignore[assignment]
    ranked = [_ranked(row, parts.estate, parts.region_codes)
              for row in session.execute(probe).all()]
    ranked = sorted((e for e in ranked if e.similarity >= MIN_SIMILARITY),
                    key=lambda e: (-e.rank, e.county, e.id))
    return [e for e in ranked[:ESTATES_KEPT] if e.rank >= ranked[0].rank - 0.1]


#: how registers and models write a label's number part: 3 -> 3幢, 3栋, 3号楼 ...
_SPELLINGS = {"building": ("", "幢", "栋", "号楼", "#", "座", "号"), "unit": ("", "单元"),
              "room": ("", "室", "号", "户")}
_COLUMN = {"building": "building_label", "unit": "unit_label", "room": "room_label"}


def _spellings(part: str, label: str) -> list[str]:
    """Stored forms of a normalised label (equality tests, no regex per row)."""
    numbers = [label, label.zfill(4)] if label.isdigit() and len(label) == 3 else [label]
    return [n + suffix for n in numbers for suffix in _SPELLINGS[part]]


def _narrowing(parts: SearchParts) -> ColumnElement[bool] | None:
    """The typed building (else room, else unit) as a filter: an index-cheap first try."""
    if parts.building:
        return Building.building_label.in_(_spellings("building", parts.building))
    if parts.room:
        return House.room_label.in_(_spellings("room", parts.room))
    if parts.unit:
        return House.unit_label.in_(_spellings("unit", parts.unit))
    return None


def _house_rows(session: Session, estates: list[_Estate], scope: Scope | None,
                narrowing: ColumnElement[bool] | None, limit: int) -> list[Any]:
    # Arrays as parameters (not VALUES literals) keep the statement in SQLAlchemy's cache.
    arrays = {"county": ([e.county for e in estates], Text),
              "estate_id": ([e.id for e in estates], BigInteger),
              "ordinal": (list(range(len(estates))), Integer)}
    cand = func.unnest(*(bindparam(f"cand_{name}", value, type_=ARRAY(kind))
                         for name, (value, kind) in arrays.items())) \
        .table_valued(*arrays).render_derived(name="cand")
    query = (select(House.county, House.id, House.code, House.address_norm, House.region_code,
                    Building.building_label, House.unit_label, House.floor_number,
                    House.room_label, cand.c.estate_id)
             .select_from(cand)
             .join(Building, and_(Building.county == cand.c.county,
                                  Building.estate_id == cand.c.estate_id))
             .join(House, and_(House.county == Building.county,
                               House.building_id == Building.id))
             .where(scope_filter(House, scope))
             .order_by(cand.c.ordinal, House.county, House.id).limit(limit))
    if narrowing is not None:
        query = query.where(narrowing)
    return list(session.execute(query).all())


def _find_houses(session: Session, parts: SearchParts, estates: list[_Estate],
                 scope: Scope | None, first: int) -> list[AddressCandidate]:
    """Houses of the estates, scored in Python. The typed building (or room, or unit)
    narrows the statement to a few rows; only when no house has it are all houses of the
    estates read (at most :data:`MAX_ROWS`) for the parts that do match."""
    given = parts.given()
    labels = [p for p in _LABEL_PARTS if getattr(parts, p)]
    narrowing = _narrowing(parts)
    # Only a name typed: the estates' first houses; otherwise every row may rank first.
    rows = _house_rows(session, estates, scope, narrowing, MAX_ROWS if labels else first)
    if not rows and narrowing is not None:
        rows = _house_rows(session, estates, scope, None, MAX_ROWS)
    # Stored spellings of each typed label; the floor is compared as a number.
    wanted = {p: set(_spellings(p, getattr(parts, p))) for p in labels if p != "floor"}
    floor = int(parts.floor) if parts.floor and parts.floor.lstrip("-").isdigit() else None
    total = sum(WEIGHTS[p] for p in given)
    by_key = {(e.county, e.id): e for e in estates}
    scored = []
    for index, row in enumerate(rows):
        estate = by_key[(row.county, row.estate_id)]
        hits = [p for p in labels if (row.floor_number == floor if p == "floor" else
                                      getattr(row, _COLUMN[p]) in wanted[p])]
        if "estate" not in given and len(hits) < len(labels):
            continue  # no name to rank by: every typed label must match
        points = sum(WEIGHTS[p] for p in hits)
        if "estate" in given:
            points += WEIGHTS["estate"] * estate.similarity
        if "region" in given and estate.in_region:
            points += WEIGHTS["region"]
        scored.append((-points, index, row, estate, hits))
    scored.sort(key=lambda s: s[:2])  # best first; ties keep estate rank, then house order
    found = []
    for minus_points, _tie, row, estate, hits in scored[:first]:
        matched = ["region"] if "region" in given and estate.in_region else []
        matched += [estate.match] if "estate" in given else []
        found.append(AddressCandidate(
            county=row.county, house_id=row.id, code=row.code, address=row.address_norm,
            region_code=row.region_code, estate_code=estate.code, estate_name=estate.name,
            building=row.building_label, unit=row.unit_label, floor=row.floor_number,
            room=row.room_label, score=round(-minus_points / total, 4),
            matched=tuple(matched + hits)))
    return found


def search_addresses(session: Session, text: str, *, scope: Scope | None, first: int = 10,
                     gazetteer: Gazetteer | None = None) -> AddressSearch:
    """Houses in ``scope`` (``None``: everywhere) that ``text`` may mean, best first.

    Raises :class:`InvalidInput` for an empty or overlong text or ``first`` outside 1-50.
    """
    if not text or not text.strip() or len(text) > MAX_TEXT:
        raise InvalidInput(_("text must be 1-{max_text} characters", max_text=MAX_TEXT))
    if not 1 <= first <= MAX_FIRST:
        raise InvalidInput(_("first must be 1-{max_first}", max_first=MAX_FIRST))
    parts = split_search_text(text, gazetteer or Gazetteer.cached(session))
    # Generic plans of these statements ignore the typed key and the scope's range and scan
    # every estate (90 ms instead of 1 ms on 2,500 estates); plan each execution.
    session.execute(select(func.set_config("plan_cache_mode", "force_custom_plan", True)))
    result = AddressSearch(text=text, parts=parts)
    if not parts.estate and not any(getattr(parts, p) for p in _LABEL_PARTS):
        return result
    estates = _find_estates(session, parts, scope)
    if parts.alternative is not None and parts.alternative.estate:
        other = _find_estates(session, parts.alternative, scope)
        if other and (not estates or other[0].rank > estates[0].rank):
            parts, estates = parts.alternative, other
    if estates:
        result.candidates = _find_houses(session, parts, estates, scope, first)
    return result


__all__ = ["WEIGHTS", "AddressCandidate", "AddressSearch", "name_similarity", "search_addresses"]
