"""Retire a house code: the house was demolished or registered in error.

The code stays in the registry (status ``retired``) and is never issued again; the house
keeps its row with the new lifecycle status. Lineage gets a ``retire`` event. Its current
person-house relations end that day, each logged (see :mod:`.house_relations`).

Example::

    retire_house(session, "330402007024-001-0003-00101-8", "demolished",
                 actor="alice", reason="旧改拆除 2026-10")
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cimhouse.coding.house_relations import end_relations
from cimhouse.coding.records import (
    active_house,
    house_snapshot,
    record_change,
    record_lineage,
    retire_entry,
)
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema import House
from cimhouse.schema.vocab import RETIRING_STATUSES, LineageEvent


def retire_house(session: Session, code: str, status: str, *, actor: str,
                 reason: str) -> House:
    """Set the house to ``status`` (demolished or registered_in_error), retire its code."""
    if status not in RETIRING_STATUSES:
        raise InvalidInput(_("a house is retired as {retiring_statuses}, not {status!r}",
                             retiring_statuses=' or '.join(RETIRING_STATUSES), status=status))
    if not reason.strip():
        raise InvalidInput(_("a retirement needs a reason"))
    entry, house = active_house(session, code)
    previous = house_snapshot(house)
    house.status = status
    retire_entry(session, entry, f"{status}: {reason.strip()}")
    record_lineage(session, county=house.county, event=LineageEvent.RETIRE,
                   parent=entry.code, child=None, actor=actor, note=reason.strip())
    record_change(session, kind="house", obj=house, operation="update", actor=actor,
                  source="retire_house", previous=previous, current=house_snapshot(house))
    end_relations(session, house, actor=actor, source="retire_house",
                  note=f"{status}: {reason.strip()}")
    session.flush()
    return house
