"""Change an object's labels or cross-references; its code never changes.

Labels (幢号, 单元, 室号, names) are attributes: renumbering a building on site or correcting a
room label changes them, never the code. Cross-references are validated
(:mod:`cimhouse.coding.crossref`). The previous values go to ``change_log``; lineage gets a
``relabel`` event (parent = child = the code).

Example::

    relabel_object(session, "330402007024-001-0003-00101-8", actor="alice",
                   room_label="1101室", realestate_unit_no="330402001002GB00012F00030101")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cimhouse.coding.crossref import (
    validate_address_code,
    validate_external_ids,
    validate_ifc_global_id,
    validate_realestate_unit_no,
)
from cimhouse.coding.records import object_of, record_change, record_lineage, registry_entry
from cimhouse.errors import Conflict, InvalidInput
from cimhouse.i18n import _
from cimhouse.schema.vocab import CodeStatus, LineageEvent


def _text(value: Any) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def _floor(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("floor_number must be an integer, not {value!r}",
                             value=value)) from exc
    if not -20 <= number <= 300:
        raise InvalidInput(_("floor_number {number} out of range -20..300", number=number))
    return number


def _optional(check: Callable[[str], str]) -> Callable[[Any], str | None]:
    return lambda value: None if _text(value) is None else check(str(value))


CROSS_REFERENCES: dict[str, Callable[[Any], Any]] = {
    "address_code": _optional(validate_address_code),
    "ifc_global_id": _optional(validate_ifc_global_id),
    "external_ids": lambda value: validate_external_ids(value or {}),
}
#: fields a relabel may change, per object kind, with their normaliser/validator
RELABEL_FIELDS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "estate": {"name": _text, "address": _text, "property_company": _text,
               "external_ids": CROSS_REFERENCES["external_ids"]},
    "building": {"building_label": _text, "road": _text, "door_number": _text,
                 **CROSS_REFERENCES},
    "house": {"unit_label": _text, "floor_label": _text, "floor_number": _floor,
              "room_label": _text, "realestate_unit_no": _optional(validate_realestate_unit_no),
              **CROSS_REFERENCES},
}


def relabel_object(session: Session, code: str, /, *, actor: str, **changes: Any) -> Any:
    """Set the given labels / cross-references of the estate, building or house ``code``."""
    entry = registry_entry(session, code, lock=True)
    if entry.status != CodeStatus.ACTIVE.value:
        raise Conflict(_("code {code} was retired ({retire_reason})", code=entry.code,
                         retire_reason=entry.retire_reason))
    allowed = RELABEL_FIELDS[entry.object_kind]
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidInput(_("a {object_kind} relabel cannot change {unknown}; allowed: {allowed}",
                             object_kind=entry.object_kind, unknown=', '.join(unknown),
                             allowed=', '.join(sorted(allowed))))
    if not changes:
        raise InvalidInput(_("nothing to relabel: give at least one field"))
    clean = {name: allowed[name](value) for name, value in changes.items()}
    if entry.object_kind == "estate" and not clean.get("name", "x"):
        raise InvalidInput(_("an estate name cannot be empty"))
    obj = object_of(session, entry)
    previous = {name: getattr(obj, name) for name in clean}
    changed = {name: value for name, value in clean.items() if previous[name] != value}
    if not changed:
        return obj
    for name, value in changed.items():
        setattr(obj, name, value)
    obj.version = (obj.version or 1) + 1
    record_change(session, kind=entry.object_kind, obj=obj, operation="update", actor=actor,
                  source="relabel", previous={k: previous[k] for k in changed},
                  current=changed)
    record_lineage(session, county=obj.county, event=LineageEvent.RELABEL, parent=entry.code,
                   child=entry.code, actor=actor, note=", ".join(sorted(changed)))
    session.flush()
    return obj


#: the name the GraphQL layer and the CLI use
relabel = relabel_object
