"""Escalation in GraphQL: contacts of a community, an alert's logged steps, the in-app inbox.

Contacts are read and managed with ``person_reader`` (community staff), within the scope
in SQL (a region scope covering the community; an estate scope sees none). Phones are masked
(``138****5678``); a ``pii_reader`` sees them whole, and each such read writes an
``audit_log`` row. An alert's events and the notifications are found through the alert's
house, filtered by the scope (another community's: not found, never counted).

Example::

    mutation { addSafetyContact(input: {regionCode: "330402007024", role: GRID_WORKER,
               level: 1, name: "网格员张三", phone: "13812345678"}) {
               ... on SafetyContact { id phone roleLabel } ... on UserError { message } } }
    { safetyAlertEvents(id: "...") { at kind level contactName actor } }
    { safetyNotifications(first: 20) { title contactName createdAt } }
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from cimhouse.delivery.sign import SecretBox
from cimhouse.errors import InvalidInput
from cimhouse.graphql.common import (
    county_key,
    global_id,
    page_size,
    parse_county_key,
    parse_global_id,
)
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.results import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    run_mutation,
)
from cimhouse.i18n import _
from cimhouse.safety.manage_contacts import (
    ContactData,
    add_contact,
    contact_scope,
    list_contacts,
    retire_contact,
    update_contact,
)
from cimhouse.schema import House
from cimhouse.schema.safety import (
    SafetyAlert,
    SafetyAlertEvent,
    SafetyContact,
    SafetyNotification,
)
from cimhouse.schema.vocab import ZH_NAMES, AlertEventKind, ContactRole, NotifyChannel, Role
from cimhouse.scope import scope_filter

strawberry.enum(ContactRole, name="ContactRole",
                description="grid_worker 网格员, community_staff 社区工作人员, family 家属联系人.")
strawberry.enum(NotifyChannel, name="NotifyChannel", description="in_app or webhook.")


@strawberry.type(name="SafetyContact", description="Someone a community's alerts escalate to.")
class SafetyContactType:
    row: strawberry.Private[SafetyContact]
    house_code: str | None
    id: strawberry.ID
    region_code: str
    role: str
    role_label: str = strawberry.field(description="The role in Chinese.")
    level: int = strawberry.field(description="Escalation step: 1 is told first.")
    name: str
    channel: str
    endpoint: str | None
    active: bool

    @strawberry.field(description="Masked (138****5678) unless the caller is a pii_reader "
                                  "(an audited read).")
    def phone(self, info: Info[RequestContext, None]) -> str | None:
        ctx = info.context
        if self.row.phone_cipher is None or not ctx.can(Role.PII_READER):
            return self.row.phone_masked
        ctx.audit("pii.read", "safety_contact", f"{self.row.county}:{self.row.id}",
                  {"field": "phone"})
        return ctx.vault.decrypt(self.row.phone_cipher)


def _contact(contact: SafetyContact, house_code: str | None) -> SafetyContactType:
    return SafetyContactType(
        row=contact, house_code=house_code,
        id=global_id("SafetyContact", county_key(contact.county, contact.id)),
        region_code=contact.region_code, role=contact.role,
        role_label=ZH_NAMES[ContactRole][contact.role][0], level=contact.level,
        name=contact.name, channel=contact.channel, endpoint=contact.endpoint,
        active=contact.active)


def _house_codes(ctx: RequestContext, contacts: list[SafetyContact]) -> dict[tuple[str, int],
                                                                             str]:
    wanted = {(c.county, c.house_id) for c in contacts if c.house_id is not None}
    if not wanted:
        return {}
    rows = ctx.session.execute(select(House.county, House.id, House.code).where(
        House.county.in_({k[0] for k in wanted}), House.id.in_({k[1] for k in wanted}),
        scope_filter(House, ctx.scope))).all()
    return {(r.county, r.id): r.code for r in rows}


@strawberry.input
class SafetyContactInput:
    region_code: str = strawberry.field(description="The community (12 digits).")
    role: ContactRole
    level: int
    name: str
    phone: str | None = None
    house_code: str | None = strawberry.field(
        default=None, description="A family contact of this house only.")
    channel: NotifyChannel = NotifyChannel.IN_APP
    endpoint: str | None = strawberry.field(default=None, description="Webhook URL.")
    secret: str | None = strawberry.field(
        default=None, description="A webhook's signing secret (HMAC-SHA256; stored "
                                  "encrypted, never shown again).")

    def data(self) -> ContactData:
        return ContactData(region_code=self.region_code, role=self.role.value, level=self.level,
                           name=self.name, phone=self.phone, house_code=self.house_code,
                           channel=self.channel.value, endpoint=self.endpoint,
                           secret=self.secret)


@strawberry.type(name="SafetyAlertEvent", description="One logged step of an alert.")
class SafetyAlertEventType:
    at: dt.datetime
    kind: str
    kind_label: str
    level: int
    contact_name: str | None
    contact_role: str | None
    actor: str
    detail: JSON


@strawberry.type(name="SafetyNotification", description="A message of the in-app channel.")
class SafetyNotificationType:
    id: strawberry.ID
    alert_id: strawberry.ID
    contact_name: str
    title: str
    body: JSON
    created_at: dt.datetime
    read_at: dt.datetime | None


SafetyContactResult = Annotated[
    SafetyContactType | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("SafetyContactResult")]


def _key(raw: str, kind: str) -> tuple[str, int]:
    found, key = parse_global_id(raw)
    if found != kind:
        raise InvalidInput(_("not a {kind} id", kind=kind))
    return parse_county_key(key)


def _on_alert(model: Any) -> Any:
    return (SafetyAlert.county == model.county) & (SafetyAlert.id == model.alert_id)


_ALERT_HOUSE = (House.county == SafetyAlert.county) & (House.id == SafetyAlert.house_id)


@strawberry.type
class SafetyEscalationQuery:
    @strawberry.field(description="Escalation contacts of the communities in your scope.")
    def safety_contacts(self, info: Info[RequestContext, None], region_code: str | None = None,
                        include_retired: bool = False) -> list[SafetyContactType]:
        ctx = info.context
        ctx.require(Role.PERSON_READER)
        contacts = list_contacts(ctx.session, ctx.scope, region_code=region_code,
                                 active_only=not include_retired,
                                 limit=ctx.settings.max_page_size)
        codes = _house_codes(ctx, contacts)
        return [_contact(c, codes.get((c.county, c.house_id or 0))) for c in contacts]

    @strawberry.field(description="Every logged step of an alert in your scope, in order.")
    def safety_alert_events(self, info: Info[RequestContext, None], id: strawberry.ID
                            ) -> list[SafetyAlertEventType]:
        ctx = info.context
        ctx.require(Role.READER)
        county, alert_id = _key(id, "SafetyAlert")
        rows = ctx.session.execute(
            select(SafetyAlertEvent, SafetyContact.name, SafetyContact.role)
            .join(SafetyAlert, _on_alert(SafetyAlertEvent)).join(House, _ALERT_HOUSE)
            .outerjoin(SafetyContact, (SafetyContact.county == SafetyAlertEvent.county)
                       & (SafetyContact.id == SafetyAlertEvent.contact_id))
            .where(SafetyAlertEvent.county == county, SafetyAlertEvent.alert_id == alert_id,
                   scope_filter(House, ctx.scope))
            .order_by(SafetyAlertEvent.at, SafetyAlertEvent.id)).all()
        return [SafetyAlertEventType(
            at=e.at, kind=e.kind, kind_label=ZH_NAMES[AlertEventKind][e.kind][0], level=e.level,
            contact_name=name, contact_role=role, actor=e.actor,
            detail=cast(JSON, e.detail)) for e, name, role in rows]

    @strawberry.field(description="In-app notifications about alerts in your scope, newest "
                                  "first.")
    def safety_notifications(self, info: Info[RequestContext, None],
                             first: int | None = None) -> list[SafetyNotificationType]:
        ctx = info.context
        ctx.require(Role.PERSON_READER)
        rows = ctx.session.execute(
            select(SafetyNotification, SafetyContact.name)
            .join(SafetyAlert, _on_alert(SafetyNotification)).join(House, _ALERT_HOUSE)
            .join(SafetyContact, (SafetyContact.county == SafetyNotification.county)
                  & (SafetyContact.id == SafetyNotification.contact_id))
            .where(scope_filter(House, ctx.scope), contact_scope(ctx.scope))
            .order_by(SafetyNotification.created_at.desc(), SafetyNotification.id.desc())
            .limit(page_size(first, ctx.settings))).all()
        return [SafetyNotificationType(
            id=global_id("SafetyNotification", county_key(n.county, n.id)),
            alert_id=global_id("SafetyAlert", county_key(n.county, n.alert_id)),
            contact_name=name, title=n.title, body=cast(JSON, n.body),
            created_at=n.created_at, read_at=n.read_at) for n, name in rows]


def _saved(ctx: RequestContext, contact: SafetyContact) -> SafetyContactType:
    return _contact(contact, _house_codes(ctx, [contact]).get(
        (contact.county, contact.house_id or 0)))


@strawberry.type
class SafetyEscalationMutation:
    @strawberry.mutation(description="Add an escalation contact (needs person_reader).")
    def add_safety_contact(self, info: Info[RequestContext, None], input: SafetyContactInput
                           ) -> SafetyContactResult:
        ctx = info.context

        def run() -> SafetyContactType:
            ctx.require(Role.PERSON_READER)
            return _saved(ctx, add_contact(ctx.session, input.data(), vault=ctx.vault,
                                           scope=ctx.scope, actor=ctx.actor,
                                           box=SecretBox.from_settings(ctx.settings)))
        return run_mutation(ctx.session, run)

    @strawberry.mutation(description="Change a contact; a null phone keeps the stored one.")
    def update_safety_contact(self, info: Info[RequestContext, None], id: strawberry.ID,
                              input: SafetyContactInput) -> SafetyContactResult:
        ctx = info.context

        def run() -> SafetyContactType:
            ctx.require(Role.PERSON_READER)
            county, row_id = _key(id, "SafetyContact")
            return _saved(ctx, update_contact(ctx.session, county, row_id, input.data(),
                                              vault=ctx.vault, scope=ctx.scope,
                                              actor=ctx.actor,
                                              box=SecretBox.from_settings(ctx.settings)))
        return run_mutation(ctx.session, run)

    @strawberry.mutation(description="Stop calling a contact (past events keep its name).")
    def retire_safety_contact(self, info: Info[RequestContext, None], id: strawberry.ID
                              ) -> SafetyContactResult:
        ctx = info.context

        def run() -> SafetyContactType:
            ctx.require(Role.PERSON_READER)
            county, row_id = _key(id, "SafetyContact")
            return _saved(ctx, retire_contact(ctx.session, county, row_id, scope=ctx.scope,
                                              actor=ctx.actor))
        return run_mutation(ctx.session, run)
