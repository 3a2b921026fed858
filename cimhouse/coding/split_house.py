"""Split one house into N new houses: N new codes, the old code retired.

The new houses lie in the same building, take the next house numbers under the building's
code and copy the old house's attributes; room labels get a suffix ``-1`` .. ``-N`` and the
area is left for a survey to fill in. The old house becomes ``out_of_use``. Its current
person-house relations end that day (the register cannot say who lives in which part;
record them on the parts), or all move to part ``relations_to`` (1-based) when the operator
names it; each change is logged (see :mod:`.house_relations`). Lineage records an edge
old -> new (event ``split``) per new code.

Example::

    split_house(session, "330402007024-001-0003-00101-8", 2, actor="alice")
    # ['3304020070240010003000074', '3304020070240010003000082'] (next free numbers)
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cimhouse.coding.house_relations import end_relations, move_relations
from cimhouse.coding.records import (
    active_house,
    house_snapshot,
    issue_house_codes,
    new_house_like,
    record_change,
    record_lineage,
    retire_entry,
)
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.i18n import _
from cimhouse.schema import Building
from cimhouse.schema.vocab import LifecycleStatus, LineageEvent

MAX_PARTS = 99


def split_house(session: Session, code: str, parts: int, *, actor: str,
                relations_to: int | None = None) -> list[str]:
    """Replace the house ``code`` by ``parts`` new houses; return their codes in order."""
    if not 2 <= parts <= MAX_PARTS:
        raise InvalidInput(_("a house is split into 2 to {max_parts} parts, not {parts}",
                             max_parts=MAX_PARTS, parts=parts))
    if relations_to is not None and not 1 <= relations_to <= parts:
        raise InvalidInput(_("the relations move to one of the parts 1 to {parts}, not "
                             "{relations_to}", parts=parts, relations_to=relations_to))
    entry, old = active_house(session, code)
    building = session.get(Building, (old.county, old.building_id))
    if building is None:
        raise NotFound(_("the building of house {code} no longer exists", code=entry.code))
    new_houses = [
        new_house_like(old, room_label=f"{old.room_label}-{index}" if old.room_label else None,
                       area_m2=None, area_source=None,
                       attributes={**(old.attributes or {}), "split_from": entry.code},
                       source="split_house")
        for index in range(1, parts + 1)]
    session.add_all(new_houses)
    codes = issue_house_codes(session, new_houses, building, actor=actor,
                              note=f"split from {entry.code}")
    previous = house_snapshot(old)
    old.status = LifecycleStatus.OUT_OF_USE.value
    retire_entry(session, entry, f"split into {', '.join(codes)}")
    for new_code, house in zip(codes, new_houses, strict=True):
        record_lineage(session, county=old.county, event=LineageEvent.SPLIT,
                       parent=entry.code, child=new_code, actor=actor)
        record_change(session, kind="house", obj=house, operation="insert", actor=actor,
                      source="split_house", previous=None, current=house_snapshot(house))
    record_change(session, kind="house", obj=old, operation="update", actor=actor,
                  source="split_house", previous=previous, current=house_snapshot(old))
    if relations_to is None:
        end_relations(session, old, actor=actor, source="split_house",
                      note=f"split into {', '.join(codes)}")
    else:
        move_relations(session, [old], new_houses[relations_to - 1], actor=actor,
                       source="split_house")
    session.flush()
    return codes
