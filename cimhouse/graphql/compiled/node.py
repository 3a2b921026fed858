"""``node(id)`` and ``persons`` compiled.

``node``: the kind named inside the global id picks the table, so it is a guarded decision
(a plan serves ids of one kind); the key is bound. Persons and relations without
``person_reader`` are null, as in ``resolve_node``; jobs, import runs, facilities and
households take the resolver path. ``persons``: persons with a relation to a house in scope, by id.

Example::

    { node(id: "SG91c2U6MzMwNDAyOjE3") { ... on House { code } } }
"""

from __future__ import annotations

from graphql import FieldNode, GraphQLField, GraphQLObjectType

from cimhouse.graphql.common import decode_cursor, like_pattern, parse_county_key, parse_global_id
from cimhouse.graphql.compiled.compiler import Compiler, Fallback, NotCompilable, checked
from cimhouse.graphql.compiled.objects import object_expr
from cimhouse.graphql.compiled.roots import connection
from cimhouse.graphql.compiled.sqlparts import b64, region_scope_sql, scope_sql
from cimhouse.graphql.people import NARROW_LEVELS
from cimhouse.schema.vocab import Role

COUNTY_KEYED = {"Estate": ("estate", "Estate"), "Building": ("building", "Building"),
                "House": ("house", "House"),
                "PersonHouse": ("person_house", "PersonHouseRelation")}


def person_in_scope(c: Compiler, x: str) -> str:
    """Persons with a relation to a house in scope (``people.person_in_scope``).

    A community or estate scope holds a few thousand relations: their person ids are
    collected first (``= ANY(ARRAY(...))``, houses of the scope -> relations), so that the
    page is read by primary key. With ``IN (...)`` PostgreSQL walked ``pk_person`` in page
    order and probed each person's relations: 16.9 s at 1M houses for the community whose
    persons come last. Wider scopes keep ``IN``: most persons are in them, so the walk stops
    early, and their id arrays would be large.
    """
    narrow = c.env.principal.scope.level >= NARROW_LEVELS  # the level is in the plan key
    ids = f"SELECT sp.person_id FROM person_house sp WHERE {scope_sql(c, 'person_house', 'sp')}"
    return f"{x}.id = ANY(ARRAY({ids}))" if narrow else f"{x}.id IN ({ids})"


def compile_node(c: Compiler, fd: GraphQLField, nodes: list[FieldNode]) -> str:
    c.needs(Role.READER)
    node = nodes[0]
    kind = c.arg(fd, node, "id", lambda v: checked(parse_global_id, "id")(str(v))[0])
    if kind in ("Person", "PersonHouse") and not c.env.can(Role.PERSON_READER):
        return "NULL::json"
    key = c.arg_param(fd, node, "id", lambda v: checked(parse_global_id, "id")(str(v))[1], "text")
    x = c.alias()
    if kind in COUNTY_KEYED:
        table, type_name = COUNTY_KEYED[kind]
        county = c.arg_param(fd, node, "id", lambda v: checked(parse_county_key, "id")(
            parse_global_id(str(v))[1])[0], "text")
        row_id = c.arg_param(fd, node, "id", lambda v: checked(parse_county_key, "id")(
            parse_global_id(str(v))[1])[1], "bigint")
        where = f"{x}.county = {county} AND {x}.id = {row_id} AND {scope_sql(c, table, x)}"
    elif kind == "Region":
        table, type_name = "region", "Region"
        where = f"{x}.code = {key} AND {region_scope_sql(c, x)}"
    elif kind in ("Job", "ImportRun", "Facility", "Household", "HouseholdMember"):
        raise NotCompilable(f"node of {kind}")
    elif kind == "Person":
        if not c.arg(fd, node, "id", lambda v: parse_global_id(str(v))[1].isdigit()):
            return "NULL::json"
        table, type_name = "person", "Person"
        where = f"{x}.id = {key}::bigint AND {person_in_scope(c, x)}"
    else:
        return "NULL::json"
    runtime = c.schema.get_type(type_name)
    assert isinstance(runtime, GraphQLObjectType)
    joins: list[str] = []
    obj = object_expr(c, type_name, c.sub(runtime, nodes), x, joins)
    return f"(SELECT {obj} FROM {table} {x} {' '.join(joins)} WHERE {where})"


def _person_after(value: str) -> int:
    key = decode_cursor(value, "person")
    if not key.isdigit():
        raise Fallback("malformed person cursor")
    return int(key)


def compile_persons(c: Compiler, fd: GraphQLField, nodes: list[FieldNode]) -> str:
    c.needs(Role.PERSON_READER)
    node = nodes[0]
    where = [person_in_scope(c, "{x}")]
    if c.arg(fd, node, "nameContains", bool):
        pattern = c.arg_param(fd, node, "nameContains", checked(like_pattern), "text")
        where.append(f"{{x}}.name ILIKE {pattern} ESCAPE '\\'")
    after = None
    if c.arg(fd, node, "after", bool):
        last = c.arg_param(fd, node, "after", checked(_person_after), "bigint")
        after = lambda x: f"{x}.id > {last}"  # noqa: E731
    return connection(c, fd, nodes, "person", where, ("id",),
                      lambda q: b64(f"'person:' || {q}.id"), after)
