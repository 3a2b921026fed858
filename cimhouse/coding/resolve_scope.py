"""Resolve a scope code given by an operator: it must name a current region or an estate.

:func:`cimhouse.scope.parse_scope` only checks the form of a code; a well-formed code of a
region that does not exist (``99``, ``330499``) would make a job that "succeeds" on nothing,
a token that sees nothing, an empty report or an import that rejects every feature. Every
command that takes a scope or region (``codes assign``, ``jobs`` queued through the worker,
``tokens create``, ``report services``, ``import boundaries --within``) calls this first,
before any work, so such a code is one clear error.

Example::

    resolve_scope(session, "330402")          # Scope(code='330402', level=3)
    resolve_scope(session, "330499")          # NotFound: no region with code 330499 ...
    resolve_scope(session, "3304020070240010000000001")   # the estate, if it exists
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, NotFound
from cimhouse.i18n import _
from cimhouse.schema import Estate, Region
from cimhouse.scope import Scope, parse_scope, with_county_keys

LEVEL_NAMES = {1: "province", 2: "city", 3: "county", 4: "street/town", 5: "community/village"}


def resolve_scope(session: Session, raw: str) -> Scope:
    """``raw`` parsed; NotFound when no such region or estate, Conflict when the region closed.

    Raises InvalidInput (from ``parse_scope``) when the code is malformed.
    """
    scope = parse_scope(raw)
    if scope.is_estate:
        if session.scalar(select(Estate.id).where(Estate.code == scope.code)) is None:
            raise NotFound(_("no estate with code {code}", code=scope.code))
        return with_county_keys(session, scope)
    region = session.execute(select(Region.name, Region.valid_to).where(
        Region.code == scope.code)).first()
    if region is None:
        raise NotFound(_("no {level_names} with code {code} (the regions are those loaded by "
                         "`cimhouse regions load`)", level_names=LEVEL_NAMES[scope.level],
                         code=scope.code))
    if region.valid_to is not None:
        raise Conflict(_("region {code} ({region}) was closed on {valid_to}; use the code that "
                         "replaced it", code=scope.code, region=region.name,
                         valid_to=region.valid_to.isoformat()))
    return with_county_keys(session, scope)  # county-scoped work routes to its shards


__all__ = ["resolve_scope"]
