"""Move an estate, building or house through its lifecycle without retiring its code.

Statuses: planned -> under_construction -> in_use <-> out_of_use. The terminal statuses
(demolished, registered_in_error) retire the code and go through
:func:`cimhouse.coding.retire_house.retire_house` instead. The previous status goes to
``change_log``.

Example::

    change_status(session, "3304020070240010003000007", "in_use", actor="alice",
                  reason="竣工验收 2026-11")
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cimhouse.coding.records import object_of, record_change, registry_entry
from cimhouse.errors import Conflict, InvalidInput
from cimhouse.i18n import _
from cimhouse.schema.vocab import ACTIVE_STATUSES, CodeStatus


def change_status(session: Session, code: str, status: str, *, actor: str,
                  reason: str | None = None) -> Any:
    """Set the lifecycle status of the object ``code`` to one of :data:`ACTIVE_STATUSES`."""
    if status not in ACTIVE_STATUSES:
        raise InvalidInput(_("status must be one of {active_statuses}; demolished and "
                             "registered_in_error retire the code (retire_house)",
                             active_statuses=', '.join(ACTIVE_STATUSES)))
    entry = registry_entry(session, code, lock=True)
    if entry.status != CodeStatus.ACTIVE.value:
        raise Conflict(_("code {code} was retired ({retire_reason})", code=entry.code,
                         retire_reason=entry.retire_reason))
    obj = object_of(session, entry)
    if obj.status == status:
        return obj
    previous = {"status": obj.status}
    obj.status = status
    obj.version = (obj.version or 1) + 1
    record_change(session, kind=entry.object_kind, obj=obj, operation="update", actor=actor,
                  source="change_status", previous=previous,
                  current={"status": status, "reason": reason})
    session.flush()
    return obj
