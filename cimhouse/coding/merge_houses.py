"""Merge N houses of one building into one new house: a new code, the old codes retired.

The new house takes the next house number under the building's code. Its unit and floor
come from the house with the lowest code, its room label joins the old labels with ``+``,
its area is the sum when every area is known, and its use is shared or ``mixed``. The old
houses become ``out_of_use``; their current person-house relations move to the new house
(one per person and kind), each change logged (see :mod:`.house_relations`); lineage records
an edge old -> new (event ``merge``) per old code.

Example::

    merge_houses(session, ["330402007024-001-0003-00101-8",
                           "330402007024-001-0003-00102-6"], actor="alice")
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from cimhouse.coding.house_code import validate
from cimhouse.coding.house_relations import move_relations
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
from cimhouse.schema import Building, CodeRegistry, House
from cimhouse.schema.vocab import HouseUse, LifecycleStatus, LineageEvent


def merge_houses(session: Session, codes: list[str], *, actor: str) -> str:
    """Replace the houses ``codes`` (at least two, one building) by one; return its code."""
    canonical = sorted({validate(code) for code in codes})
    if len(canonical) < 2:
        raise InvalidInput(_("merging needs at least two different house codes"))
    found: list[tuple[CodeRegistry, House]] = [active_house(session, c) for c in canonical]
    buildings = {(house.county, house.building_id) for _, house in found}
    if len(buildings) != 1:
        raise InvalidInput(_("only houses of one building can be merged"))
    first = found[0][1]
    building = session.get(Building, (first.county, first.building_id))
    if building is None:
        raise NotFound(_("the building of the houses no longer exists"))
    houses = [house for _, house in found]
    areas = [house.area_m2 for house in houses if house.area_m2 is not None]
    all_areas = len(areas) == len(houses)
    uses = {house.use for house in houses}
    labels = [house.room_label for house in houses if house.room_label]
    merged = new_house_like(
        first, room_label="+".join(labels) or None,
        area_m2=sum(areas, Decimal(0)) if all_areas else None,
        area_source=first.area_source if all_areas else None,
        use=uses.pop() if len(uses) == 1 else HouseUse.MIXED.value,
        attributes={**(first.attributes or {}), "merged_from": canonical},
        source="merge_houses")
    session.add(merged)
    (new_code,) = issue_house_codes(session, [merged], building, actor=actor,
                                    note=f"merged from {', '.join(canonical)}")
    for entry, house in found:
        previous = house_snapshot(house)
        house.status = LifecycleStatus.OUT_OF_USE.value
        retire_entry(session, entry, f"merged into {new_code}")
        record_lineage(session, county=house.county, event=LineageEvent.MERGE,
                       parent=entry.code, child=new_code, actor=actor)
        record_change(session, kind="house", obj=house, operation="update", actor=actor,
                      source="merge_houses", previous=previous, current=house_snapshot(house))
    record_change(session, kind="house", obj=merged, operation="insert", actor=actor,
                  source="merge_houses", previous=None, current=house_snapshot(merged))
    move_relations(session, houses, merged, actor=actor, source="merge_houses")
    session.flush()
    return new_code
