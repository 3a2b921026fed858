"""Shared steps of the lifecycle operations: find by code, issue one code, write history.

Used by retire_house, split_house, merge_houses, relabel_object and apply_region_changes;
not a use case of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cimhouse.coding.house_code import encode, validate
from cimhouse.coding.namespace import allocate_numbers, lock_counties
from cimhouse.errors import Conflict, NotFound
from cimhouse.i18n import _
from cimhouse.schema import Building, ChangeLog, CodeLineage, CodeRegistry, Estate, House
from cimhouse.schema.vocab import CodeStatus, LineageEvent, ObjectKind

MODELS: dict[str, Any] = {ObjectKind.ESTATE.value: Estate, ObjectKind.BUILDING.value: Building,
                          ObjectKind.HOUSE.value: House}


def registry_entry(session: Session, code: str, *, lock: bool = False) -> CodeRegistry:
    """The registry row of a code (validated first); NotFound when never issued."""
    canonical = validate(code)
    entry = session.scalars(select(CodeRegistry).where(CodeRegistry.code == canonical)).first()
    if entry is None:
        raise NotFound(_("code {code} has never been issued", code=canonical))
    if lock:  # locked by its key: Citus locks rows only in a single-shard query
        entry = session.scalars(
            select(CodeRegistry).where(CodeRegistry.county == entry.county,
                                       CodeRegistry.code == canonical)
            .with_for_update().execution_options(populate_existing=True)).one()
    return entry


def object_of(session: Session, entry: CodeRegistry) -> Any:
    """The estate, building or house a registry row names, locked for update."""
    model = MODELS[entry.object_kind]
    obj = session.get(model, (entry.county, entry.object_id), with_for_update=True)
    if obj is None:
        raise NotFound(_("the {kind} of code {code} no longer exists", kind=entry.object_kind,
                         code=entry.code))
    return obj


def active_house(session: Session, code: str) -> tuple[CodeRegistry, House]:
    """The registry row and house of an active house code (Conflict when retired)."""
    entry = registry_entry(session, code, lock=True)
    if entry.object_kind != ObjectKind.HOUSE.value:
        raise Conflict(_("code {code} names a {object_kind}, not a house", code=entry.code,
                         object_kind=entry.object_kind))
    if entry.status != CodeStatus.ACTIVE.value:
        raise Conflict(_("code {code} was retired ({retire_reason})", code=entry.code,
                         retire_reason=entry.retire_reason))
    house: House = object_of(session, entry)
    return entry, house


def now(session: Session) -> dt.datetime:
    value: dt.datetime = session.execute(select(func.now())).scalar_one()
    return value


def record_lineage(session: Session, *, county: str, event: LineageEvent,
                   parent: str | None, child: str | None, actor: str,
                   effective_date: dt.date | None = None, note: str | None = None,
                   job_id: int | None = None) -> None:
    session.add(CodeLineage(county=county, event=event.value, parent_code=parent,
                            child_code=child, actor=actor, job_id=job_id, note=note,
                            effective_date=effective_date or dt.date.today()))


def record_change(session: Session, *, kind: str, obj: Any, operation: str, actor: str,
                  source: str, previous: dict[str, Any] | None,
                  current: dict[str, Any] | None) -> None:
    session.add(ChangeLog(county=obj.county, object_kind=kind,
                          object_id=obj.code or str(obj.id), operation=operation,
                          actor=actor, source=source, previous=previous, current=current))


def retire_entry(session: Session, entry: CodeRegistry, reason: str) -> None:
    entry.status = CodeStatus.RETIRED.value
    entry.retired_at = now(session)
    entry.retire_reason = reason


def issue_house_codes(session: Session, houses: list[House], building: Building, *,
                      actor: str, note: str) -> list[str]:
    """Give new houses of ``building`` the next numbers under its code; register them."""
    if building.code is None:
        raise Conflict(_("the building has no code yet; run the code assignment first"))
    prefix = building.code[:19]
    lock_counties(session, [prefix[:6]])
    numbers = allocate_numbers(session, prefix, len(houses))
    session.flush()  # the new houses get their ids
    codes = []
    for house, number in zip(houses, numbers, strict=True):
        house.code = encode(prefix[:12], int(prefix[12:15]), int(prefix[15:19]), number)
        session.add(CodeRegistry(county=house.county, code=house.code,
                                 object_kind=ObjectKind.HOUSE.value, object_id=house.id,
                                 status=CodeStatus.ACTIVE.value, issued_by=actor))
        record_lineage(session, county=house.county, event=LineageEvent.ISSUE, parent=None,
                       child=house.code, actor=actor, note=note)
        codes.append(house.code)
    return codes


def new_house_like(template: House, **changes: Any) -> House:
    """A new, uncoded house in the same building carrying ``template``'s attributes."""
    copied = {name: getattr(template, name) for name in (
        "county", "building_id", "region_code", "unit_label", "floor_label", "floor_number",
        "room_label", "area_m2", "area_source", "use", "status", "address_norm",
        "address_code")}
    copied.update(attributes=dict(template.attributes or {}), external_ids={})
    copied.update(changes)
    return House(**copied)


def house_snapshot(house: House) -> dict[str, Any]:
    return {"code": house.code, "status": house.status, "unit_label": house.unit_label,
            "floor_number": house.floor_number, "room_label": house.room_label,
            "area_m2": None if house.area_m2 is None else str(house.area_m2)}
