"""Per-request context of every resolver: ``info.context`` is a :class:`RequestContext`.

Fields (one request = one session = one transaction, committed by the HTTP edge):

``session``    the SQLAlchemy :class:`~sqlalchemy.orm.Session` of this request; resolvers may
               flush, never commit (the app commits after a successful request).
``settings``   the :class:`~cimhouse.settings.Settings` (``max_page_size``, ``metric_srid``...).
``deadline``   ``time.monotonic()`` by which all the request's SQL must have finished
               (``settings.statement_timeout_ms`` after the context was made).
``principal``  the authenticated :class:`~cimhouse.auth.principal.Principal` (``name``,
               ``scope``, ``roles``); every request to ``/graphql`` carries one.

Helpers (use them instead of re-implementing the checks):

``ctx.scope``               the principal's :class:`~cimhouse.scope.Scope`; put
                            ``scope_filter(Model, ctx.scope)`` in EVERY query's WHERE clause.
``ctx.require(Role.X)``     raises ``PermissionDenied`` unless the principal holds the role
                            (roles imply weaker ones: admin > pii_reader > person_reader >
                            reader; coder and importer imply reader).
``ctx.can(Role.X)``         the same check as a bool.
``ctx.loaders``             the per-request DataLoaders (:mod:`cimhouse.graphql.loaders`).
``ctx.vault``               the :class:`~cimhouse.pii.PiiVault` (decrypt only via
                            :func:`cimhouse.graphql.people` paths that audit the read).
``ctx.audit(action, ...)``  appends an ``audit_log`` row (never put personal data in it).
``ctx.actor``               ``"api:<principal name>"`` for change_log / job rows.

Example (a resolver in another module)::

    def resolve_things(info: Info[RequestContext, None]) -> list[Thing]:
        ctx = info.context
        ctx.require(Role.READER)
        rows = ctx.session.scalars(select(Estate).where(scope_filter(Estate, ctx.scope)))
        ...
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session
from strawberry.fastapi import BaseContext

from cimhouse.auth.principal import Principal
from cimhouse.errors import NotFound
from cimhouse.graphql.loaders import Loaders
from cimhouse.i18n import _
from cimhouse.pii import PiiVault
from cimhouse.schema import AuditLog
from cimhouse.schema.vocab import Role
from cimhouse.scope import Scope, parse_scope
from cimhouse.settings import Settings

SCOPE_NOT_FOUND = "scope {code} not found (unknown, or outside your scope)"

@dataclass
class RequestContext(BaseContext):
    session: Session
    settings: Settings
    principal: Principal
    extra: dict[str, Any] = field(default_factory=dict)
    deadline: float = 0.0

    def __post_init__(self) -> None:
        super().__init__()
        if not self.deadline:
            self.deadline = time.monotonic() + self.settings.statement_timeout_ms / 1000

    def remaining_ms(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)

    @property
    def scope(self) -> Scope:
        return self.principal.scope

    @property
    def actor(self) -> str:
        return self.principal.actor

    def narrow_scope(self, raw: str) -> Scope:
        """The scope ``raw`` names when it lies inside the principal's; else ``NotFound``,
        worded alike for a scope outside and one that does not exist (the one scope check
        of the GraphQL arguments)."""
        wanted = parse_scope(raw)
        if not self.scope.covers_scope(wanted):
            raise NotFound(_("scope {code} not found (unknown, or outside your scope)",
                         code=wanted.code))
        return wanted

    def can(self, role: Role) -> bool:
        return self.principal.has(role)

    def require(self, role: Role) -> None:
        self.principal.require(role)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.session, self.scope)

    @cached_property
    def vault(self) -> PiiVault:
        return PiiVault.from_settings(self.settings)

    def audit(self, action: str, object_kind: str | None = None, object_ref: str | None = None,
              detail: dict[str, Any] | None = None) -> None:
        """Record who did what to which object (no personal data in ``detail``)."""
        self.session.add(AuditLog(actor=self.actor, action=action, object_kind=object_kind,
                                  object_ref=object_ref, detail=detail))
