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


# Edges that link two different codes (split, merge); walk them transitively, at most 50 deep.
_WALK = """
WITH RECURSIVE walk AS (
    SELECT l.*, 1 AS depth FROM code_lineage l
    WHERE l.{near} = :code AND l.{far} IS NOT NULL AND l.parent_code <> l.child_code
    UNION
    SELECT l.*, w.depth + 1 FROM code_lineage l JOIN walk w ON l.{near} = w.{far}
    WHERE l.{far} IS NOT NULL AND l.parent_code <> l.child_code AND w.depth < 50
)
SELECT event, parent_code, child_code, effective_date, actor, note, min(depth)
FROM walk GROUP BY event, parent_code, child_code, effective_date, actor, note
ORDER BY min(depth), parent_code, child_code
"""


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
        rows = session.execute(text(_WALK.format(near=near, far=far)), {"code": entry.code})
        setattr(view, attribute, [LineageEdge(*row) for row in rows])
    return view
