"""New estates whose name is one or two edits from an estate of the same community.

A register that writes 恰景府 for 怡景府 would otherwise create a second estate silently. The
rows stay accepted (a new estate may really be called 恰景府), but every row of such an
estate gets a warning in the report and the import summary lists the pair. "Near" is an edit
distance of 1, or 2 for names of four characters or more (two edits of a three-character
name leave one character in common: 梅花苑 and 桂香苑 are different estates). Other new names
of the same file count as well as the stored estates and their aliases.

Example::

    found = near_duplicate_estates(session)     # after the staging table is complete
    found[0].estate, found[0].similar, found[0].lines[:3]   # '恰景府', ['怡景府'], [2, 3, 4]
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.addressing.normalize import edit_distance, normalize_estate_name
from cimhouse.db.bulk import county_in, staged_counties


@dataclass
class EstateWarning:
    county: str
    community: str
    estate: str
    similar: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def message(self) -> str:
        names = "、".join(self.similar)
        return (f"新小区名称与本社区已有小区相近: {self.estate} ≈ {names}，请核对是否错字 / "
                f"new estate name is one or two edits from an estate of the same community: "
                f"{self.estate} vs {names}; check for a typo")

    def as_dict(self) -> dict[str, Any]:
        return {"estate": self.estate, "community": self.community, "similar": self.similar,
                "rows": len(self.lines)}


def is_near(a: str, b: str) -> bool:
    """One edit apart, or two when both names have at least four characters."""
    if a == b:
        return False
    return edit_distance(a, b) <= (2 if min(len(a), len(b)) >= 4 else 1)


def near_duplicate_estates(session: Session, stage: str = "stage_register"
                           ) -> list[EstateWarning]:
    """Staged estates the apply step would create that resemble one of their community."""
    # An anti-join, not NOT EXISTS: Citus refuses a correlated subquery from the temp table
    # into the distributed estate. The file's counties: Citus reads their shards only.
    counties = staged_counties(session, stage)
    new = session.execute(text(f"""
        WITH named AS (
            SELECT county, region_code, estate_name, array_agg(line ORDER BY line) AS lines
            FROM {stage} WHERE estate_name IS NOT NULL
            GROUP BY county, region_code, estate_name),
        known AS (
            SELECT DISTINCT n.county, n.region_code, n.estate_name
            FROM named n
            JOIN estate e ON e.county = n.county AND e.region_code = n.region_code
                         AND (e.name = n.estate_name OR n.estate_name = ANY (e.aliases))
            WHERE {county_in('e', counties)})
        SELECT n.county, n.region_code, n.estate_name, n.lines
        FROM named n
        LEFT JOIN known k ON k.county = n.county AND k.region_code = n.region_code
                         AND k.estate_name = n.estate_name
        WHERE k.county IS NULL""")).all()
    if not new:
        return []
    known: dict[tuple[str, str], set[str]] = defaultdict(set)
    for county, community, name, aliases in session.execute(text("""
            SELECT e.county, e.region_code, e.name, e.aliases FROM estate e
            WHERE e.county = ANY (:counties) AND e.region_code = ANY (:communities)"""),
            {"counties": sorted({row[0] for row in new}),
             "communities": sorted({row[1] for row in new})}):
        known[(county, community)].update(
            n for n in (normalize_estate_name(s) for s in (name, *(aliases or ()))) if n)
    for county, community, name, _ in new:
        known[(county, community)].add(name)  # new names of the file resemble each other too
    warnings = []
    for county, community, name, lines in new:
        similar = sorted(n for n in known[(county, community)] if is_near(name, n))
        if similar:
            warnings.append(EstateWarning(county, community, name, similar, list(lines)))
    return warnings


__all__ = ["EstateWarning", "is_near", "near_duplicate_estates"]
