"""``lookup(code)`` compiled: the registry row, its decoding and its object, in scope.

The code is canonicalised in Python at bind time (``canonical_code``: any typed form; a
malformed code falls back, so the resolver path reports it). The decoding is pure, so it is
bound as one small JSON parameter built from the selection; the object kind it names picks
the table in SQL. The registry row counts only when its object lies in scope (as the
resolver path's inner join with ``scope_filter``).

Example::

    { lookup(code: "330402007024-001-0001-00101-4") { code decoding { county } house { code } } }
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import FieldNode, GraphQLField

from cimhouse.coding.house_code import decode
from cimhouse.graphql.compiled.compiler import Compiler, Env, Fallback, checked, object_sql
from cimhouse.graphql.compiled.objects import named, single
from cimhouse.graphql.compiled.sqlparts import iso_timestamp, scope_sql
from cimhouse.schema.vocab import Role

KINDS = ("estate", "building", "house")


def _decoding_fields(code: str, keys: list[tuple[str, str]]) -> str:
    parsed = decode(code)
    path = parsed.region_path
    values: dict[str, Any] = {
        "code": parsed.code, "display": parsed.display, "objectKind": parsed.object_kind,
        "regionCodeAtIssue": parsed.region_code, "province": path["province"],
        "city": path["city"], "county": path["county"], "town": path["town"],
        "community": path["community"], "estateNumber": parsed.estate_number,
        "buildingNumber": parsed.building_number, "houseNumber": parsed.house_number,
        "checkCharacter": parsed.check, "estateCode": parsed.estate_code,
        "buildingCode": parsed.building_code, "__typename": "CodeDecoding"}
    return json.dumps({key: values[name] for key, name in keys}, ensure_ascii=False)


def _decoding(code_of: Callable[[Env], str], keys: list[tuple[str, str]]
              ) -> Callable[[Env], str]:
    return lambda env: _decoding_fields(code_of(env), keys)


def _object_of(r: str, kind: str) -> Callable[[str], list[str]]:
    """The registry row's object when it is of ``kind`` (scope is checked once, below)."""
    return lambda x: [f"{r}.object_kind = '{kind}'", f"{x}.county = {r}.county",
                      f"{x}.id = {r}.object_id"]


def compile_lookup(c: Compiler, fd: GraphQLField, nodes: list[FieldNode]) -> str:
    from cimhouse.graphql.codes import canonical_code

    c.needs(Role.READER)
    node = nodes[0]

    def code_of(env: Env) -> str:
        key = ("lookup", id(node))
        if key not in env.memo:
            env.memo[key] = str(checked(canonical_code)(env.args(fd, node)["code"]))
        return str(env.memo[key])

    code_of(c.env)  # a malformed code falls back before any SQL
    code = c.param(code_of, "text")
    # One plan variant per object kind (a guard): only that kind's scope check and join are
    # planned, which keeps the planning time of this one-row statement small.
    kind = c.guard(lambda env: decode(code_of(env)).object_kind)
    if kind not in KINDS:
        raise Fallback(f"object kind {kind}")
    gtype = named(fd)
    r = c.alias()
    joins: list[str] = []
    pairs: list[tuple[str, str]] = []
    for key, sub in c.sub(gtype, nodes).items():
        name = sub[0].name.value
        field_def = gtype.fields.get(name)
        if name == "__typename":
            pairs.append((key, "'CodeLookup'::text"))
        elif name in ("code", "status", "issuedAt", "retiredAt", "retireReason"):
            column = {"issuedAt": "issued_at", "retiredAt": "retired_at",
                      "retireReason": "retire_reason"}.get(name, name)
            value = f"{r}.{column}"
            pairs.append((key, iso_timestamp(value) if column.endswith("_at") else value))
        elif name == "decoding":
            assert field_def is not None
            dtype = named(field_def)
            keys = [(k, s[0].name.value) for k, s in c.sub(dtype, sub).items()]
            pairs.append((key, c.param(_decoding(code_of, keys), "json")))
        else:
            assert field_def is not None
            assert name in KINDS
            pairs.append((key, single(c, joins, field_def, sub, name, _object_of(r, name))
                          if name == kind else "NULL::json"))
    in_scope = (f"EXISTS (SELECT 1 FROM {kind} o WHERE o.county = {r}.county AND "
                f"o.id = {r}.object_id AND {scope_sql(c, kind, 'o')})")
    return (f"(SELECT {object_sql(pairs)} FROM code_registry {r} {' '.join(joins)} "
            f"WHERE {r}.code = {code} AND {r}.object_kind = '{kind}' AND {in_scope})")
