"""The compiler's state: parameters, guards, field collection and argument access.

A :class:`Compiler` walks one validated operation for one principal *shape* (roles and scope
level) and emits SQL text with named parameters. Two kinds of record make the result
reusable for other variable values:

- a **parameter** (:meth:`Compiler.param`) is a function of the request (:class:`Env`) that
  yields a bound value: ``%(p3)s`` in the SQL, ``p3 = fn(env)`` at execution;
- a **guard** (:meth:`Compiler.guard`) records a decision the compiler took on a variable's
  value (``after`` given or null, ``crs`` WGS84, ``@skip(if: $x)``...). A cached plan is
  used for a request only when every guard yields the same value again.

A field or argument the compiler does not know raises :class:`NotCompilable` (the whole
operation takes the resolver path); a value that the resolver path would refuse with an
error raises :class:`Fallback` at bind time, so that path produces the very same error.

Example::

    compiler = Compiler(schema, document, operation, env)
    sql = compiler.compile()          # SELECT json_build_object('houses', ...)::text
    params = {name: fn(env) for name, fn in compiler.params}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    visit,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
)
from graphql.language import Visitor

from cimhouse.auth.principal import Principal
from cimhouse.errors import CimhouseError
from cimhouse.schema.vocab import Role
from cimhouse.settings import Settings

#: json_build_object takes at most 100 arguments (50 keys)
MAX_KEYS = 50


class NotCompilable(Exception):
    """The operation uses something the compiler does not cover (compile time)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Fallback(Exception):
    """These variable values would make the resolver path answer with an error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Env:
    """One request: coerced variables, the principal, settings, today, the PII nonce."""

    variables: VariableValues
    principal: Principal
    settings: Settings
    today: dt.date
    nonce: str
    _args: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: values several parameters derive from (a canonical code...), computed once
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def args(self, field_def: GraphQLField, node: FieldNode) -> dict[str, Any]:
        key = id(node)
        found = self._args.get(key)
        if found is None:
            found = self._args[key] = get_argument_values(field_def, node, self.variables)
        return found

    def can(self, role: Role) -> bool:
        return self.principal.has(role)


Binder = Callable[[Env], Any]


class _HasVariable(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_variable(self, *_: Any) -> None:
        self.found = True


def uses_variables(node: Any) -> bool:
    visitor = _HasVariable()
    visit(node, visitor)
    return visitor.found


Collected = dict[str, list[FieldNode]]


class Compiler:
    """State of one compilation; the node compilers live in the sibling modules."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 operation: OperationDefinitionNode, env: Env) -> None:
        self.schema = schema
        self.operation = operation
        self.env = env
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.params: list[tuple[str, Binder]] = []
        self.guards: list[tuple[Binder, Hashable]] = []
        self.reveals_pii = False
        self._aliases = 0
        self._dynamic: dict[int, bool] = {}

    # -- names, parameters, guards ---------------------------------------------------------

    def alias(self, prefix: str = "t") -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def param(self, binder: Binder, cast: str) -> str:
        """A bound parameter computed per request, e.g. ``%(p3)s::text``."""
        name = f"p{len(self.params)}"
        self.params.append((name, binder))
        return f"%({name})s::{cast}"

    def principal_param(self, fn: Callable[[Principal], Any], cast: str) -> str:
        return self.param(lambda env: fn(env.principal), cast)

    def guard(self, fn: Binder) -> Any:
        """Decide on a request value now; the plan is reused only when ``fn`` agrees."""
        value = fn(self.env)
        self.guards.append((fn, value))
        return value

    def needs(self, role: Role) -> None:
        """The resolver path raises FORBIDDEN without ``role``: let it answer."""
        if not self.env.can(role):
            raise NotCompilable(f"needs {role.value}")

    # -- arguments ---------------------------------------------------------------------------

    def _is_dynamic(self, node: FieldNode) -> bool:
        key = id(node)
        if key not in self._dynamic:
            self._dynamic[key] = any(uses_variables(a) for a in node.arguments or ())
        return self._dynamic[key]

    def arg(self, field_def: GraphQLField, node: FieldNode, name: str,
            derive: Callable[[Any], Hashable] = lambda v: v) -> Any:
        """A structural decision on an argument (guarded when it comes from variables)."""
        if not self._is_dynamic(node):
            return derive(self.env.args(field_def, node).get(name))
        return self.guard(lambda env: derive(env.args(field_def, node).get(name)))

    def arg_param(self, field_def: GraphQLField, node: FieldNode, name: str,
                  transform: Callable[[Any], Any], cast: str) -> str:
        """An argument as a bound parameter (``transform`` may raise :class:`Fallback`)."""
        # Run it once now: a value the resolver path refuses falls back before any SQL.
        transform(self.env.args(field_def, node).get(name))
        return self.param(lambda env: transform(env.args(field_def, node).get(name)), cast)

    # -- selections --------------------------------------------------------------------------

    def _included(self, node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> bool:
        if not node.directives:
            return True

        def decide(env: Env) -> bool:
            skip = get_directive_values(GraphQLSkipDirective, node, env.variables)
            if skip is not None and skip.get("if") is True:
                return False
            include = get_directive_values(GraphQLIncludeDirective, node, env.variables)
            return not (include is not None and include.get("if") is False)

        if any(uses_variables(d) for d in node.directives):
            return bool(self.guard(decide))
        return decide(self.env)

    def _applies(self, type_name: str | None, runtime: GraphQLObjectType) -> bool:
        if type_name is None or type_name == runtime.name:
            return True
        condition = self.schema.get_type(type_name)
        return condition is not None and self.schema.is_sub_type(condition, runtime)  # type: ignore[arg-type]

    def collect(self, runtime: GraphQLObjectType,
                selection_sets: Iterable[SelectionSetNode | None]) -> Collected:
        """Fields by response key, in document order, fragments merged (spec CollectFields)."""
        out: Collected = {}
        seen: set[str] = set()

        def walk(selection_set: SelectionSetNode | None) -> None:
            if selection_set is None:
                return
            for sel in selection_set.selections:
                if not self._included(sel):  # type: ignore[arg-type]
                    continue
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    out.setdefault(key, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    cond = sel.type_condition.name.value if sel.type_condition else None
                    if self._applies(cond, runtime):
                        walk(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    fragment = self.fragments.get(name)
                    if name in seen or fragment is None:
                        continue
                    seen.add(name)
                    if self._applies(fragment.type_condition.name.value, runtime):
                        walk(fragment.selection_set)

        for selection_set in selection_sets:
            walk(selection_set)
        if len(out) > MAX_KEYS:
            raise NotCompilable("more than 50 fields in one selection")
        return out

    def sub(self, runtime: GraphQLObjectType, nodes: list[FieldNode]) -> Collected:
        return self.collect(runtime, [n.selection_set for n in nodes])


def checked(fn: Callable[[Any], Any], what: str = "") -> Callable[[Any], Any]:
    """Run a resolver-path validation; its error becomes a fallback (same error there)."""
    label = what or getattr(fn, "__name__", "input")

    def run(value: Any) -> Any:
        try:
            return fn(value)
        except CimhouseError:
            raise Fallback(f"input refused: {label}") from None
    return run


def object_sql(pairs: list[tuple[str, str]]) -> str:
    """``json_build_object('key', expr, ...)``; keys are GraphQL names (no quoting issue)."""
    return "json_build_object(" + ", ".join(f"'{k}', {e}" for k, e in pairs) + ")"


__all__ = ["Binder", "Collected", "Compiler", "Env", "Fallback", "NotCompilable", "checked",
           "object_sql", "uses_variables"]
