"""Which future-community projects a scope sees, and which of their parts.

A project is visible to a principal whose scope contains one of its communities (region
scopes), or, for an estate scope, one of its estates. Of a visible project only the
communities and estates inside the scope are listed: a project spanning two counties shows a
county-scoped caller its own half, never the other county's names or counts.

Example::

    select(FutureProject).where(project_visible(parse_scope("330402")))
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true

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


def region_in_scope(scope: Scope | None) -> ColumnElement[bool]:
    """The covered communities (``future_project_region`` rows) a scope may see listed."""
    if scope is None:
        return true()
    if scope.is_estate:
        return FutureProjectRegion.region_code == scope.code[:12]
    return prefix_range(FutureProjectRegion.region_code, scope.code)
