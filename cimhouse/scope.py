"""Access scopes at the six levels and the SQL predicates that enforce them.

A scope is a code at one level: province (2 digits), city (4), county (6), street/town (9),
community/village (12) or estate (its 25-character house code). Region scopes compare the
object's *current* community (``region_code``) by prefix, so objects follow an administrative
boundary change while their codes stay; estate scopes follow the estate's code.

Example::

    >>> parse_scope("3304").level, parse_scope("330402007024").level
    (2, 5)
    >>> session.scalars(select(House).where(scope_filter(House, parse_scope("330402"))))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, select, text, true
from sqlalchemy.orm import Session, aliased

from cimhouse.checksum import mod11_2
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, Facility, House, PersonHouse, Region, Space, Storey

REGION_LEVEL_BY_LENGTH = {2: 1, 4: 2, 6: 3, 9: 4, 12: 5}
ESTATE_LEVEL = 6
_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９ｘＸ"}


@dataclass(frozen=True)
class Scope:
    """Where a principal or a job may act. ``level`` 1-5 are regions, 6 is an estate."""

    code: str
    level: int
    # The ``county`` values (distribution key) of the objects that can lie in a county or
    # narrower scope, set by :func:`with_county_keys`. The filter then carries
    # ``county IN (...)``, so Citus routes the query to those shards; empty: no such predicate.
    county_keys: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_estate(self) -> bool:
        return self.level == ESTATE_LEVEL

    @property
    def region_prefix(self) -> str:
        """The prefix every covered community code starts with (12 digits for an estate)."""
        return self.code[:12] if self.is_estate else self.code

    def covers_region(self, region_code: str) -> bool:
        """True when a region code (any level) lies inside a *region* scope."""
        return not self.is_estate and region_code.startswith(self.code)

    def covers_scope(self, other: Scope) -> bool:
        """True when ``other`` lies entirely inside this scope."""
        if self.is_estate:
            return other.is_estate and other.code == self.code
        return other.region_prefix.startswith(self.code)


def parse_scope(raw: str) -> Scope:
    """Parse a scope code; accepts hyphens, spaces and full-width digits in estate codes."""
    text = "".join(raw.translate(_FULLWIDTH).replace("-", " ").split()).upper()
    if text.isdigit() and len(text) in REGION_LEVEL_BY_LENGTH:
        return Scope(text, REGION_LEVEL_BY_LENGTH[len(text)])
    if len(text) == 25 and text[:24].isdigit():
        if mod11_2(text[:24]) != text[24]:
            raise InvalidInput(_("scope code check character does not match"))
        if text[15:24] != "0" * 9 or text[12:15] == "000":
            raise InvalidInput(_("a 25-character scope must be an estate code (building and house "
                                 "parts zero)"))
        return Scope(text, ESTATE_LEVEL)
    raise InvalidInput(_("scope must be a 2, 4, 6, 9 or 12-digit region code or an estate code"))


def county_keys(scope: Scope, moves: Mapping[str, str]) -> tuple[str, ...]:
    """The ``county`` values of objects that can lie in ``scope`` (county level or narrower)
    after the region changes ``moves`` (old code -> new code, all changes ever applied).

    ``county`` is where an object was first registered and never changes, while its region
    follows boundary changes: a region moved into the scope brings its old county along,
    through chains of changes too.

    >>> county_keys(parse_scope("330604"), {"330682": "330604"})
    ('330604', '330682')
    """
    if scope.level < REGION_LEVEL_BY_LENGTH[6]:
        return ()
    prefixes, keys = {scope.region_prefix}, {scope.region_prefix[:6]}
    while True:
        found = set()
        for old, new in moves.items():
            for prefix in prefixes:
                if prefix.startswith(new):  # the scope lies inside a moved region
                    found.add(old + prefix[len(new):])
                elif new.startswith(prefix):  # a moved region lies inside the scope
                    found.add(old)
        if found <= prefixes:
            return tuple(sorted(keys))
        prefixes |= found
        keys |= {code[:6] for code in found if len(code) >= 6}


def with_county_keys(session: Session, scope: Scope) -> Scope:
    """``scope`` with its :attr:`Scope.county_keys` resolved from the region changes applied
    so far (``job`` rows of kind ``region_change``); province and city scopes stay as they are.

    >>> with_county_keys(session, parse_scope("330402")).county_keys
    ('330402',)
    """
    if scope.level < REGION_LEVEL_BY_LENGTH[6]:
        return scope
    return replace(scope, county_keys=county_keys(scope, region_moves(session)))


def region_moves(session: Session) -> dict[str, str]:
    """Every region change applied so far, old code -> new code (later ones win)."""
    moves: dict[str, str] = {}
    for mapping in session.execute(text(
            "SELECT options -> 'mapping' FROM job WHERE kind = 'region_change' "
            "ORDER BY id")).scalars():
        moves.update(mapping or {})
    return moves


def code_county_keys(session: Session, codes: list[str]) -> tuple[str, ...]:
    """The ``county`` values the objects of house codes can have: a code starts with the
    community its object was in when coded, so its county lies in that county's keys.

    >>> code_county_keys(session, ["330402007024001000100010X"])
    ('330402',)
    """
    moves = region_moves(session)
    keys: set[str] = set()
    for code in codes:
        keys.update(county_keys(Scope(code[:6], REGION_LEVEL_BY_LENGTH[6]), moves))
    return tuple(sorted(keys))


def prefix_range(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with the digit string ``prefix``, as an index-friendly range.

    Codes are digit strings, which sort the same under every collation, so the range
    [prefix, prefix+1) selects exactly the codes starting with ``prefix``.
    """
    if len(prefix) >= 12:
        return column == prefix  # type: ignore[no-any-return]
    lower = prefix.ljust(12, "0")
    if set(prefix) == {"9"}:
        return column >= lower  # type: ignore[no-any-return]
    upper = str(int(prefix) + 1).zfill(len(prefix)).ljust(12, "0")
    return and_(column >= lower, column < upper)


def _in_estate_via_building(row: Any, scope: Scope) -> ColumnElement[bool]:
    """``row`` (anything with county + building_id) lies in a building of the estate."""
    est, bld = aliased(Estate), aliased(Building)
    return exists(select(1).where(
        bld.county == row.county, bld.id == row.building_id,
        est.county == bld.county, est.id == bld.estate_id, est.code == scope.code))


def _estate_clause(model: Any, scope: Scope) -> ColumnElement[bool]:
    if model is Estate:
        return Estate.code == scope.code
    if model in (Building, Facility):
        est = aliased(Estate)
        return exists(select(1).where(est.county == model.county, est.id == model.estate_id,
                                      est.code == scope.code))
    if model in (House, Storey, Space):
        return _in_estate_via_building(model, scope)
    if model is PersonHouse:
        hse = aliased(House)
        return exists(select(1).where(hse.county == PersonHouse.county,
                                      hse.id == PersonHouse.house_id,
                                      _in_estate_via_building(hse, scope)))
    raise TypeError(f"no scope rule for {model!r}")


def scope_filter(model: Any, scope: Scope | None) -> ColumnElement[bool]:
    """A WHERE clause limiting ``model`` rows to ``scope`` (``None`` means everything).

    Supported models: Region, Estate, Building, Storey, Space, House, Facility, PersonHouse.
    With :attr:`Scope.county_keys` it also carries ``county IN (...)`` (one shard per key).
    """
    if scope is None:
        return true()
    clause = _scope_clause(model, scope)
    if scope.county_keys and model is not Region:
        keys = scope.county_keys
        on_county = model.county == keys[0] if len(keys) == 1 else model.county.in_(keys)
        return and_(on_county, clause)
    return clause


def _scope_clause(model: Any, scope: Scope) -> ColumnElement[bool]:
    if model is Region:
        if scope.is_estate:
            return false()
        return Region.code.startswith(scope.code, autoescape=True)
    if scope.is_estate:
        return _estate_clause(model, scope)
    if model in (Estate, Building, House, Facility):
        return prefix_range(model.region_code, scope.code)
    if model in (Storey, Space):
        bld = aliased(Building)
        return exists(select(1).where(bld.county == model.county, bld.id == model.building_id,
                                      prefix_range(bld.region_code, scope.code)))
    if model is PersonHouse:
        hse = aliased(House)
        return exists(select(1).where(hse.county == PersonHouse.county,
                                      hse.id == PersonHouse.house_id,
                                      prefix_range(hse.region_code, scope.code)))
    raise TypeError(f"no scope rule for {model!r}")
