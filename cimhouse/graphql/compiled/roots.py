"""Query root fields: Relay connections, code lookup, one region.

A connection is one subquery: the page (``LIMIT first + 1``, keyset ``after`` as a row
comparison on ``(county, id)``) numbered by ``row_number()``, aggregated into ``edges`` and
``pageInfo``; ``totalCount`` is a ``count(*)`` over the same filters, emitted only when
selected. Cursors are the resolver path's (``base64url("house:330402:17")``).

Filters run through the same validation as the resolver path (``page_size``,
``after_county_id``, ``_region_clause``...): a value it refuses raises
:class:`~cimhouse.graphql.compiled.compiler.Fallback`, and the resolver path answers with
its own error.

Example::

    compile_root(compiler, "houses", nodes)   # "(SELECT json_build_object('edges', ...))"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType

from cimhouse.graphql.common import decode_cursor, like_pattern, page_size, parse_county_key
from cimhouse.graphql.compiled.compiler import (
    Compiler,
    Fallback,
    NotCompilable,
    checked,
    object_sql,
)
from cimhouse.graphql.compiled.lookup import compile_lookup
from cimhouse.graphql.compiled.objects import named, object_expr
from cimhouse.graphql.compiled.spatial import spatial_sql
from cimhouse.graphql.compiled.sqlparts import b64, region_scope_sql, scope_sql
from cimhouse.schema.vocab import Role
from cimhouse.scope import REGION_LEVEL_BY_LENGTH

Where = list[str]  # predicates over the alias "{x}"


def _region_bounds(code: str) -> tuple[str, str]:
    if not code.isdigit() or len(code) not in REGION_LEVEL_BY_LENGTH:
        raise Fallback("regionCode refused")
    if len(code) >= 12:
        return code, code
    if set(code) == {"9"}:
        raise Fallback("all-9 regionCode")
    return code.ljust(12, "0"), str(int(code) + 1).zfill(len(code)).ljust(12, "0")


def _code_prefix(raw: str) -> str:
    from cimhouse.coding.house_code import normalize

    clean = normalize(raw)
    if not clean or len(clean) > 25 or not clean.replace("X", "").isdigit():
        raise Fallback("codePrefix refused")
    return clean


def built_filter(c: Compiler, fd: GraphQLField, node: FieldNode, table: str) -> Where:
    """BuiltFilter as SQL predicates over ``{x}`` (AND), as ``estate_query`` and co."""
    def has(member: str, test: Callable[[Any], bool] = bool) -> bool:
        return bool(c.arg(fd, node, "filter", lambda f: test((f or {}).get(member))))

    def value(member: str, transform: Callable[[Any], Any], cast: str) -> str:
        return c.arg_param(fd, node, "filter", lambda f: transform((f or {})[member]), cast)

    out: Where = spatial_sql(c, fd, node, table, lambda m: has(m, lambda v: v is not None))
    if has("regionCode"):
        if c.arg(fd, node, "filter", lambda f: len(f["regionCode"]) if f["regionCode"] else 0) \
                >= 12:
            code = value("regionCode", lambda v: _region_bounds(v)[0], "text")
            out.append(f"{{x}}.region_code = {code}")
        else:
            low = value("regionCode", lambda v: _region_bounds(v)[0], "text")
            high = value("regionCode", lambda v: _region_bounds(v)[1], "text")
            out.append(f"{{x}}.region_code >= {low} AND {{x}}.region_code < {high}")
    if has("codePrefix"):
        out.append(f"starts_with({{x}}.code, {value('codePrefix', _code_prefix, 'text')})")
    if has("status"):
        out.append(f"{{x}}.status = ANY({value('status', list, 'text[]')})")
    if has("text"):
        pattern = value("text", checked(like_pattern), "text")
        texts = {"estate": ["name", "address", "array_to_string({x}.aliases, ' ')"],
                 "building": ["address_norm", "road"], "house": ["address_norm"]}[table]
        out.append("(" + " OR ".join(
            f"{col if '{x}' in col else '{x}.' + col} ILIKE {pattern} ESCAPE '\\'"
            for col in texts) + ")")
    if has("use"):
        column = "kind" if table == "estate" else "use"
        out.append(f"{{x}}.{column} = ANY({value('use', list, 'text[]')})")
    if has("estateCode"):
        code = value("estateCode", lambda v: v.strip().upper(), "text")
        out.append({
            "estate": f"{{x}}.code = {code}",
            "building": f"EXISTS (SELECT 1 FROM estate fe WHERE fe.county = {{x}}.county "
                        f"AND fe.id = {{x}}.estate_id AND fe.code = {code})",
            "house": f"EXISTS (SELECT 1 FROM building fb JOIN estate fe ON fe.county = "
                     f"fb.county AND fe.id = fb.estate_id WHERE fb.county = {{x}}.county "
                     f"AND fb.id = {{x}}.building_id AND fe.code = {code})"}[table])
    if has("buildingCode") and table == "house":
        code = value("buildingCode", lambda v: v.strip().upper(), "text")
        out.append(f"EXISTS (SELECT 1 FROM building fb WHERE fb.county = {{x}}.county "
                   f"AND fb.id = {{x}}.building_id AND fb.code = {code})")
    return out


def connection(c: Compiler, fd: GraphQLField, nodes: list[FieldNode], table: str,
               where: Where, order: tuple[str, ...], cursor: Callable[[str], str],
               after: Callable[[str], str] | None) -> str:
    """A Relay connection over ``table`` rows matching ``where``, keyset-paged."""
    node = nodes[0]
    first = checked(lambda v: page_size(v, c.env.settings), "first")
    limit = c.arg_param(fd, node, "first", first, "int")
    x, q0, q = c.alias(), c.alias(), c.alias()
    conds = [w.replace("{x}", x) for w in where]
    if after is not None:
        conds.append(after(x))
    order_x = ", ".join(f"{x}.{col}" for col in order)
    order_q0 = ", ".join(f"{q0}.{col}" for col in order)
    page = (f"SELECT {q0}.*, row_number() OVER (ORDER BY {order_q0}) AS rn_ FROM "
            f"(SELECT {x}.* FROM {table} {x} WHERE {' AND '.join(conds) or 'true'} "
            f"ORDER BY {order_x} LIMIT {limit} + 1) {q0}")
    conn_type = named(fd)
    joins: list[str] = []
    pairs: list[tuple[str, str]] = []
    for key, sub in c.sub(conn_type, nodes).items():
        name = sub[0].name.value
        if name == "__typename":
            pairs.append((key, f"'{conn_type.name}'::text"))
        elif name == "totalCount":
            y = c.alias()
            counted = " AND ".join(w.replace("{x}", y) for w in where) or "true"
            pairs.append((key, f"(SELECT count(*) FROM {table} {y} WHERE {counted})"))
        elif name == "pageInfo":
            pairs.append((key, _page_info(c, conn_type, sub, cursor(q), q, limit)))
        elif name == "edges":
            pairs.append((key, _edges(c, conn_type, sub, cursor(q), q, limit, joins)))
        else:
            raise NotCompilable(f"{conn_type.name}.{name}")
    # HAVING true: one group, so exactly one row, also when only totalCount or constants are
    # selected (the same as GROUP BY (), which Citus refuses as a grouping set)
    return f"(SELECT {object_sql(pairs)} FROM ({page}) {q} {' '.join(joins)} HAVING true)"


def _page_info(c: Compiler, conn_type: GraphQLObjectType, nodes: list[FieldNode],
               cursor: str, q: str, limit: str) -> str:
    info_type = named(conn_type.fields["pageInfo"])
    pairs = []
    for key, sub in c.sub(info_type, nodes).items():
        name = sub[0].name.value
        if name == "hasNextPage":
            pairs.append((key, f"count(*) > {limit}"))
        elif name == "endCursor":
            pairs.append((key, f"(array_agg({cursor} ORDER BY {q}.rn_ DESC) "
                               f"FILTER (WHERE {q}.rn_ <= {limit}))[1]"))
        else:
            pairs.append((key, "'PageInfo'::text"))
    return object_sql(pairs)


def _edges(c: Compiler, conn_type: GraphQLObjectType, nodes: list[FieldNode], cursor: str,
           q: str, limit: str, joins: list[str]) -> str:
    edge_type = named(conn_type.fields["edges"])
    pairs = []
    for key, sub in c.sub(edge_type, nodes).items():
        name = sub[0].name.value
        if name == "cursor":
            pairs.append((key, cursor))
        elif name == "node":
            node_type = named(edge_type.fields["node"])
            pairs.append((key, object_expr(c, node_type.name, c.sub(node_type, sub), q,
                                           joins)))
        else:
            pairs.append((key, f"'{edge_type.name}'::text"))
    return (f"coalesce(json_agg({object_sql(pairs)} ORDER BY {q}.rn_) "
            f"FILTER (WHERE {q}.rn_ <= {limit}), '[]'::json)")


def _built(kind: str, table: str) -> Callable[[Compiler, GraphQLField, list[FieldNode]], str]:
    def compile_(c: Compiler, fd: GraphQLField, nodes: list[FieldNode]) -> str:
        c.needs(Role.READER)
        node = nodes[0]
        if c.arg(fd, node, "asOf", lambda v: v is not None):
            # time travel rewinds rows from change_log: the resolvers do it (counted fallback)
            raise NotCompilable(f"{table} list with asOf")
        where = [*built_filter(c, fd, node, table), scope_sql(c, table, "{x}")]
        after = None
        if c.arg(fd, node, "after", bool):
            key = checked(lambda v: parse_county_key(decode_cursor(v, kind)), "after")
            county = c.arg_param(fd, node, "after", lambda v: key(v)[0], "text")
            row_id = c.arg_param(fd, node, "after", lambda v: key(v)[1], "bigint")
            after = lambda x: f"({x}.county, {x}.id) > ({county}, {row_id})"  # noqa: E731
        return connection(c, fd, nodes, table, where, ("county", "id"),
                          lambda q: b64(f"'{kind}:' || {q}.county || ':' || {q}.id"), after)
    return compile_


def _regions(c: Compiler, fd: GraphQLField, nodes: list[FieldNode]) -> str:
    c.needs(Role.READER)
    node = nodes[0]
    where = ["{x}.valid_to IS NULL", region_scope_sql(c, "{x}")]
    if c.arg(fd, node, "level", lambda v: v is not None):
        def level(v: int) -> int:
            if not 1 <= v <= 5:
                raise Fallback("level refused")
            return v
        where.append(f"{{x}}.level = {c.arg_param(fd, node, 'level', level, 'int')}")
    if c.arg(fd, node, "parentCode", lambda v: v is not None):
        where.append(f"{{x}}.parent_code = {c.arg_param(fd, node, 'parentCode', str, 'text')}")
    if c.arg(fd, node, "nameContains", bool):
        pattern = c.arg_param(fd, node, "nameContains", checked(like_pattern), "text")
        where.append(f"{{x}}.name LIKE {pattern} ESCAPE '\\'")
    after = None
    if c.arg(fd, node, "after", bool):
        cursor = checked(lambda v: decode_cursor(v, "region"), "after")
        code = c.arg_param(fd, node, "after", cursor, "text")
        after = lambda x: f"{x}.code > {code}"  # noqa: E731
    return connection(c, fd, nodes, "region", where, ("code",),
                      lambda q: b64(f"'region:' || {q}.code"), after)


def _region(c: Compiler, fd: GraphQLField, nodes: list[FieldNode]) -> str:
    c.needs(Role.READER)
    code = c.arg_param(fd, nodes[0], "code", lambda v: v.strip(), "text")
    gtype = named(fd)
    x = c.alias()
    joins: list[str] = []
    obj = object_expr(c, gtype.name, c.sub(gtype, nodes), x, joins)
    return (f"(SELECT {obj} FROM region {x} {' '.join(joins)} WHERE {x}.code = {code} "
            f"AND {region_scope_sql(c, x)})")


def _roots() -> dict[str, Callable[[Compiler, GraphQLField, list[FieldNode]], str]]:
    from cimhouse.graphql.compiled.node import compile_node, compile_persons

    return {"estates": _built("estate", "estate"), "buildings": _built("building", "building"),
            "houses": _built("house", "house"), "regions": _regions, "region": _region,
            "lookup": compile_lookup, "node": compile_node, "persons": compile_persons}


def compile_operation(c: Compiler) -> str:
    """The whole query as ``SELECT json_build_object(...)::text``."""
    if c.operation.operation.value != "query":
        raise NotCompilable("not a query")
    root = c.schema.query_type
    assert root is not None
    pairs = []
    for key, nodes in c.collect(root, [c.operation.selection_set]).items():
        name = nodes[0].name.value
        if name == "__typename":
            pairs.append((key, "'Query'::text"))
            continue
        compile_ = _roots().get(name)
        if compile_ is None:
            raise NotCompilable(f"Query.{name}")
        pairs.append((key, compile_(c, root.fields[name], nodes)))
    return f"SELECT {object_sql(pairs)}::text"


__all__ = ["compile_operation"]
