"""Which future-community projects a scope sees, and which of their parts.

A project is visible to a principal whose scope contains one of its communities (region
scopes), or, for an estate scope, one of its estates. Of a visible project only the
communities and estates inside the scope are listed: a project spanning two counties shows a
county-scoped caller its own half, never the other county's names or counts; its boundary is
shown only when every community it covers lies inside the scope.

Example::

    select(FutureProject).where(project_visible(parse_scope("330402")))
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, not_, select, true
from sqlalchemy.orm import Session

from cimhouse.errors import NotFound
from cimhouse.i18n import _
from cimhouse.schema import Estate, FutureProject, FutureProjectEstate, FutureProjectRegion
from cimhouse.scope import Scope, prefix_range


def project_visible(scope: Scope | None) -> ColumnElement[bool]:
    """WHERE clause on :class:`FutureProject` rows visible in ``scope`` (an uncorrelated
    ``IN``: Citus runs it between the reference tables and the distributed estates)."""
    if scope is None:
        return true()
    if scope.is_estate:
        inner = (select(FutureProjectEstate.project_id)
                 .join(Estate, (Estate.county == FutureProjectEstate.county)
                       & (Estate.id == FutureProjectEstate.estate_id))
                 .where(Estate.code == scope.code))
        if scope.county_keys:
            inner = inner.where(FutureProjectEstate.county.in_(scope.county_keys))
        return FutureProject.id.in_(inner)
    return FutureProject.id.in_(select(FutureProjectRegion.project_id).where(
        prefix_range(FutureProjectRegion.region_code, scope.code)))


def boundary_visible(scope: Scope | None) -> ColumnElement[bool]:
    """WHERE clause on :class:`FutureProject` rows whose boundary ``scope`` may see: those
    covering no community outside it (a boundary drawn across the scope's edge would show
    the other side). An estate scope sees none (a boundary spans more than one estate)."""
    if scope is None:
        return true()
    if scope.is_estate:
        return false()
    return FutureProject.id.not_in(select(FutureProjectRegion.project_id).where(
        not_(prefix_range(FutureProjectRegion.region_code, scope.code))))


def region_in_scope(scope: Scope | None) -> ColumnElement[bool]:
    """The covered communities (``future_project_region`` rows) a scope may see listed."""
    if scope is None:
        return true()
    if scope.is_estate:
        return FutureProjectRegion.region_code == scope.code[:12]
    return prefix_range(FutureProjectRegion.region_code, scope.code)


def project_for_update(session: Session, project_id: int, scope: Scope | None) -> FutureProject:
    """The project, locked, for a change by a caller of ``scope``: it must be visible and every
    community it covers inside the scope (else ``NotFound``, worded alike for both)."""
    project = session.scalar(select(FutureProject).where(
        FutureProject.id == project_id, project_visible(scope)).with_for_update())
    if project is None:
        raise NotFound(_("project not found"))
    if scope is not None:
        covered = session.scalars(select(FutureProjectRegion.region_code).where(
            FutureProjectRegion.project_id == project.id)).all()
        if not all(scope.covers_region(c) for c in covered):
            raise NotFound(_("project not found"))
    return project
