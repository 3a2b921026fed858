"""The escalation contacts of a community: add, change, retire, list (scope in SQL).

A contact belongs to a community (``region_code``, 12 digits) and, for a family contact,
maybe to one house of it (then it is called only for that house's alerts). ``level`` is the
escalation step (1 is told first; every contact of a level is told together). The phone
is personal data: stored as ciphertext plus its mask (``138****5678``), never logged, never
in an audit row; GraphQL shows the mask unless the caller is a ``pii_reader`` (an audited
read). Only region scopes that cover the community see or change its contacts (an estate
scope sees none: contacts serve the whole community). A retired contact (``active``
false) stays, because the events of past alerts name it.

Example::

    contact = add_contact(session, ContactData(region_code="330402007024",
                          role="grid_worker", level=1, name="网格员张三",
                          phone="13812345678"), vault=vault, scope=scope, actor="api:ops")
    contact.phone_masked   # '138****5678'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from cimhouse.delivery.sign import SecretBox
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.i18n import _
from cimhouse.pii import PiiVault, mask_phone
from cimhouse.schema import AuditLog, House, Region
from cimhouse.schema.safety import SafetyContact
from cimhouse.schema.vocab import ContactRole, NotifyChannel
from cimhouse.scope import Scope, prefix_range, scope_filter

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


@dataclass(frozen=True)
class ContactData:
    region_code: str
    role: str
    level: int
    name: str
    phone: str | None = None
    house_code: str | None = None
    channel: str = NotifyChannel.IN_APP.value
    endpoint: str | None = None
    secret: str | None = None  # a webhook's signing secret (stored sealed, never shown)


def contact_scope(scope: Scope | None) -> ColumnElement[bool]:
    """Contacts a scope may see: communities inside a region scope; none for an estate."""
    if scope is None:
        return true()
    if scope.is_estate:
        return false()
    return prefix_range(SafetyContact.region_code, scope.code)


def _check(session: Session, data: ContactData, scope: Scope | None) -> int | None:
    """Validate; the house id of a family contact's house (None for the community)."""
    if data.role not in {r.value for r in ContactRole}:
        raise InvalidInput(_("unknown contact role {role!r}", role=data.role[:20]))
    if data.channel not in {c.value for c in NotifyChannel}:
        raise InvalidInput(_("unknown channel {channel!r}", channel=data.channel[:20]))
    if not 1 <= data.level <= 9:
        raise InvalidInput(_("level must be 1-9 (1 is told first)"))
    if not data.name.strip() or len(data.name) > 100:
        raise InvalidInput(_("a contact needs a name (at most 100 characters)"))
    if data.phone is not None and not PHONE.match(data.phone.strip()):
        raise InvalidInput(_("the phone number is not valid"))  # the number itself is not echoed
    if data.channel == NotifyChannel.WEBHOOK.value:
        parts = urlsplit(data.endpoint or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(_("a webhook contact needs an http(s) endpoint URL"))
    if data.secret is not None and len(data.secret) < 16:
        raise InvalidInput(_("a signing secret needs at least 16 characters"))
    code = data.region_code.strip()
    if len(code) != 12 or not code.isdigit() or (scope is not None and (
            scope.is_estate or not code.startswith(scope.code))):
        raise NotFound(_("community {code} not found (unknown, or outside your scope)",
                         code=code[:12]))
    if session.scalar(select(Region.code).where(Region.code == code)) is None:
        raise NotFound(_("community {code} not found (unknown, or outside your scope)",
                         code=code))
    if data.house_code is None:
        return None
    house = session.execute(select(House.id, House.region_code).where(
        House.county == code[:6], House.code == data.house_code.strip().upper(),
        scope_filter(House, scope))).one_or_none()
    if house is None or house.region_code != code:
        raise NotFound(_("house not found in this community (unknown, or outside your scope)"))
    return int(house.id)


def _sealed(data: ContactData, box: SecretBox | None) -> bytes | None:
    if data.secret is None:
        return None
    if box is None:
        raise InvalidInput(_("no key to store a signing secret with"))
    return box.seal(data.secret)


def add_contact(session: Session, data: ContactData, *, vault: PiiVault, scope: Scope | None,
                actor: str, box: SecretBox | None = None) -> SafetyContact:
    """A new contact; a webhook contact needs ``endpoint`` and ``secret`` (sealed by ``box``)."""
    house_id = _check(session, data, scope)
    if data.channel == NotifyChannel.WEBHOOK.value and data.secret is None:
        raise InvalidInput(_("a webhook contact needs a signing secret"))
    phone = data.phone.strip() if data.phone else None
    contact = SafetyContact(
        county=data.region_code[:6], region_code=data.region_code.strip(), house_id=house_id,
        role=data.role, level=data.level, name=data.name.strip(),
        phone_cipher=vault.encrypt(phone) if phone else None,
        phone_masked=mask_phone(phone) if phone else None, channel=data.channel,
        endpoint=data.endpoint, secret_enc=_sealed(data, box), active=True)
    session.add(contact)
    session.flush()
    session.add(AuditLog(actor=actor, action="safety_contact.add", object_kind="safety_contact",
                         object_ref=f"{contact.county}:{contact.id}",
                         detail={"role": data.role, "level": data.level}))
    return contact


def find_contact(session: Session, county: str, contact_id: int, scope: Scope | None
                 ) -> SafetyContact:
    contact = session.scalars(select(SafetyContact).where(
        SafetyContact.county == county, SafetyContact.id == contact_id,
        contact_scope(scope)).with_for_update()).one_or_none()
    if contact is None:
        raise NotFound(_("contact not found (unknown, or outside your scope)"))
    return contact


def update_contact(session: Session, county: str, contact_id: int, data: ContactData, *,
                   vault: PiiVault, scope: Scope | None, actor: str,
                   box: SecretBox | None = None) -> SafetyContact:
    """Replace a contact's fields (a phone or secret of None keeps the stored one)."""
    contact = find_contact(session, county, contact_id, scope)
    if data.region_code.strip() != contact.region_code:
        raise InvalidInput(_("a contact cannot move to another community: add a new one"))
    contact.house_id = _check(session, data, scope)
    contact.role, contact.level, contact.name = data.role, data.level, data.name.strip()
    contact.channel, contact.endpoint = data.channel, data.endpoint
    if data.secret is not None:
        contact.secret_enc = _sealed(data, box)
    if contact.channel == NotifyChannel.WEBHOOK.value and contact.secret_enc is None:
        raise InvalidInput(_("a webhook contact needs a signing secret"))
    if data.phone:
        contact.phone_cipher = vault.encrypt(data.phone.strip())
        contact.phone_masked = mask_phone(data.phone.strip())
    session.add(AuditLog(actor=actor, action="safety_contact.update",
                         object_kind="safety_contact", object_ref=f"{county}:{contact_id}",
                         detail={"role": data.role, "level": data.level}))
    session.flush()
    return contact


def retire_contact(session: Session, county: str, contact_id: int, *, scope: Scope | None,
                   actor: str) -> SafetyContact:
    """No more calls to this contact; past events keep naming it."""
    contact = find_contact(session, county, contact_id, scope)
    contact.active = False
    session.add(AuditLog(actor=actor, action="safety_contact.retire",
                         object_kind="safety_contact", object_ref=f"{county}:{contact_id}"))
    session.flush()
    return contact


def list_contacts(session: Session, scope: Scope | None, *, region_code: str | None = None,
                  active_only: bool = True, limit: int = 200) -> list[SafetyContact]:
    query = select(SafetyContact).where(contact_scope(scope))
    if scope is not None and scope.county_keys and not scope.is_estate:
        query = query.where(SafetyContact.county.in_(scope.county_keys))
    if region_code is not None:
        query = query.where(SafetyContact.region_code == region_code.strip())
    if active_only:
        query = query.where(SafetyContact.active.is_(True))
    return list(session.scalars(query.order_by(SafetyContact.region_code, SafetyContact.level,
                                               SafetyContact.id).limit(limit)))
