"""Home safety (issue 19): devices and alerts in the caller's scope; acknowledge / resolve.

Scope is in SQL: every query joins ``house`` and filters it with
:func:`cimhouse.scope.scope_filter`, so another community's devices and alerts do not
exist for the caller (not even counted). The person of an alert is masked (``王*``) and
shown only to ``person_reader``; acknowledging or resolving needs ``person_reader`` too
(community staff who look after the person). These fields take the counted fallback of
the compiled path (resolvers), see docs/safety.md.

Example::

    { safetyAlerts(state: OPEN) { id kind severity state houseCode personName occurrences } }
    mutation { acknowledgeSafetyAlert(id: "...") { ... on SafetyAlert { state } } }
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

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
from cimhouse.safety.change_alert import change_alert
from cimhouse.schema import Device, House, Person, SafetyAlert
from cimhouse.schema.vocab import DEVICE_KIND_LABELS, AlertKind, AlertState, DeviceKind, Role
from cimhouse.scope import scope_filter
from cimhouse.services.elderly import mask_name

# the vocabulary enums themselves, under their GraphQL names (declared once, in schema.vocab)
strawberry.enum(DeviceKind, name="DeviceKind", description="Kind of home-safety device.")
strawberry.enum(AlertKind, name="AlertKind", description="What a safety alert is about.")
strawberry.enum(AlertState, name="AlertState", description="open -> acknowledged -> resolved.")

_ON_HOUSE = {Device: (House.county == Device.county) & (House.id == Device.house_id),
             SafetyAlert: (House.county == SafetyAlert.county)
             & (House.id == SafetyAlert.house_id)}


@strawberry.type(name="Device", description="A home-safety device at a house.")
class DeviceType:
    id: strawberry.ID
    uid: str
    kind: str
    kind_label: str = strawberry.field(description="设备类型 in Chinese.")
    status: str
    battery_pct: int | None
    heartbeat_s: int
    last_seen_at: dt.datetime | None
    house_code: str | None


@strawberry.type(name="SafetyAlert", description="An alert raised by a home-safety rule.")
class SafetyAlertType:
    id: strawberry.ID
    kind: str
    severity: str
    state: str
    house_code: str | None
    address: str | None
    person_name: str | None = strawberry.field(
        description="Masked (王*); null without the person_reader role.")
    opened_at: dt.datetime
    last_evidence_at: dt.datetime
    occurrences: int
    evidence: JSON
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    escalation_level: int = strawberry.field(
        description="The escalation step reached (0: nobody told yet).")
    ack_due_at: dt.datetime | None = strawberry.field(
        description="When the contacts told last must have acknowledged; null when "
                    "acknowledged, resolved, or nobody is left to call.")


def alert_type(row: Any, show_person: bool) -> SafetyAlertType:
    alert: SafetyAlert = row.SafetyAlert
    return SafetyAlertType(
        id=global_id("SafetyAlert", county_key(alert.county, alert.id)), kind=alert.kind,
        severity=alert.severity, state=alert.state, house_code=row.code,
        address=row.address_norm,
        person_name=mask_name(row.name) if show_person and row.name else None,
        opened_at=alert.opened_at, last_evidence_at=alert.last_evidence_at,
        occurrences=alert.occurrences, evidence=cast(JSON, alert.evidence),
        acknowledged_at=alert.acknowledged_at, resolved_at=alert.resolved_at,
        escalation_level=alert.escalation_level, ack_due_at=alert.ack_due_at)


def alert_query() -> Any:
    return (select(SafetyAlert, House.code, House.address_norm, Person.name)
            .join(House, _ON_HOUSE[SafetyAlert])
            .outerjoin(Person, Person.id == SafetyAlert.person_id))


SafetyAlertResult = Annotated[
    SafetyAlertType | InvalidInputError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("SafetyAlertResult")]


@strawberry.type
class SafetyQuery:
    @strawberry.field(description="Devices in your scope, newest first.")
    def devices(self, info: Info[RequestContext, None], kind: DeviceKind | None = None,
                status: str | None = None, house_code: str | None = None,
                first: int | None = None) -> list[DeviceType]:
        ctx = info.context
        ctx.require(Role.READER)
        query = (select(Device, House.code).join(House, _ON_HOUSE[Device])
                 .where(scope_filter(House, ctx.scope)))
        if kind is not None:
            query = query.where(Device.kind == kind.value)
        if status is not None:
            query = query.where(Device.status == status)
        if house_code is not None:
            query = query.where(House.code == house_code.strip().upper())
        rows = ctx.session.execute(query.order_by(Device.county, Device.id.desc())
                                   .limit(page_size(first, ctx.settings))).all()
        return [DeviceType(
            id=global_id("Device", county_key(r.Device.county, r.Device.id)), uid=r.Device.uid,
            kind=r.Device.kind, kind_label=DEVICE_KIND_LABELS[r.Device.kind],
            status=r.Device.status, battery_pct=r.Device.battery_pct,
            heartbeat_s=r.Device.heartbeat_s, last_seen_at=r.Device.last_seen_at,
            house_code=r.code) for r in rows]

    @strawberry.field(description="Alerts in your scope, the latest evidence first.")
    def safety_alerts(self, info: Info[RequestContext, None], state: AlertState | None = None,
                      kind: AlertKind | None = None, house_code: str | None = None,
                      first: int | None = None) -> list[SafetyAlertType]:
        ctx = info.context
        ctx.require(Role.READER)
        query = alert_query().where(scope_filter(House, ctx.scope))
        if state is not None:
            query = query.where(SafetyAlert.state == state.value)
        if kind is not None:
            query = query.where(SafetyAlert.kind == kind.value)
        if house_code is not None:
            query = query.where(House.code == house_code.strip().upper())
        rows = ctx.session.execute(
            query.order_by(SafetyAlert.last_evidence_at.desc(), SafetyAlert.id.desc())
            .limit(page_size(first, ctx.settings))).all()
        show = ctx.principal.has(Role.PERSON_READER)
        return [alert_type(r, show) for r in rows]


def _change(ctx: RequestContext, alert_id: str, verb: str, note: str | None
            ) -> SafetyAlertType:
    ctx.require(Role.PERSON_READER)
    kind, key = parse_global_id(alert_id)
    if kind != "SafetyAlert":
        raise InvalidInput(_("not a SafetyAlert id"))
    county, row_id = parse_county_key(key)
    change_alert(ctx.session, county, row_id, verb, scope=ctx.scope,
                 actor=ctx.principal.actor, note=note)
    row = ctx.session.execute(alert_query().where(
        SafetyAlert.county == county, SafetyAlert.id == row_id)).one()
    return alert_type(row, True)


@strawberry.type
class SafetyMutation:
    @strawberry.mutation(description="open/escalated -> acknowledged (needs person_reader).")
    def acknowledge_safety_alert(self, info: Info[RequestContext, None], id: strawberry.ID,
                                 note: str | None = None) -> SafetyAlertResult:
        return run_mutation(info.context.session,
                            lambda: _change(info.context, id, "acknowledge", note))

    @strawberry.mutation(description="-> resolved (needs person_reader).")
    def resolve_safety_alert(self, info: Info[RequestContext, None], id: strawberry.ID,
                             note: str | None = None) -> SafetyAlertResult:
        return run_mutation(info.context.session,
                            lambda: _change(info.context, id, "resolve", note))
