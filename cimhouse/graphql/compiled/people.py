"""Persons and person-house relations, compiled; ID numbers and phones masked in SQL.

A caller without ``pii_reader`` gets the stored masked forms (``id_masked``,
``phone_masked``). For a ``pii_reader`` the SQL emits a *marker* instead of the number:
``<nonce>:i:<person id>:<ciphertext hex>`` where the nonce is random per request and bound
as a parameter (stored data cannot forge it). :mod:`cimhouse.graphql.compiled.reveal` writes
one ``audit_log`` row per marker in the request's transaction, commits, and only then
replaces the markers by the decrypted numbers; no audit, no number.

Example (the expression for ``idNumber`` of row ``t5`` for a pii_reader)::

    %(p7)s::text || ':i:' || t5.id || ':' || encode(t5.id_cipher, 'hex')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from graphql import FieldNode, GraphQLField

from cimhouse.graphql.compiled.compiler import Compiler, Env
from cimhouse.graphql.compiled.objects import (
    SPECS,
    FieldFn,
    TypeSpec,
    _by_key,
    _columns,
    many,
    single,
)
from cimhouse.graphql.compiled.sqlparts import (
    b64,
    county_global_id,
    county_keys_sql,
    scope_sql,
    valid_on_sql,
)
from cimhouse.schema.vocab import Role

LIVING = ("resident", "registered", "tenant")
MAX_CO_RESIDENTS = 500


def _kinds(values: Any) -> list[str]:
    return sorted({k.value for k in values or []})


def _date_or_today(env: Env) -> Callable[[Any], dt.date]:
    return lambda value: value or env.today


def _relations(fixed_kinds: tuple[str, ...] | None) -> FieldFn:
    """House.relations (kinds, asOf, allDates) and the owners/residents/tenants shortcuts."""
    def compile_(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                 joins: list[str]) -> str:
        c.needs(Role.PERSON_READER)
        node = nodes[0]
        conds = [f"{{x}}.county = {t}.county", f"{{x}}.house_id = {t}.id"]
        keyed = county_keys_sql(c, "{x}")  # the house's keys again: one Citus shard
        if keyed:
            conds.append(keyed)
        all_dates = False if fixed_kinds is not None else c.arg(fd, node, "allDates", bool)
        if not all_dates:
            date = c.param(lambda env: env.args(fd, node).get("asOf") or env.today, "date")
            conds.append(valid_on_sql("{x}", date))
        if fixed_kinds is not None:
            kinds = "ARRAY[" + ", ".join(f"'{k}'" for k in fixed_kinds) + "]::text[]"
            conds.append(f"{{x}}.relation = ANY({kinds})")
        elif c.arg(fd, node, "kinds", lambda v: bool(v)):
            kinds = c.arg_param(fd, node, "kinds", _kinds, "text[]")
            conds.append(f"{{x}}.relation = ANY({kinds})")
        return many(c, joins, fd, nodes, "person_house",
                    lambda x: [cond.replace("{x}", x) for cond in conds], ("id",), None)
    return compile_


def _person(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
            joins: list[str]) -> str:
    c.needs(Role.PERSON_READER)
    # Persons are reached through a scoped relation, as in the resolver path.
    return single(c, joins, fd, nodes, "person", lambda x: [f"{x}.id = {t}.person_id"])


def _person_houses(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                   joins: list[str]) -> str:
    """Person.houses: relations to houses in scope (the person may span counties)."""
    c.needs(Role.PERSON_READER)
    node = nodes[0]
    conds = [f"{{x}}.person_id = {t}.id"]
    if not c.arg(fd, node, "allDates", bool):
        date = c.param(lambda env: env.args(fd, node).get("asOf") or env.today, "date")
        conds.append(valid_on_sql("{x}", date))
    if c.arg(fd, node, "kinds", lambda v: bool(v)):
        conds.append(f"{{x}}.relation = ANY({c.arg_param(fd, node, 'kinds', _kinds, 'text[]')})")
    return many(c, joins, fd, nodes, "person_house",
                lambda x: [*(cond.replace("{x}", x) for cond in conds),
                           scope_sql(c, "person_house", x)], ("id",), None)


def _co_residents(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
                  joins: list[str]) -> str:
    """Other persons living in the same houses on a date: one subquery, not one per row."""
    c.needs(Role.PERSON_READER)
    node = nodes[0]
    date = c.param(lambda env: env.args(fd, node).get("asOf") or env.today, "date")
    living = "ARRAY[" + ", ".join(f"'{k}'" for k in LIVING) + "]::text[]"

    def where(x: str) -> list[str]:
        scoped = scope_sql(c, "person_house", "o")
        return [f"{x}.id IN (SELECT o.person_id FROM person_house m JOIN person_house o "
                f"ON o.county = m.county AND o.house_id = m.house_id "
                f"WHERE m.person_id = {t}.id AND m.relation = ANY({living}) "
                f"AND o.relation = ANY({living}) AND o.person_id <> {t}.id "
                f"AND {valid_on_sql('m', date)} AND {valid_on_sql('o', date)} "
                f"AND {scoped})"]

    return many(c, joins, fd, nodes, "person", where, ("id",), str(MAX_CO_RESIDENTS))


def _age(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
         joins: list[str]) -> str:
    node = nodes[0]
    d = c.param(lambda env: env.args(fd, node).get("asOf") or env.today, "date")
    b = f"{t}.birth_date"
    return (f"(extract(year FROM {d})::int - extract(year FROM {b})::int - CASE WHEN "
            f"(extract(month FROM {d}), extract(day FROM {d})) < (extract(month FROM {b}), "
            f"extract(day FROM {b})) THEN 1 ELSE 0 END)")


def _nonce(c: Compiler) -> str:
    c.reveals_pii = True
    return c.param(lambda env: env.nonce, "text")


def _id_number(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
               joins: list[str]) -> str:
    if not c.env.can(Role.PII_READER):
        return f"{t}.id_masked"
    return f"({_nonce(c)} || ':i:' || {t}.id || ':' || encode({t}.id_cipher, 'hex'))"


def _phone(c: Compiler, t: str, fd: GraphQLField, nodes: list[FieldNode],
           joins: list[str]) -> str:
    if not c.env.can(Role.PII_READER):
        return f"{t}.phone_masked"
    return (f"coalesce({_nonce(c)} || ':p:' || {t}.id || ':' || "
            f"encode({t}.phone_cipher, 'hex'), {t}.phone_masked)")


SPECS["House"].special.update({
    "relations": _relations(None), "owners": _relations(("owner",)),
    "residents": _relations(("resident", "registered")), "tenants": _relations(("tenant",))})

SPECS["PersonHouseRelation"] = TypeSpec("person_house", _columns(
    relation="relation", validFrom="valid_from", validTo="valid_to", source="source"), {
    "id": lambda c, t, fd, nodes, joins: county_global_id("PersonHouse", t),
    "person": _person, "house": _by_key("house", "house_id")})

SPECS["Person"] = TypeSpec("person", _columns(
    name="name", gender="gender", birthDate="birth_date"), {
    "id": lambda c, t, fd, nodes, joins: b64(f"'Person:' || {t}.id"),
    "age": _age, "idNumber": _id_number, "phone": _phone, "houses": _person_houses,
    "coResidents": _co_residents})
