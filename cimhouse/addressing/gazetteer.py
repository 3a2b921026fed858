"""Region names (full and abbreviated) indexed for longest-match address parsing.

A :class:`Gazetteer` holds every current region of levels 1-5 with the spellings people
write: 嘉兴市/嘉兴, 南湖区/南湖, 建设街道/建设, 百福弄社区居委会/百福弄社区/百福弄,
竹林村村委会/竹林村/竹林. Abbreviations shorter than two characters are never used.

Example::

    gazetteer = Gazetteer.load(session)            # ~27,000 Zhejiang regions, ~0.3 s
    [m.code for m in gazetteer.match_at("南湖区建设街道", 0, level=3)]   # ['330402']
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cimhouse.addressing.normalize import normalize_text
from cimhouse.schema import Region

# Suffixes that may be dropped, longest first, per level.
_SUFFIXES: dict[int, tuple[str, ...]] = {
    1: ("省", "市", "自治区"),
    2: ("市", "地区", "自治州"),
    3: ("区", "县", "市"),
    4: ("街道办事处", "街道", "镇", "乡"),
    5: ("社区居民委员会", "居民委员会", "社区居委会", "村民委员会", "村村委会", "居委会",
        "村委会", "社区", "村"),
}
# What the short form keeps of a community's kind: 百福弄社区居委会 -> 百福弄社区.
_COMMUNITY_KEEP = (("社区居民委员会", "社区"), ("社区居委会", "社区"), ("村民委员会", "村"),
                   ("村村委会", "村"), ("村委会", "村"), ("居民委员会", "社区"),
                   ("居委会", "社区"))


CACHE_SECONDS = 60.0
# database URL -> (monotonic time checked, fingerprint, gazetteer)
_CACHE: dict[str, tuple[float, str, Gazetteer]] = {}
_LOADING = threading.Lock()


@dataclass(frozen=True)
class RegionMatch:
    code: str
    level: int
    length: int  # characters consumed
    abbreviated: bool


@dataclass(frozen=True)
class RegionEntry:
    code: str
    name: str
    level: int
    parent_code: str | None


def name_variants(name: str, level: int) -> list[tuple[str, bool]]:
    """The spellings of a region name: ``[(variant, abbreviated), ...]``, full name first."""
    full = normalize_text(name)
    variants: list[tuple[str, bool]] = [(full, False)]
    if level == 5:
        for suffix, keep in _COMMUNITY_KEEP:
            if full.endswith(suffix) and len(full) > len(suffix):
                variants.append((full[: -len(suffix)] + keep, False))
                break
    for variant, _ in list(variants):
        for suffix in _SUFFIXES[level]:
            if variant.endswith(suffix) and len(variant) - len(suffix) >= 2:
                variants.append((variant[: -len(suffix)], True))
                break
    seen: set[str] = set()
    unique = []
    for variant, abbreviated in variants:
        if variant not in seen:
            seen.add(variant)
            unique.append((variant, abbreviated))
    return unique


class Gazetteer:
    """Current regions indexed by every spelling, for matching at a position of a string."""

    def __init__(self, entries: Iterable[RegionEntry]) -> None:
        self.entries: dict[str, RegionEntry] = {}
        self._by_variant: dict[str, list[tuple[str, int, bool]]] = defaultdict(list)
        self._lengths: dict[str, list[int]] = {}  # first character -> lengths, longest first
        for entry in entries:
            self.entries[entry.code] = entry
            for variant, abbreviated in name_variants(entry.name, entry.level):
                self._by_variant[variant].append((entry.code, entry.level, abbreviated))
        lengths: dict[str, set[int]] = defaultdict(set)
        for variant in self._by_variant:
            lengths[variant[0]].add(len(variant))
        self._lengths = {ch: sorted(ls, reverse=True) for ch, ls in lengths.items()}

    @classmethod
    def cached(cls, session: Session) -> Gazetteer:
        """The gazetteer of this session's database, loaded at most once a minute per process.

        Address search parses every request's text; loading 27,000 regions (~0.3 s) each time
        would cost more than the search. After :data:`CACHE_SECONDS` a cheap fingerprint
        (count and last change of the current regions) decides whether to reload.
        """
        key = str(session.get_bind().engine.url)
        hit = _CACHE.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[2]
        with _LOADING:  # one load at a time: a search during the app's warm-up waits for it
            now = time.monotonic()
            hit = _CACHE.get(key)
            if hit is not None and now - hit[0] < CACHE_SECONDS:
                return hit[2]
            stamp = str(session.execute(select(func.count(), func.max(Region.updated_at))
                                        .where(Region.valid_to.is_(None))).one())
            gazetteer = hit[2] if hit is not None and hit[1] == stamp else cls.load(session)
            _CACHE[key] = (now, stamp, gazetteer)
            return gazetteer

    @classmethod
    def load(cls, session: Session) -> Gazetteer:
        rows = session.execute(
            select(Region.code, Region.name, Region.level, Region.parent_code)
            .where(Region.valid_to.is_(None))
        )
        return cls(RegionEntry(code, name, level, parent) for code, name, level, parent in rows)

    def match_at(self, text: str, pos: int, *, level: int,
                 within: tuple[str, ...] | None = None) -> list[RegionMatch]:
        """Regions of ``level`` (under one of the codes ``within``) named at ``text[pos:]``.

        Only the longest matching spelling counts (one match per region code).
        """
        if pos >= len(text):
            return []
        room = len(text) - pos
        for length in self._lengths.get(text[pos], ()):
            if length > room:  # a slice past the end is shorter than `length`
                continue
            hits = self._by_variant.get(text[pos:pos + length])
            if not hits:
                continue
            found = [RegionMatch(code, lvl, length, abbreviated)
                     for code, lvl, abbreviated in hits
                     if lvl == level and (within is None or code.startswith(within))]
            if found:
                return found
        return []

    def name(self, code: str) -> str:
        return self.entries[code].name

    def path(self, code: str) -> list[RegionEntry]:
        """The region and its ancestors, top (province) first."""
        chain: list[RegionEntry] = []
        current: str | None = code
        while current is not None and current in self.entries:
            entry = self.entries[current]
            chain.append(entry)
            current = entry.parent_code
        return list(reversed(chain))

    def is_community(self, code: str) -> bool:
        entry = self.entries.get(code)
        return entry is not None and entry.level == 5


__all__ = ["Gazetteer", "RegionEntry", "RegionMatch", "name_variants"]
