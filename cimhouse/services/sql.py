"""SQL building blocks shared by coverage, gaps, the index and the elderly list.

Everything is set-based: one statement per question, scoped by the predicates of
:func:`cimhouse.scope.scope_filter` (compiled with literal codes, which
:func:`cimhouse.scope.parse_scope` has already reduced to digits).

- ``estate_points_sql``: scoped estates in use and one point each (a point on the boundary
  polygon, else the centroid of the buildings' footprints); estates without either are
  "unlocated" and reported, never silently dropped.
- ``homes_sql``: every person counted once, at one house: the current ``resident`` relation,
  else the current ``registered`` one (lowest house id on ties).
- ``estate_population_sql``: people per estate and age group.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql

from cimhouse.schema import Estate, House
from cimhouse.scope import Scope, scope_filter
from cimhouse.services.policy import AGE_GROUPS, RESIDENT_RELATIONS, AgeGroup

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
LIVE_STATUSES = ("in_use", "under_construction")
# Degrees per metre, deliberately generous (1 deg of latitude >= 110,574 m; of longitude
# >= 111,000 m * cos(lat) on the CGCS2000 ellipsoid; plus the GK scale error): a box of
# radius r * these factors always contains the metric circle of radius r.
DEG_PER_M_LAT = 1.02 / 110_574.0
DEG_PER_M_LON = 1.02 / 111_000.0


def literal_sql(clause: ColumnElement[Any]) -> str:
    """A SQLAlchemy clause as PostgreSQL text with its (trusted, validated) literals inlined."""
    return str(clause.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def scope_sql(model: Any, scope: Scope | None) -> str:
    """The scope predicate for ``model`` as SQL text on the bare table name."""
    return literal_sql(scope_filter(model, scope))


def expand_box_sql(point: str, metres: str) -> str:
    """A bounding box around ``point`` (EPSG:4490) holding every point within ``metres``."""
    return (f"ST_Expand({point}, ({metres}) * {DEG_PER_M_LON} / cos(radians(ST_Y({point}))), "
            f"({metres}) * {DEG_PER_M_LAT})")


def estate_points_sql(scope: Scope | None) -> str:
    """CTE body: county, id, code, name, region_code, pt (4490) and pm (metric) per estate."""
    return f"""
        SELECT e.county, e.id, e.code, e.name, e.region_code, p.pt,
               ST_Transform(p.pt, CAST(:metric_srid AS integer)) AS pm
        FROM estate e
        CROSS JOIN LATERAL (
            SELECT COALESCE(ST_PointOnSurface(e.boundary), (
                SELECT ST_Centroid(ST_Collect(b.footprint)) FROM building b
                WHERE b.county = e.county AND b.estate_id = e.id
                  AND b.footprint IS NOT NULL)) AS pt) p
        WHERE ({scope_sql(Estate, scope).replace('estate.', 'e.')})
          AND e.status IN {LIVE_STATUSES!r}
    """


def homes_sql(scope: Scope | None) -> str:
    """CTE body: person_id, county, house_id - each person once, at their current home.

    Only persons with a current relation to a house in ``scope`` are considered, but their
    home is chosen among all their relations (someone registered here but living elsewhere
    counts where they live).
    """
    relations = tuple(RESIDENT_RELATIONS)
    current = (f"ph.relation IN {relations!r} "
               "AND (ph.valid_from IS NULL OR ph.valid_from <= :as_of) "
               "AND (ph.valid_to IS NULL OR ph.valid_to > :as_of)")
    in_scope = ""
    if scope is not None:
        in_scope = f"""AND ph.person_id IN (
            SELECT ph2.person_id FROM person_house ph2 JOIN house ON house.county = ph2.county
              AND house.id = ph2.house_id
            WHERE {current.replace('ph.', 'ph2.')} AND ({scope_sql(House, scope)}))"""
    return f"""
        SELECT DISTINCT ON (ph.person_id) ph.person_id, ph.county, ph.house_id
        FROM person_house ph
        WHERE {current} {in_scope}
        ORDER BY ph.person_id, (ph.relation = 'resident') DESC, ph.house_id
    """


def age_condition(group: AgeGroup, birth: str = "p.birth_date") -> str:
    """SQL true when the person at ``birth`` belongs to ``group`` on ``:as_of``."""
    if group.min_age is None and group.max_age is None:
        return "true"
    parts = [f"{birth} IS NOT NULL", f"{birth} <= :as_of"]
    if group.min_age:
        parts.append(f"{birth} <= CAST(:as_of AS date) - make_interval(years => {group.min_age})")
    if group.max_age is not None:
        parts.append(f"{birth} > CAST(:as_of AS date) "
                     f"- make_interval(years => {group.max_age + 1})")
    return " AND ".join(parts)


def estate_population_sql(scope: Scope | None) -> str:
    """CTE body: county, estate_id and one count column per age group (``AGE_GROUPS``)."""
    counts = ",\n".join(
        f"count(*) FILTER (WHERE {age_condition(g)}) AS {g.key}" for g in AGE_GROUPS)
    return f"""
        SELECT b.county, b.estate_id, {counts}
        FROM ({homes_sql(scope)}) home
        JOIN person p ON p.id = home.person_id
        JOIN house h ON h.county = home.county AND h.id = home.house_id
        JOIN building b ON b.county = h.county AND b.id = h.building_id
        WHERE b.estate_id IS NOT NULL
        GROUP BY b.county, b.estate_id
    """


def base_params(metric_srid: int, as_of: dt.date | None) -> dict[str, Any]:
    return {"metric_srid": metric_srid, "as_of": as_of or dt.date.today()}
