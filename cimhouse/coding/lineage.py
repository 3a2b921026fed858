"""Query the lineage of a code both ways: its events, ancestors and descendants.

Example::

    view = lineage(session, "3304020070240010003000074")
    [edge.parent_code for edge in view.ancestors]     # ['3304020070240010003001018']
    view.as_dict()["registry"]["status"]              # 'active'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.coding.records import registry_entry


@dataclass(frozen=True)
class LineageEdge:
    event: str
    parent_code: str | None
    child_code: str | None
    effective_date: dt.date
    actor: str | None
    note: str | None
    depth: int = 0


@dataclass
class LineageView:
    code: str
    registry: dict[str, Any]
    events: list[LineageEdge] = field(default_factory=list)
    ancestors: list[LineageEdge] = field(default_factory=list)
    descendants: list[LineageEdge] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "registry": self.registry,
                "events": [asdict(e) for e in self.events],
                "ancestors": [asdict(e) for e in self.ancestors],
                "descendants": [asdict(e) for e in self.descendants]}


# Edges that link two different codes (split, merge); walked transitively, at most 50 deep,
# one query per level: the edges of a merge may lie in several counties (shards), and Citus
# runs a recursive CTE only inside one shard.
_STEP = """
SELECT id, event, parent_code, child_code, effective_date, actor, note, {far}
FROM code_lineage
WHERE {near} = ANY(CAST(:codes AS text[])) AND {far} IS NOT NULL AND parent_code <> child_code
ORDER BY id
"""
MAX_DEPTH = 50


def _walk(session: Session, code: str, near: str, far: str) -> list[LineageEdge]:
    """Edges reachable from ``code`` along ``near`` -> ``far``, each at its least depth,
    ordered by depth, parent and child code."""
    depth_of: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()
    frontier, depth = [code], 1
    while frontier and depth <= MAX_DEPTH:
        reached: set[str] = set()
        for row in session.execute(text(_STEP.format(near=near, far=far)),
                                   {"codes": frontier}):
            if row[0] in seen:
                continue
            seen.add(row[0])
            depth_of.setdefault(tuple(row[1:7]), depth)
            reached.add(row[7])
        frontier, depth = sorted(reached), depth + 1
    ordered = sorted(depth_of.items(), key=lambda item: (item[1], item[0][1], item[0][2]))
    return [LineageEdge(k[0], k[1], k[2], k[3], k[4], k[5], level) for k, level in ordered]


def lineage(session: Session, code: str) -> LineageView:
    """The registry entry of ``code``, every event naming it, its ancestors, descendants."""
    entry = registry_entry(session, code)
    registry = {"object_kind": entry.object_kind, "object_id": entry.object_id,
                "status": entry.status, "issued_at": entry.issued_at,
                "issued_by": entry.issued_by, "retired_at": entry.retired_at,
                "retire_reason": entry.retire_reason}
    view = LineageView(code=entry.code, registry=registry)
    rows = session.execute(text(
        "SELECT event, parent_code, child_code, effective_date, actor, note FROM code_lineage "
        "WHERE parent_code = :code OR child_code = :code ORDER BY recorded_at, id"),
        {"code": entry.code})
    view.events = [LineageEdge(*row) for row in rows]
    for attribute, near, far in (("ancestors", "child_code", "parent_code"),
                                 ("descendants", "parent_code", "child_code")):
        setattr(view, attribute, _walk(session, entry.code, near, far))
    return view
