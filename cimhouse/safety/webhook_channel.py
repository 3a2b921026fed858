"""The webhook channel of the escalation: a signed POST through :mod:`cimhouse.delivery`.

A contact with ``channel = webhook`` has an ``endpoint`` URL and a signing secret (stored
sealed by :class:`cimhouse.delivery.sign.SecretBox`, never shown again). Sending a notice
hands it to the delivery module (:func:`cimhouse.delivery.enqueue_delivery.enqueue_delivery`):
a ``job`` of kind ``delivery`` POSTs the JSON body signed with HMAC-SHA256 over timestamp and
body, at least once, with back-off, ending ``dead_letter`` in ``cimhouse jobs list`` when the
receiver never answers. The safety delivery is then ``sent``; when the POST succeeds, the
delivery module calls :func:`delivered` in its transaction, which marks it ``delivered`` and
logs the ``delivered`` event. The body is the notice (alert, kind, severity, house code and
address, level, deadline): no person's name, no phone.

Example (what :mod:`cimhouse.safety.tasks` installs)::

    deliver_notice(session, county, delivery_id, now=now,
                   channels={**CHANNELS, "webhook": WebhookChannel(settings)})
    # a receiver checks X-Cimhouse-Signature with cimhouse.delivery.sign.verify_signature
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cimhouse.delivery.enqueue_delivery import enqueue_delivery
from cimhouse.delivery.sign import SecretBox
from cimhouse.safety.deliver_notice import Notice
from cimhouse.safety.escalate import log_event
from cimhouse.schema.safety import SafetyAlert, SafetyContact, SafetyDelivery
from cimhouse.schema.vocab import AlertEventKind, DeliveryStatus
from cimhouse.settings import Settings

HOOK = "cimhouse.safety.webhook_channel:delivered"


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, session: Session, notice: Notice) -> str:
        contact = session.get_one(SafetyContact, (notice.county, notice.contact_id))
        if not contact.endpoint or contact.secret_enc is None:
            raise LookupError("the webhook contact has no endpoint or no signing secret")
        secret = SecretBox.from_settings(self.settings).open(contact.secret_enc)
        job = enqueue_delivery(
            session, self.settings, url=contact.endpoint, actor="system:escalation",
            payload={"type": "safety_alert", "title": notice.title, **notice.body},
            secret=secret, scope_code=contact.region_code, on_delivered=HOOK,
            context={"county": notice.county, "delivery_id": notice.delivery_id})
        session.execute(update(SafetyDelivery).where(
            SafetyDelivery.county == notice.county, SafetyDelivery.id == notice.delivery_id
        ).values(job_id=job.id))
        return DeliveryStatus.SENT.value


def delivered(session: Session, _settings: Settings, context: dict[str, Any]) -> None:
    """The delivery module's success hook: the safety delivery is delivered."""
    delivery = session.scalars(select(SafetyDelivery).where(
        SafetyDelivery.county == context["county"], SafetyDelivery.id == context["delivery_id"]
    ).with_for_update()).one_or_none()
    if delivery is None or delivery.status == DeliveryStatus.DELIVERED.value:
        return
    now = dt.datetime.now(dt.UTC)  # the POST's own time: the receiver got it now
    delivery.status, delivery.delivered_at, delivery.updated_at = (
        DeliveryStatus.DELIVERED.value, now, now)
    alert = session.get_one(SafetyAlert, (delivery.county, delivery.alert_id))
    log_event(session, alert, AlertEventKind.DELIVERED, now, "system:delivery",
              contact_id=delivery.contact_id, detail={"channel": "webhook",
                                                      "job": delivery.job_id})
    session.flush()
