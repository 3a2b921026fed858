"""Change-feed webhooks: add (the secret is returned once), list, remove.

A webhook pushes the changes of one scope (a region or estate code) and a set of kinds to a
URL, in feed order, through signed deliveries (:mod:`cimhouse.delivery`); its cursor starts at
the current end of the feed (or ``since``) and advances only after a batch was delivered
(:mod:`cimhouse.feed.deliver_webhooks`). Adding one needs no API token: it is an operator's
command, like ``cimhouse changes``; persons and households only with ``with_persons``.

Example::

    >>> hook, secret = add_webhook(session, settings, url="https://gis.example/in",
    ...                            scope="330402", kinds=["house", "code"], actor="ops")
    >>> secret[:6]                      # shown to the operator once, stored encrypted
    'whsec_'
    >>> [w["status"] for w in list_webhooks(session)]
    ['idle']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.coding.jobs import cancel_job
from cimhouse.coding.resolve_scope import resolve_scope
from cimhouse.delivery.enqueue_delivery import MAX_ATTEMPTS, check_url, shown_url
from cimhouse.delivery.sign import SecretBox, new_secret
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.feed.read_changes import KINDS, MAX_PAGE, PERSON_KINDS
from cimhouse.feed.stamp_changes import feed_mark
from cimhouse.i18n import _
from cimhouse.schema import AuditLog, Job, Webhook
from cimhouse.schema.vocab import RunStatus
from cimhouse.settings import Settings


def _kinds(kinds: Sequence[str] | None, with_persons: bool) -> list[str]:
    wanted = list(dict.fromkeys(kinds or KINDS))
    unknown = sorted(set(wanted) - set(KINDS))
    if unknown:
        raise InvalidInput(_("unknown change kinds {unknown}; known: {known}",
                             unknown=", ".join(map(str, unknown)), known=", ".join(KINDS)))
    if not with_persons:
        asked = sorted(set(kinds or ()) & PERSON_KINDS)
        if asked:
            raise InvalidInput(_("kinds {asked} carry personal data: add --with-persons",
                                 asked=", ".join(asked)))
        wanted = [k for k in wanted if k not in PERSON_KINDS]
    return wanted


def add_webhook(session: Session, settings: Settings, *, url: str, scope: str,
                kinds: Sequence[str] | None, actor: str, with_persons: bool = False,
                since: int | None = None, batch_size: int = 100,
                max_attempts: int = MAX_ATTEMPTS, base_delay_s: float = 10.0
                ) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (the only time the secret is returned)."""
    check_url(url)
    parsed = resolve_scope(session, scope)  # InvalidInput / NotFound for a wrong code
    if not 1 <= batch_size <= MAX_PAGE:
        raise InvalidInput(_("batch size must be 1..{most}", most=MAX_PAGE))
    secret = new_secret()
    hook = Webhook(url=url, scope_code=parsed.code, kinds=_kinds(kinds, with_persons),
                   with_persons=with_persons,
                   secret_enc=SecretBox.from_settings(settings).seal(secret),
                   cursor=feed_mark(session) if since is None else since,
                   batch_size=batch_size, max_attempts=max_attempts,
                   base_delay_s=base_delay_s, created_by=actor)
    session.add(hook)
    session.flush()
    session.add(AuditLog(actor=actor, action="add_webhook", object_kind="webhook",
                         object_ref=str(hook.id),
                         detail={"target": shown_url(url), "scope": parsed.code,
                                 "kinds": hook.kinds, "with_persons": with_persons}))
    session.flush()
    return hook, secret


def list_webhooks(session: Session) -> list[dict[str, Any]]:
    """Every webhook with its state: idle, delivering (a batch in flight) or dead_letter."""
    hooks = session.scalars(select(Webhook).order_by(Webhook.id)).all()
    pending = [h.pending_job_id for h in hooks if h.pending_job_id is not None]
    states = {r[0]: r[1] for r in session.execute(
        select(Job.id, Job.status).where(Job.id.in_(pending)))} if pending else {}
    out = []
    for hook in hooks:
        row = hook.describe()
        row["url"] = shown_url(hook.url)
        job_status = states.get(hook.pending_job_id) if hook.pending_job_id else None
        row["status"] = ("dead_letter" if job_status == RunStatus.DEAD_LETTER.value
                         else "delivering" if job_status in (RunStatus.QUEUED.value,
                                                             RunStatus.RUNNING.value)
                         else "idle")
        out.append(row)
    return out


def remove_webhook(session: Session, webhook_id: int, actor: str) -> None:
    """Delete a webhook; a batch still queued for it is cancelled (one in flight may land)."""
    hook = session.get(Webhook, webhook_id, with_for_update=True)
    if hook is None:
        raise NotFound(_("webhook {webhook_id} not found", webhook_id=webhook_id))
    if hook.pending_job_id is not None:
        job = session.get(Job, hook.pending_job_id)
        if job is not None and job.status == RunStatus.QUEUED.value:
            cancel_job(session, job.id, actor)
    session.delete(hook)
    session.add(AuditLog(actor=actor, action="remove_webhook", object_kind="webhook",
                         object_ref=str(webhook_id), detail={"target": shown_url(hook.url)}))
    session.flush()
