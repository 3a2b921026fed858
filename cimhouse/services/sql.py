"""SQL building blocks shared by coverage, gaps, the index and the elderly list.

Everything is set-based: one statement per question, scoped by the predicates of
:func:`cimhouse.scope.scope_filter` (compiled with literal codes, which
:func:`cimhouse.scope.parse_scope` has already reduced to digits).

- ``estate_points_sql``: scoped estates in use and one point each (a point on the boundary
  polygon, else the centroid of the buildings' footprints); estates without either are
  "unlocated" and reported, never silently dropped.
- ``living_sql``: who lives where on a date: current ``resident`` and ``tenant`` relations,
  and, for persons who have neither, where they are registered (户籍): a current
  ``registered`` relation or the house of their current household (户).
- ``estate_population_sql``: people per estate and age group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cimhouse.coding.house_relations import retired_house_sql
from cimhouse.schema import Estate, House
from cimhouse.scope import Scope, scope_filter
from cimhouse.services.policy import AGE_GROUPS, AgeGroup

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
LIVE_STATUSES = ("in_use", "under_construction")
#: relations that mean "lives here"; registered (户籍) counts only without any of these
LIVING_RELATIONS = ("resident", "tenant")
# Degrees per metre, deliberately generous (1 deg of latitude >= 110,574 m; of longitude
# >= 111,000 m * cos(lat) on the CGCS2000 ellipsoid; plus the GK scale error): a box of
# radius r * these factors always contains the metric circle of radius r.
DEG_PER_M_LAT = 1.02 / 110_574.0
DEG_PER_M_LON = 1.02 / 111_000.0


def literal_sql(clause: ColumnElement[Any] | Select[Any]) -> str:
    """A SQLAlchemy clause as PostgreSQL text with its (trusted, validated) literals inlined."""
    return str(clause.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def scope_sql(model: Any, scope: Scope | None) -> str:
    """The scope predicate for ``model`` as SQL text on the bare table name.

    Compiled as the WHERE clause of a SELECT from ``model``'s table, so that the EXISTS
    subqueries of estate scopes (and of storey/space/person_house rows) correlate with that
    table: compiled alone, SQLAlchemy lists the table again in the subquery's own FROM,
    a cross join with the whole table (slow on PostgreSQL, refused by Citus).
    """
    table = model.__table__.name
    statement: Select[Any] = (select(literal_column("1")).select_from(model)
                              .where(scope_filter(model, scope)))
    head, found, where = literal_sql(statement).partition("\nWHERE ")
    if not found or head.split("\nFROM ")[-1].strip() != table:
        raise AssertionError(f"unexpected scope SQL for {table}: {head!r}")
    return where


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
        CROSS JOIN LATERAL (  -- an aggregate: one row, also for an estate without buildings
            SELECT COALESCE(ST_PointOnSurface(e.boundary), ST_Centroid(ST_Collect(b.footprint)))
                   AS pt
            FROM building b  -- a FROM joined on county: Citus pushes it down to the shard
            WHERE b.county = e.county AND b.estate_id = e.id AND b.footprint IS NOT NULL) p
        WHERE ({scope_sql(Estate, scope).replace('estate.', 'e.')})
          AND e.status IN {LIVE_STATUSES!r}
    """


def current_sql(alias: str) -> str:
    """``alias`` (a person_house row) is valid on ``:as_of``."""
    return (f"({alias}.valid_from IS NULL OR {alias}.valid_from <= :as_of) "
            f"AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :as_of)")


def living_sql(scope: Scope | None) -> str:
    """Subquery body: county, house_id, building_id, person_id of everyone living in a house
    of ``scope`` on ``:as_of``.

    A person lives where they have a current ``resident`` (常住) or ``tenant`` (租住)
    relation. Only a person without any current resident/tenant relation (anywhere, in any
    county) lives where they are registered (户籍): at the house of a current ``registered``
    relation or at the house their current household (户, ``household_member`` valid on
    ``:as_of``) is registered at; the two usually name the same house (the register import
    writes both from the 户籍 rows) and count once. 人户分离 (registered at one house, living
    at another) therefore counts where the person lives, never where the household is.
    Two current living relations of one person are a register conflict; such a person
    counts in both houses. Nobody lives in a retired house (demolished, registered in error,
    split or merged; see :mod:`cimhouse.coding.house_relations`), whatever relations it
    still carries from before the lifecycle operations ended them. Written as UNION ALL
    with the house scope inside each branch, so that each branch is a plain join:
    PostgreSQL can hash a whole city's relations, or walk the indexes from a community's few
    houses. The registered persons living elsewhere are looked up by person id from the
    registered ones first (``elsewhere``): relations of one person lie in several counties,
    and Citus cannot correlate them with a row of another shard, while it can ship the (few)
    ids to every shard.
    """
    houses = f"""FROM house h JOIN person_house ph ON ph.county = h.county
                 AND ph.house_id = h.id
            WHERE ({house_scope_sql(scope)}) AND {current_sql('ph')}
              AND NOT {retired_house_sql('h')}"""
    return f"""
        WITH registered AS MATERIALIZED (
            SELECT h.county, h.id AS house_id, h.building_id, ph.person_id {houses}
              AND ph.relation = 'registered'
            UNION  -- a member of a household registered here (once, with the relation)
            SELECT h.county, h.id, h.building_id, m.person_id
            FROM house h JOIN household hh ON hh.county = h.county AND hh.house_id = h.id
            JOIN household_member m ON m.county = hh.county AND m.household_id = hh.id
            WHERE ({house_scope_sql(scope)}) AND {current_sql('m')}
              AND NOT {retired_house_sql('h')}),
        elsewhere AS MATERIALIZED (
            SELECT DISTINCT r.person_id FROM person_house r
            WHERE r.person_id IN (SELECT person_id FROM registered)
              AND r.relation IN {LIVING_RELATIONS!r} AND {current_sql('r')})
        SELECT h.county, h.id AS house_id, h.building_id, ph.person_id {houses}
          AND ph.relation IN {LIVING_RELATIONS!r}
        UNION ALL
        SELECT county, house_id, building_id, person_id FROM registered
        WHERE person_id NOT IN (SELECT person_id FROM elsewhere)
    """


def house_scope_sql(scope: Scope | None, alias: str = "h") -> str:
    """The scope predicate on house rows aliased ``alias``."""
    return scope_sql(House, scope).replace("house.", f"{alias}.")


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
    """Statement: county, estate_id and one count column per age group (``AGE_GROUPS``)."""
    counts = ",\n".join(
        f"count(*) FILTER (WHERE {age_condition(g)}) AS {g.key}" for g in AGE_GROUPS)
    return f"""
        SELECT b.county, b.estate_id, {counts}
        FROM ({living_sql(scope)}) ph
        JOIN building b ON b.county = ph.county AND b.id = ph.building_id
        JOIN person p ON p.id = ph.person_id
        WHERE b.estate_id IS NOT NULL
        GROUP BY b.county, b.estate_id
    """


def tune_for_analysis(session: Session) -> None:
    """Settings for the rest of this transaction that suit one big analytical statement.

    JIT compilation costs more than it saves on these plans (their lateral KNN probes have
    huge estimated costs but run in microseconds), and sorts/hashes of a city's residents
    should stay in memory.
    """
    session.execute(text("SELECT set_config('jit', 'off', true), "
                         "set_config('work_mem', '256MB', true)"))


#: scopes at or above this level (county, city, province, everything) cover so many
#: residents that hash joins always win; below it index lookups usually do
WIDE_SCOPE_LEVEL = 3


@contextmanager
def hash_joins_for_wide_scope(session: Session, scope: Scope | None) -> Iterator[None]:
    """Turn nested loops and sorts off for one statement when ``scope`` is county-wide or more.

    The planner underestimates the ``(county, id)`` joins between person_house, house and
    building by orders of magnitude (the two columns are correlated) and then picks index
    nested loops, which for a city's 2 million residents are several times slower than hash
    joins. Narrow scopes (a street, a community, an estate) keep the planner's choice.
    """
    wide = scope is None or scope.level <= WIDE_SCOPE_LEVEL
    if wide:
        session.execute(text("SELECT set_config('enable_nestloop', 'off', true), "
                             "set_config('enable_sort', 'off', true)"))
    try:
        yield
    finally:
        if wide:
            session.execute(text("SELECT set_config('enable_nestloop', 'on', true), "
                                 "set_config('enable_sort', 'on', true)"))


def base_params(metric_srid: int, as_of: dt.date | None) -> dict[str, Any]:
    return {"metric_srid": metric_srid, "as_of": as_of or dt.date.today()}
