"""Deliver one escalation message to one contact through its channel (run by the job queue).

A channel is anything with a ``name`` and ``send(session, notice)``
(:class:`Channel`); :data:`CHANNELS` maps ``safety_contact.channel`` to it. Built in:

- ``in_app`` (:class:`InAppChannel`): writes the message into ``safety_notification``,
  the contact's inbox, which GraphQL shows (``safetyNotifications``);
- ``webhook`` (:class:`cimhouse.safety.webhook_channel.WebhookChannel`, installed by the
  worker with the settings it needs): a signed POST through :mod:`cimhouse.delivery`.

:func:`deliver_notice` is idempotent: a delivery already delivered or failed is left alone,
so a job that runs twice (a worker killed after the commit) tells nobody twice. A channel
that raises marks the delivery ``failed`` with the reason, and logs ``delivery_failed``;
success logs ``delivered``. The message holds the alert, the house code and address, never
the person's name or a phone number.

Example::

    with session_scope(engine) as session:
        deliver_notice(session, "330402", 17, now=clock.now())   # 'delivered'
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cimhouse.safety.escalate import log_event
from cimhouse.schema import House
from cimhouse.schema.safety import SafetyAlert, SafetyContact, SafetyDelivery, SafetyNotification
from cimhouse.schema.vocab import (
    ZH_NAMES,
    AlertEventKind,
    AlertKind,
    ContactRole,
    DeliveryStatus,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """What a contact is told (no personal data: house code and address only)."""

    county: str
    delivery_id: int
    alert_id: int
    contact_id: int
    contact_role: str
    level: int
    endpoint: str | None
    title: str
    body: dict[str, Any]


class Channel(Protocol):
    name: str

    def send(self, session: Session, notice: Notice) -> str:
        """Deliver (``delivered``), or hand over to a job that reports back later (``sent``);
        raise on failure (the delivery is then marked failed with the reason)."""
        ...


class InAppChannel:
    """The contact's inbox in the database, read through GraphQL."""

    name = "in_app"

    def send(self, session: Session, notice: Notice) -> str:
        session.execute(insert(SafetyNotification).values(
            county=notice.county, delivery_id=notice.delivery_id, alert_id=notice.alert_id,
            contact_id=notice.contact_id, title=notice.title, body=notice.body
        ).on_conflict_do_nothing(index_elements=["county", "delivery_id"]))
        return DeliveryStatus.DELIVERED.value


CHANNELS: dict[str, Channel] = {"in_app": InAppChannel()}


def register_channel(channel: Channel) -> None:
    """Plug a channel in (an SMS provider later): contacts name it in ``channel``."""
    CHANNELS[channel.name] = channel


def _notice(delivery: SafetyDelivery, alert: SafetyAlert, contact: SafetyContact,
            code: str | None, address: str | None) -> Notice:
    kind_zh = ZH_NAMES[AlertKind][alert.kind][0]
    role_zh = ZH_NAMES[ContactRole][contact.role][0]
    title = f"{kind_zh} / {alert.kind} alert: {address or code}"
    return Notice(
        county=delivery.county, delivery_id=delivery.id, alert_id=alert.id,
        contact_id=contact.id, contact_role=contact.role, level=delivery.level,
        endpoint=contact.endpoint, title=title,
        body={"alert": f"{alert.county}:{alert.id}", "kind": alert.kind,
              "kind_zh": kind_zh, "severity": alert.severity, "state": alert.state,
              "house_code": code, "address": address, "level": delivery.level,
              "role": contact.role, "role_zh": role_zh, "opened_at": alert.opened_at.isoformat(),
              "ack_due_at": alert.ack_due_at.isoformat() if alert.ack_due_at else None})


def deliver_notice(session: Session, county: str, delivery_id: int, *, now: dt.datetime,
                   channels: dict[str, Channel] | None = None) -> str:
    """Send the delivery through its channel; returns its status afterwards."""
    delivery = session.scalars(select(SafetyDelivery).where(
        SafetyDelivery.county == county, SafetyDelivery.id == delivery_id
    ).with_for_update()).one_or_none()
    if delivery is None or delivery.status != DeliveryStatus.QUEUED.value:
        return delivery.status if delivery else "missing"
    alert = session.get_one(SafetyAlert, (county, delivery.alert_id))
    contact = session.get_one(SafetyContact, (county, delivery.contact_id))
    code, address = session.execute(select(House.code, House.address_norm).where(
        House.county == county, House.id == alert.house_id)).one()
    channel = (channels or CHANNELS).get(delivery.channel)
    delivery.attempts += 1
    try:
        if channel is None:
            raise LookupError(f"no channel {delivery.channel!r} is installed")
        with session.begin_nested():
            outcome = channel.send(session, _notice(delivery, alert, contact, code, address))
    except Exception as exc:  # any failure of a channel is recorded, never lost
        delivery.status, delivery.error = DeliveryStatus.FAILED.value, str(exc)[:500]
        log.warning("safety delivery %s:%s failed: %s", county, delivery_id, type(exc).__name__)
        log_event(session, alert, AlertEventKind.DELIVERY_FAILED, now, "system:delivery",
                  contact_id=contact.id, detail={"channel": delivery.channel,
                                                 "error": delivery.error})
    else:
        if outcome == DeliveryStatus.SENT.value:  # its job reports back (webhook_channel)
            delivery.status = DeliveryStatus.SENT.value
        else:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, now
            log_event(session, alert, AlertEventKind.DELIVERED, now, "system:delivery",
                      contact_id=contact.id, detail={"channel": delivery.channel})
    delivery.updated_at = now
    session.flush()
    return delivery.status
