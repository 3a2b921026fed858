"""Object types as ``json_build_object`` over one row, nested fields as LATERAL subqueries.

:func:`object_expr` turns the collected fields of one GraphQL object into an expression over
a row alias; nested objects and lists append ``LEFT JOIN LATERAL (...) jN ON true`` clauses
to ``joins`` (each returns exactly one row with a column ``v``, so rows never multiply).
Lists are ordered as the resolver path orders them (``county, id`` or ``id``) inside
``json_agg``. The estate/building/house/region types live here; persons and relations in
:mod:`cimhouse.graphql.compiled.people`.

Example::

    joins: list[str] = []
    expr = object_expr(compiler, "House", fields, "t3", joins)
    sql = f"SELECT {expr} FROM house t3 {' '.join(joins)} WHERE ..."
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType, get_named_type

from cimhouse.graphql.common import Crs
from cimhouse.graphql.compiled.compiler import Collected, Compiler, NotCompilable, object_sql
from cimhouse.graphql.compiled.sqlparts import (
    b64,
    county_global_id,
    geojson,
    iso_timestamp,
    json_list,
    region_scope_sql,
    scope_sql,
)

MAX_NESTED = 500
MAX_HISTORY = 200  # as cimhouse.graphql.codes.MAX_HISTORY

#: (compiler, row alias, field definition, field nodes, joins) -> SQL expression
FieldFn = Callable[[Compiler, str, GraphQLField, list[FieldNode], list[str]], str]


@dataclass
class TypeSpec:
    table: str
    columns: dict[str, str]
    special: dict[str, FieldFn] = field(default_factory=dict)


SPECS: dict[str, TypeSpec] = {}


def object_expr(c: Compiler, type_name: str, fields: Collected, t: str,
                joins: list[str]) -> str:
    spec = SPECS.get(type_name)
    if spec is None:
        raise NotCompilable(f"type {type_name}")
    gtype = c.schema.get_type(type_name)
    assert isinstance(gtype, GraphQLObjectType)
    pairs: list[tuple[str, str]] = []
    for key, nodes in fields.items():
        name = nodes[0].name.value
        if name == "__typename":
            expr = f"'{type_name}'::text"
        elif name in spec.columns:
            expr = spec.columns[name].replace("{t}", t)
        elif name in spec.special:
            expr = spec.special[name](c, t, gtype.fields[name], nodes, joins)
        else:
            raise NotCompilable(f"{type_name}.{name}")
        pairs.append((key, expr))
    return object_sql(pairs)


def named(field_def: GraphQLField) -> GraphQLObjectType:
    gtype = get_named_type(field_def.type)
    assert isinstance(gtype, GraphQLObjectType)
    return gtype


def lateral(c: Compiler, joins: list[str], select_v: str) -> str:
    alias = c.alias("j")
    joins.append(f"LEFT JOIN LATERAL ({select_v}) {alias} ON true")
    return f"{alias}.v"


def single(c: Compiler, joins: list[str], field_def: GraphQLField, nodes: list[FieldNode],
           table: str, where: Callable[[str], list[str]]) -> str:
    """A nullable object found by key (null when missing or outside scope)."""
    gtype = named(field_def)
    x = c.alias()
    inner: list[str] = []
    obj = object_expr(c, gtype.name, c.sub(gtype, nodes), x, inner)
    conds = " AND ".join(where(x))
    return lateral(c, joins, f"SELECT {obj} AS v FROM {table} {x} {' '.join(inner)} "
                             f"WHERE {conds}")


def many(c: Compiler, joins: list[str], field_def: GraphQLField, nodes: list[FieldNode],
         table: str, where: Callable[[str], list[str]], order: tuple[str, ...],
         limit: str | None) -> str:
    """A list of children, filtered and limited before their own nested fields run."""
    gtype = named(field_def)
    x, y = c.alias(), c.alias()
    conds = " AND ".join(where(x))
    order_x = ", ".join(f"{x}.{col}" for col in order)
    page = f" LIMIT {limit}" if limit else ""
    rows = f"SELECT {x}.* FROM {table} {x} WHERE {conds} ORDER BY {order_x}{page}"
    inner: list[str] = []
    obj = object_expr(c, gtype.name, c.sub(gtype, nodes), y, inner)
    order_y = ", ".join(f"{y}.{col}" for col in order)
    return lateral(c, joins, f"SELECT {json_list(obj, order_y)} AS v FROM ({rows}) {y} "
                             f"{' '.join(inner)}")


def nested_limit(first: Any) -> int:
    return MAX_NESTED if first is None else max(0, min(int(first), MAX_NESTED))


def _geometry(column: str) -> FieldFn:
    def compile_(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                 joins: list[str]) -> str:
        crs = c.arg(fd, nodes[0], "crs", lambda v: v or Crs.CGCS2000)
        return geojson(f"{t}.{column}", crs)
    return compile_


def _id(kind: str) -> FieldFn:
    def compile_(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                 joins: list[str]) -> str:
        return county_global_id(kind, t)
    return compile_


def _region(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
            joins: list[str]) -> str:
    return single(c, joins, fd, nodes, "region",
                  lambda x: [f"{x}.code = {t}.region_code", region_scope_sql(c, x)])


def _by_key(table: str, key_column: str) -> FieldFn:
    """A county-keyed object referenced by ``key_column`` of the row, in scope."""
    def compile_(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                 joins: list[str]) -> str:
        return single(c, joins, fd, nodes, table,
                      lambda x: [f"{x}.county = {t}.county", f"{x}.id = {t}.{key_column}",
                                 scope_sql(c, table, x)])
    return compile_


def _children(table: str, parent_column: str) -> FieldFn:
    """Estate.buildings / Building.houses: in scope, ``first`` capped at 500 per parent."""
    def compile_(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                 joins: list[str]) -> str:
        limit = c.arg_param(fd, nodes[0], "first", nested_limit, "int")
        return many(c, joins, fd, nodes, table,
                    lambda x: [f"{x}.county = {t}.county", f"{x}.{parent_column} = {t}.id",
                               scope_sql(c, table, x)], ("county", "id"), limit)
    return compile_


def _history(kind: str) -> FieldFn:
    """change_log rows of the object (by id or code), oldest first, at most 200."""
    def compile_(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                 joins: list[str]) -> str:
        return many(c, joins, fd, nodes, "change_log",
                    lambda x: [f"{x}.county = {t}.county", f"{x}.object_kind = '{kind}'",
                               f"{x}.object_id IN ({t}.id::text, {t}.code)"],
                    ("changed_at", "id"), str(MAX_HISTORY))
    return compile_


def _columns(**renamed: str) -> dict[str, str]:
    return {name: (col if "{t}" in col else "{t}." + col) for name, col in renamed.items()}


SPECS["Estate"] = TypeSpec("estate", _columns(
    code="code", name="name", aliases="coalesce({t}.aliases, '{}'::text[])", kind="kind",
    address="address", propertyCompany="property_company", status="status",
    regionCode="region_code"), {
    "id": _id("Estate"), "geometry": _geometry("boundary"), "region": _region,
    "history": _history("estate"),
    "buildings": _children("building", "estate_id")})

SPECS["Building"] = TypeSpec("building", _columns(
    code="code", regionCode="region_code", road="road", doorNumber="door_number",
    buildingLabel="building_label", address="address_norm", floorsAbove="floors_above",
    floorsBelow="floors_below", heightM="{t}.height_m::float8", structure="structure",
    use="use", yearBuilt="year_built", status="status"), {
    "id": _id("Building"), "geometry": _geometry("footprint"), "region": _region,
    "history": _history("building"),
    "estate": _by_key("estate", "estate_id"), "houses": _children("house", "building_id")})

SPECS["House"] = TypeSpec("house", _columns(
    code="code", regionCode="region_code", unitLabel="unit_label", floorLabel="floor_label",
    floorNumber="floor_number", roomLabel="room_label", areaM2="{t}.area_m2::float8",
    areaSource="area_source", use="use", status="status", address="address_norm",
    realestateUnitNo="realestate_unit_no"), {
    "id": _id("House"), "location": _geometry("location"), "region": _region,
    "history": _history("house"),
    "building": _by_key("building", "building_id")})

SPECS["Region"] = TypeSpec("region", {
    "id": b64("'Region:' || {t}.code"), **_columns(
        code="code", code12="code12", name="name", level="level",
        parentCode="parent_code")})

SPECS["ChangeEntry"] = TypeSpec("change_log", _columns(
    operation="operation", changedAt=iso_timestamp("{t}.changed_at"), actor="actor",
    source="source",
    previous="previous", current="current"))
