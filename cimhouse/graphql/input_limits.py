"""Limits on what a caller may send: string arguments, polygons (the body size is capped by
:mod:`cimhouse.api.hardening`).

Every ``String`` and ``ID`` argument passes :func:`check_text`: literals through
:class:`TextLiteralRule` (a validation rule), variables through :class:`InputLimits` (before
execution). At most :data:`MAX_STRING_LENGTH` characters, no NUL character (PostgreSQL text
cannot hold it) and no lone UTF-16 surrogate (not encodable as UTF-8); a violation is
``BAD_USER_INPUT`` before any resolver or SQL runs. GeoJSON polygons have at most
:data:`MAX_POLYGON_VERTICES` vertices (:func:`check_vertex_count`).

Example::

    >>> check_text("330402007024")
    '330402007024'
    >>> check_text("a\\x00b")
    Traceback (most recent call last):
    cimhouse.errors.InvalidInput: string arguments must not contain NUL characters
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    StringValueNode,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_input_type,
)
from graphql.utilities import type_from_ast
from strawberry.extensions import SchemaExtension

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

#: longest string argument (codes, ID numbers, names, addresses, search text, cursors)
MAX_STRING_LENGTH = 1000
#: most vertices of a GeoJSON polygon filter (all rings and parts together)
MAX_POLYGON_VERTICES = 10_000


def check_text(value: str) -> str:
    """Return ``value`` when it is an acceptable string argument, else raise InvalidInput."""
    if len(value) > MAX_STRING_LENGTH:
        raise InvalidInput(_("a string argument may hold at most {max_string_length} characters "
                             "(got {value_count})", max_string_length=MAX_STRING_LENGTH,
                             value_count=len(value)))
    if "\x00" in value:
        raise InvalidInput(_("string arguments must not contain NUL characters"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(_("string arguments must be valid Unicode (a lone surrogate "
                             "was sent)")) from None
    return value


TEXT_SCALARS = ("String", "ID")


class TextLiteralRule(ValidationRule):
    """Validation rule: every String/ID literal in the document passes :func:`check_text`."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        named = get_named_type(self.context.get_input_type())
        if named is None or named.name not in TEXT_SCALARS:
            return
        try:
            check_text(node.value)
        except InvalidInput as exc:
            self.report_error(GraphQLError(exc.message, node, original_error=exc))


def _check_value(value: Any, type_: GraphQLInputType | None) -> None:
    """Walk a raw variable value along its input type; check every String/ID in it."""
    nullable = get_nullable_type(type_) if type_ is not None else None
    if value is None or nullable is None:
        return
    if isinstance(nullable, GraphQLList):
        for item in value if isinstance(value, list) else [value]:
            _check_value(item, nullable.of_type)
    elif isinstance(nullable, GraphQLInputObjectType):
        if isinstance(value, dict):
            for key, item in value.items():
                field = nullable.fields.get(key)
                _check_value(item, field.type if field else None)
    elif (isinstance(nullable, GraphQLScalarType) and nullable.name in TEXT_SCALARS
          and isinstance(value, str)):
        check_text(value)


def check_variables(schema: GraphQLSchema, document: DocumentNode | None,
                    operation_name: str | None, variables: dict[str, Any] | None) -> None:
    """Raise InvalidInput when a String/ID inside the variables breaks :func:`check_text`.

    JSON-typed variables (a GeoJSON polygon) are left to their own checks.
    """
    if not variables or document is None:
        return
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None
                               or definition.name.value != operation_name):
            continue
        for var in definition.variable_definitions or ():
            name = var.variable.name.value
            if name in variables:
                type_ = type_from_ast(schema, var.type)
                _check_value(variables[name], type_ if is_input_type(type_) else None)


class InputLimits(SchemaExtension):
    """Checks the variables' strings before execution (literals: :class:`TextLiteralRule`)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        check_variables(context.schema._schema, context.graphql_document,
                        context.operation_name, context.variables)
        yield


def check_vertex_count(data: Any) -> None:
    """Refuse GeoJSON (already decoded) whose coordinates hold too many positions."""
    count = 0
    stack = [data.get("coordinates") if isinstance(data, dict) else None]
    while stack:
        item = stack.pop()
        if not isinstance(item, list) or not item:
            continue
        if not isinstance(item[0], list):  # a position [x, y(, z)]
            count += 1
            if count > MAX_POLYGON_VERTICES:
                raise InvalidInput(_("a polygon may have at most {max_polygon_vertices:,} "
                                     "vertices", max_polygon_vertices=MAX_POLYGON_VERTICES))
            continue
        stack.extend(item)
    return None
