"""Coverage: per estate and category, the nearest facility and whether it is within reach.

Distances are straight-line metres in the Gauss-Kruger zone of the settings (EPSG:4549 by
default), from the estate's point (see :mod:`cimhouse.services.sql`) to the facility's
geometry (a point, or the nearest edge of a polygon). The nearest facility is found with
the PostGIS KNN operator ``<->`` (index-assisted, in degrees), then confirmed exactly in
metres among the facilities inside a box that must contain every closer one. Only
facilities in use count, wherever they lie: a kindergarten across the community border
still serves the estate.

Scope rule: a facility counts for coverage wherever it lies, but only facilities inside the
*visible* scope (the caller's scope; by default the scope asked about) are described. For a
nearest facility outside it the row carries the category and the distance only (no name, no
id, no position), and ``within_radius`` counts only the facilities inside it, so nothing
about a neighbouring county's facilities leaks beyond "one of this category lies this far".

Example::

    rows = compute_coverage(session, parse_scope("330402"), metric_srid=4549)
    [(r.estate_name, r.category, r.distance_m, r.covered) for r in rows][:2]
    # [('梅湾小区', 'childcare', 212.4, True), ('梅湾小区', 'elderly_care', 730.0, False)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.schema import Estate, Facility
from cimhouse.scope import Scope
from cimhouse.services.policy import ServicePolicy
from cimhouse.services.sql import (
    base_params,
    estate_points_sql,
    expand_box_sql,
    scope_sql,
    tune_for_analysis,
)


@dataclass(frozen=True)
class EstateCoverage:
    """One estate x one category. ``distance_m`` is None when no such facility exists."""

    estate_code: str | None
    estate_name: str
    region_code: str
    category: str
    radius_m: float
    nearest_facility: str | None  # None also when it lies outside the visible scope
    distance_m: float | None
    within_radius: int  # facilities of the category within the radius, in the visible scope

    @property
    def covered(self) -> bool:
        return self.distance_m is not None and self.distance_m <= self.radius_m


def categories_sql(policy: ServicePolicy) -> tuple[str, dict[str, object]]:
    """A VALUES list (category, radius) with bound parameters."""
    rows = ", ".join(f"(CAST(:cat{i} AS text), CAST(:rad{i} AS float8))"
                     for i in range(len(policy.categories)))
    params: dict[str, object] = {}
    for i, category in enumerate(policy.categories):
        params[f"cat{i}"] = category
        params[f"rad{i}"] = policy.radius(category)
    return f"(VALUES {rows}) AS c(category, radius)", params


def facility_scope_sql(visible: Scope | None, alias: str = "f") -> str:
    """The scope predicate on facility rows aliased ``alias`` (``true`` for no scope)."""
    return scope_sql(Facility, visible).replace("facility.", f"{alias}.")


def shown_facilities_sql(visible: Scope | None) -> tuple[str, str]:
    """(join, predicate) that mark the facilities inside ``visible``, for a select list.

    An estate scope is a LEFT JOIN to the facility's estate instead of the correlated
    EXISTS of :func:`facility_scope_sql`: Citus cannot plan that subquery in the select
    list of a CTE. The join is on ``county`` (co-located, one shard).
    """
    if visible is None or not visible.is_estate:
        return "", facility_scope_sql(visible)
    join = "LEFT JOIN estate fe ON fe.county = f.county AND fe.id = f.estate_id"
    return join, f"COALESCE({scope_sql(Estate, visible).replace('estate.', 'fe.')}, false)"


def coverage_sql(scope: Scope | None, policy: ServicePolicy, *,
                 visible: Scope | None = None) -> tuple[str, dict[str, object]]:
    """Statement body (no trailing ORDER BY) of estate x category coverage rows.

    Columns: county, estate_id, estate_code, estate_name, region_code, category, radius,
    facility_name, distance_m, within_radius. Estates without a location are left out here
    (see :func:`count_unlocated`). ``facility_name`` is NULL when the nearest facility lies
    outside ``visible`` (default: ``scope``), and ``within_radius`` counts only facilities
    inside ``visible``; ``distance_m`` always considers every facility.
    """
    shown_join, shown = shown_facilities_sql(scope if visible is None else visible)
    values, params = categories_sql(policy)
    live = "f.category = c.category"
    metric_geom = "ST_Transform(f.geom, CAST(:metric_srid AS integer))"
    # Facilities in use as a NOT MATERIALIZED CTE: PostgreSQL inlines it into each lateral
    # probe (the KNN and box searches stay on the GiST index); Citus cannot push a probe
    # with LIMIT down to the shards of another county, so its planner falls back to the
    # CTE as an intermediate result (all facilities in use, a small table) and runs the
    # probes on the coordinator.
    body = f"""
        WITH pts AS MATERIALIZED ({estate_points_sql(scope)}),
        fac AS NOT MATERIALIZED (
            SELECT f.id, f.category, f.geom, f.name, ({shown}) AS shown
            FROM facility f {shown_join}
            WHERE f.status = 'in_use' AND f.geom IS NOT NULL)
        SELECT s.county, s.id AS estate_id, s.code AS estate_code, s.name AS estate_name,
               s.region_code, c.category, c.radius, near.name AS facility_name,
               near.distance_m, COALESCE(inside.n, 0) AS within_radius
        FROM pts s CROSS JOIN {values}
        LEFT JOIN LATERAL (
            SELECT ST_Distance({metric_geom}, s.pm) AS d FROM fac f
            WHERE {live} ORDER BY f.geom <-> s.pt LIMIT 1) knn ON true
        LEFT JOIN LATERAL (
            SELECT CASE WHEN f.shown THEN f.name END AS name,
                   ST_Distance({metric_geom}, s.pm) AS distance_m FROM fac f
            WHERE {live} AND f.geom && {expand_box_sql('s.pt', 'knn.d')}
            ORDER BY 2, f.id LIMIT 1) near ON knn.d IS NOT NULL
        LEFT JOIN LATERAL (
            SELECT count(*) AS n FROM fac f
            WHERE near.distance_m <= c.radius  -- a one-time filter: no probe when uncovered
              AND {live} AND f.shown
              AND f.geom && {expand_box_sql('s.pt', 'c.radius')}
              AND ST_DWithin({metric_geom}, s.pm, c.radius)) inside ON true
        WHERE s.pt IS NOT NULL
    """
    return body, params


def compute_coverage(session: Session, scope: Scope | None, *,
                     policy: ServicePolicy | None = None, metric_srid: int = 4549,
                     as_of: dt.date | None = None,
                     visible: Scope | None = None) -> list[EstateCoverage]:
    """Coverage rows for every located estate in ``scope``, ordered by estate and category.

    Facilities outside ``visible`` (default: ``scope``) count but are not named.
    """
    policy = policy or ServicePolicy.default()
    body, params = coverage_sql(scope, policy, visible=visible)
    params |= base_params(metric_srid, as_of)
    tune_for_analysis(session)
    rows = session.execute(text(body + " ORDER BY s.region_code, s.code, s.id, c.category"),
                           params)
    return [EstateCoverage(
        estate_code=r.estate_code, estate_name=r.estate_name, region_code=r.region_code,
        category=r.category, radius_m=float(r.radius), nearest_facility=r.facility_name,
        distance_m=None if r.distance_m is None else float(r.distance_m),
        within_radius=int(r.within_radius)) for r in rows]


def count_unlocated(session: Session, scope: Scope | None, *, metric_srid: int = 4549) -> int:
    """Estates in scope that have neither a boundary nor building footprints."""
    return int(session.execute(
        text(f"SELECT count(*) FROM ({estate_points_sql(scope)}) s WHERE s.pt IS NULL"),
        {"metric_srid": metric_srid}).scalar_one())
