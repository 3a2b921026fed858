"""Issue, list, revoke and check bearer tokens of API principals.

A token is 32 random bytes (``cimh_`` + URL-safe base64), shown once; only its SHA-256 is
stored (the token has full entropy, so a plain hash resists guessing as well as a slow one).

Example::

    issued = create_token(session, name="gis-portal", scope="330402",
                          roles=["reader"], actor="cli:alice")
    print(issued.token)                      # give this to the other system, once
    authenticate(session, issued.token).scope.code   # "330402"
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.auth.principal import Principal, parse_roles
from cimhouse.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from cimhouse.i18n import _
from cimhouse.schema import ApiPrincipal, AuditLog
from cimhouse.scope import Scope, parse_scope, with_county_keys

TOKEN_PREFIX = "cimh_"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    principal_id: int
    name: str
    token: str


@dataclass(frozen=True)
class PrincipalInfo:
    id: int
    name: str
    scope_code: str
    scope_level: int
    roles: list[str]
    created_at: dt.datetime
    created_by: str | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def create_token(session: Session, *, name: str, scope: str, roles: Iterable[str],
                 actor: str) -> IssuedToken:
    """Create a principal and return its token (the only time the token is visible)."""
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise InvalidInput(_("a principal name must be 1-100 characters"))
    parsed: Scope = parse_scope(scope)
    granted = sorted(r.value for r in parse_roles(roles))
    if session.scalar(select(ApiPrincipal.id).where(ApiPrincipal.name == clean)) is not None:
        raise Conflict(_("a principal named {clean!r} already exists", clean=clean))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiPrincipal(name=clean, scope_code=parsed.code, scope_level=parsed.level,
                       roles=granted, token_hash=hash_token(token), created_by=actor)
    session.add(row)
    session.flush()
    session.add(AuditLog(actor=actor, action="token.create", object_kind="api_principal",
                         object_ref=str(row.id),
                         detail={"name": clean, "scope": parsed.code, "roles": granted}))
    return IssuedToken(principal_id=row.id, name=clean, token=token)


def list_principals(session: Session, *, include_revoked: bool = False) -> list[PrincipalInfo]:
    query = select(ApiPrincipal).order_by(ApiPrincipal.id)
    if not include_revoked:
        query = query.where(ApiPrincipal.revoked_at.is_(None))
    return [PrincipalInfo(id=p.id, name=p.name, scope_code=p.scope_code,
                          scope_level=p.scope_level, roles=list(p.roles),
                          created_at=p.created_at, created_by=p.created_by,
                          revoked_at=p.revoked_at, last_used_at=p.last_used_at)
            for p in session.scalars(query)]


def revoke_token(session: Session, name_or_id: str, *, actor: str) -> PrincipalInfo:
    """Revoke a principal by name or numeric id; its token stops working immediately."""
    query = select(ApiPrincipal).where(ApiPrincipal.name == name_or_id)
    if name_or_id.isdigit():
        query = select(ApiPrincipal).where(ApiPrincipal.id == int(name_or_id))
    row = session.scalar(query.with_for_update())
    if row is None:
        raise NotFound(_("no principal {name!r}", name=name_or_id))
    if row.revoked_at is not None:
        raise Conflict(_("principal {name!r} is already revoked", name=row.name))
    row.revoked_at = dt.datetime.now(dt.UTC)
    session.add(AuditLog(actor=actor, action="token.revoke", object_kind="api_principal",
                         object_ref=str(row.id), detail={"name": row.name}))
    session.flush()
    return next(p for p in list_principals(session, include_revoked=True) if p.id == row.id)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise Unauthenticated(_("an Authorization: Bearer <token> header is required"))
    scheme, _sep, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(_("an Authorization: Bearer <token> header is required"))
    return token.strip()


def authenticate(session: Session, token: str) -> Principal:
    """The active principal holding ``token``; one message for every kind of failure."""
    digest = hash_token(token)
    row = session.scalar(select(ApiPrincipal).where(ApiPrincipal.token_hash == digest,
                                                    ApiPrincipal.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise Unauthenticated(_("invalid or revoked token"))
    now = dt.datetime.now(dt.UTC)
    # last_used_at is informative; writing it at most once a minute keeps reads read-only.
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    # County keys resolved once per request: county-scoped reads route to their shards.
    scope = with_county_keys(session, parse_scope(row.scope_code))
    return Principal(id=row.id, name=row.name, scope=scope, roles=parse_roles(row.roles))
