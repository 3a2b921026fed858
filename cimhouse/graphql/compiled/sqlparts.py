"""SQL fragments shared by the node compilers: scope predicates, ids, GeoJSON, dates.

Each helper returns SQL text for a row alias; values come in as bound parameters registered
on the :class:`~cimhouse.graphql.compiled.compiler.Compiler`. The scope predicates are the
SQL twins of :func:`cimhouse.scope.scope_filter` (same ranges, same estate joins, every join
between county-keyed tables on ``county`` too, so they stay on one Citus shard).

Example::

    scope_sql(compiler, "house", "t4")
    # "t4.region_code >= %(p0)s::text AND t4.region_code < %(p1)s::text"
"""

from __future__ import annotations

from cimhouse.crs import WGS84_SRID
from cimhouse.graphql.common import GEOJSON_DECIMALS, Crs
from cimhouse.graphql.compiled.compiler import Compiler, NotCompilable
from cimhouse.scope import Scope

#: GraphQL object name -> table (the compiled subset)
REGION_KEYED = ("estate", "building", "house")
#: tables distributed by ``county`` (on Citus) among those with a scope rule
COUNTY_KEYED = (*REGION_KEYED, "person_house")


def _bounds(scope: Scope) -> tuple[str, str | None]:
    prefix = scope.code
    lower = prefix.ljust(12, "0")
    if set(prefix) == {"9"}:
        return lower, None
    return lower, str(int(prefix) + 1).zfill(len(prefix)).ljust(12, "0")


def _region_range(c: Compiler, column: str) -> str:
    """``column`` in the principal's region scope: the ranges of ``prefix_range``."""
    scope = c.env.principal.scope
    if scope.level == 5:
        return f"{column} = {c.principal_param(lambda p: p.scope.code, 'text')}"
    lower = c.principal_param(lambda p: _bounds(p.scope)[0], "text")
    if _bounds(scope)[1] is None:  # the all-9 prefix: part of the principal shape
        return f"{column} >= {lower}"
    upper = c.principal_param(lambda p: _bounds(p.scope)[1], "text")
    return f"{column} >= {lower} AND {column} < {upper}"


def _estate_code(c: Compiler) -> str:
    return c.principal_param(lambda p: p.scope.code, "text")


def scope_sql(c: Compiler, table: str, t: str) -> str:
    """The scope predicate of one row ``t`` of ``table`` (estate/building/house/person_house).

    With the scope's county keys (county and narrower scopes) it starts with
    ``t.county = ANY(keys)``, as ``scope_filter`` does: on Citus every level of a nested
    query then prunes to the scope's shards, so a county's query is one task (nested
    lateral pages included) instead of a multi-shard plan Citus refuses.
    """
    keyed = county_keys_sql(c, t) if table in COUNTY_KEYED else None
    if keyed:
        return f"{keyed} AND {_scope_sql(c, table, t)}"
    return _scope_sql(c, table, t)


def county_keys_sql(c: Compiler, t: str) -> str | None:
    """``t.county = ANY(keys)`` with the scope's county keys; None for a scope without them
    (wider than a county). Also for rows reached through a scoped parent (a house's
    relations): Citus routes a nested query to one shard only when every level names its
    county, a join on the parent's county is not enough."""
    if not c.env.principal.scope.county_keys:
        return None
    keys = c.principal_param(lambda p: list(p.scope.county_keys), "text[]")
    return f"{t}.county = ANY({keys})"


def _scope_sql(c: Compiler, table: str, t: str) -> str:
    scope = c.env.principal.scope
    if scope.is_estate:
        code = _estate_code(c)
        if table == "estate":
            return f"{t}.code = {code}"
        if table == "building":
            return (f"EXISTS (SELECT 1 FROM estate se WHERE se.county = {t}.county "
                    f"AND se.id = {t}.estate_id AND se.code = {code})")
        if table == "house":
            return (f"EXISTS (SELECT 1 FROM building sb JOIN estate se ON se.county = "
                    f"sb.county AND se.id = sb.estate_id WHERE sb.county = {t}.county "
                    f"AND sb.id = {t}.building_id AND se.code = {code})")
        if table == "person_house":
            inner = scope_sql(c, "house", "sh")
            return (f"EXISTS (SELECT 1 FROM house sh WHERE sh.county = {t}.county "
                    f"AND sh.id = {t}.house_id AND {inner})")
        raise NotCompilable(f"no scope rule for {table}")
    if table in REGION_KEYED:
        return _region_range(c, f"{t}.region_code")
    if table == "person_house":
        return (f"EXISTS (SELECT 1 FROM house sh WHERE sh.county = {t}.county "
                f"AND sh.id = {t}.house_id AND {_region_range(c, 'sh.region_code')})")
    if table == "region":
        return f"starts_with({t}.code, {c.principal_param(lambda p: p.scope.code, 'text')})"
    raise NotCompilable(f"no scope rule for {table}")


def region_scope_sql(c: Compiler, t: str) -> str:
    if c.env.principal.scope.is_estate:
        return "false"
    return scope_sql(c, "region", t)


def b64(text_sql: str) -> str:
    """URL-safe base64 without padding, as :func:`cimhouse.graphql.common.global_id`."""
    return (f"translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), "
            "E'+/=\\n', '-_')")


def county_global_id(kind: str, t: str) -> str:
    return b64(f"'{kind}:' || {t}.county || ':' || {t}.id")


def geojson(column: str, crs: Crs) -> str:
    """GeoJSON of a stored geometry in ``crs`` (7 decimals, no crs member), or null."""
    if crs is Crs.CGCS2000:
        return f"ST_AsGeoJSON({column}, {GEOJSON_DECIMALS}, 0)::json"
    if crs is Crs.WGS84:
        return f"ST_AsGeoJSON(ST_Transform({column}, {WGS84_SRID}), {GEOJSON_DECIMALS}, 0)::json"
    raise NotCompilable(f"{crs.name} output")


def valid_on_sql(t: str, date_param: str) -> str:
    """Relations valid on a date (``valid_to`` exclusive), as ``loaders.valid_on``."""
    return (f"({t}.valid_from IS NULL OR {t}.valid_from <= {date_param}) "
            f"AND ({t}.valid_to IS NULL OR {t}.valid_to > {date_param})")


def json_list(items_sql: str, order: str) -> str:
    """``json_agg`` with a deterministic order, ``[]`` for no rows."""
    return f"coalesce(json_agg({items_sql} ORDER BY {order}), '[]'::json)"


def iso_timestamp(expr: str) -> str:
    """A timestamptz as Python's ``isoformat()`` writes it (UTC sessions; 6 fraction digits,
    none when zero), not PostgreSQL's JSON form (which trims trailing zeros)."""
    return (f"(to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"mod(date_part('microseconds', {expr})::bigint, 1000000) = 0 THEN '' ELSE "
            f"to_char({expr} AT TIME ZONE 'UTC', '.US') END || '+00:00')")
