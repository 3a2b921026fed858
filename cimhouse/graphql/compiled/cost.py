"""The cost of an operation, estimated before any SQL: page sizes multiplied along the nesting.

Every object a field can return counts once per parent; a list multiplies by its bound:

=====================================  ============================================
connection (``estates``, ``houses``...)  ``first`` capped at ``max_page_size`` (1 for
                                         ``estates(filter: {estateCode})``)
``Estate.buildings``, ``Building.houses``  ``first``, at most 500 (500 when omitted)
relations (``residents``, ``Person.houses``...)  10 (assumed; they have no page)
``Person.coResidents``                   500 (its cap)
``history``                              200 (its cap)
any other list with ``first``            ``first``
any other list of objects                100
=====================================  ============================================

Over ``settings.max_query_cost`` the request is refused with ``QUERY_TOO_EXPENSIVE``.

Example::

    # 1 estate x 500 buildings x 50 houses x 10 residents (+ their persons)
    estimate_cost(schema, document, operation, variables, settings)   # 500,501 + ...
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from cimhouse.errors import QueryTooExpensive
from cimhouse.i18n import _
from cimhouse.settings import Settings

NESTED_MAX = 500
ASSUMED_RELATIONS = 10
FIXED = {"coResidents": 500, "history": 200}
RELATION_FIELDS = {"relations", "owners", "residents", "tenants"}
OTHER_LISTS = 100


def _is_list(field_def: GraphQLField) -> bool:
    gtype = field_def.type
    if isinstance(gtype, GraphQLNonNull):
        gtype = gtype.of_type
    return isinstance(gtype, GraphQLList)


def _size(parent: str, name: str, field_def: GraphQLField, args: dict[str, Any],
          settings: Settings) -> int:
    """How many objects one parent's field may return."""
    target = get_named_type(field_def.type).name
    first = args.get("first")
    if target.endswith("Connection"):
        if name == "estates" and (args.get("filter") or {}).get("estateCode"):
            return 1
        wanted = settings.max_page_size if first is None else first
        return max(0, min(wanted, settings.max_page_size))
    if parent.endswith("Connection") or not _is_list(field_def):
        return 1
    if name in ("buildings", "houses") and parent in ("Estate", "Building"):
        return NESTED_MAX if first is None else max(0, min(first, NESTED_MAX))
    if name in RELATION_FIELDS or (parent == "Person" and name == "houses"):
        return ASSUMED_RELATIONS
    if name in FIXED:
        return FIXED[name]
    if isinstance(first, int):
        return max(0, first)
    return OTHER_LISTS


def estimate_cost(schema: GraphQLSchema, document: DocumentNode,
                  operation: OperationDefinitionNode, variables: VariableValues,
                  settings: Settings) -> int:
    """Objects the operation may return at most; raises QueryTooExpensive over budget."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    root = schema.get_root_type(operation.operation)
    assert root is not None

    def walk(type_name: str, selection_set: SelectionSetNode | None, multiplier: int,
             seen: frozenset[str]) -> int:
        total = 0
        parent: Any = schema.get_type(type_name)
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                fields = getattr(parent, "fields", {})
                field_def = fields.get(sel.name.value)
                if field_def is None or not is_composite_type(get_named_type(field_def.type)):
                    continue
                args = get_argument_values(field_def, sel, variables)
                count = multiplier * _size(type_name, sel.name.value, field_def, args, settings)
                total += count + walk(get_named_type(field_def.type).name, sel.selection_set,
                                      count, seen)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition.name.value if sel.type_condition else type_name
                total += walk(cond, sel.selection_set, multiplier, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                fragment = fragments.get(sel.name.value)
                if fragment is not None:
                    total += walk(fragment.type_condition.name.value, fragment.selection_set,
                                  multiplier, seen | {sel.name.value})
        return total

    cost = walk(root.name, operation.selection_set, 1, frozenset())
    if cost > settings.max_query_cost:
        raise QueryTooExpensive(
            _("the query may return up to {cost:,} objects, more than the limit of "
              "{max_query_cost:,}; ask for smaller pages (first) or less nesting", cost=cost,
              max_query_cost=settings.max_query_cost),
            detail={"cost": cost})
    return cost
