"""Plans: prepared documents, the plan cache, binding and running one statement.

:class:`CompiledReads` is what the HTTP edge holds (one per app). For a request it

1. parses and validates the document once per text (cached, with the same depth, alias and
   token limits as the resolver path) — an invalid document goes to the resolver path,
   which reports the errors;
2. coerces the variables (errors: resolver path);
3. finds a plan cached per (document, operation, roles, scope level) whose guards agree
   with these variables, or compiles one;
4. binds the parameters; a value the resolver path would refuse falls back.

:meth:`run` executes the statement on the request's session (in a worker thread, see
:mod:`cimhouse.graphql.compiled.edge`) and returns the ``data`` JSON text untouched.
Fallbacks are counted in :attr:`CompiledReads.stats` and logged with their reason.

Example::

    reads = CompiledReads(schema._schema, settings)
    ready = reads.prepare(query, variables, operation_name, principal)
    if isinstance(ready, Bound):
        text = reads.run(ready, session, deadline)
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
)
from graphql.execution.values import get_variable_values
from sqlalchemy import Engine, text
from sqlalchemy.exc import NotSupportedError
from sqlalchemy.orm import Session
from strawberry.schema.schema import validate_document

from cimhouse.auth.principal import Principal
from cimhouse.db.distribute import citus_version
from cimhouse.graphql.compiled import people as _people  # registers Person types
from cimhouse.graphql.compiled.compiler import Binder, Compiler, Env, Fallback, NotCompilable
from cimhouse.graphql.compiled.cost import estimate_cost
from cimhouse.graphql.compiled.reveal import reveal
from cimhouse.graphql.compiled.roots import compile_operation
from cimhouse.graphql.protection import LIMIT_RULES, MAX_TOKENS
from cimhouse.settings import Settings

log = logging.getLogger("cimhouse.graphql.compiled")
MAX_PLANS = 1024
MAX_VARIANTS = 16
_ = _people


@dataclass(frozen=True)
class Plan:
    sql: str
    params: tuple[tuple[str, Binder], ...]
    guards: tuple[tuple[Binder, Hashable], ...]
    reveals_pii: bool

    def matches(self, env: Env) -> bool:
        try:
            return all(fn(env) == expected for fn, expected in self.guards)
        except (Fallback, KeyError, TypeError, ValueError):
            return False


@dataclass
class Bound:
    """A plan with this request's parameter values."""

    plan: Plan
    params: dict[str, Any]
    env: Env


@dataclass
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode


@dataclass
class Stats:
    compiled: int = 0
    fallback: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"compiled": self.compiled, "fallback": self.fallback,
                "reasons": dict(self.reasons.most_common(50))}


@lru_cache(maxsize=512)
def _parse_and_validate(schema: GraphQLSchema, query: str) -> DocumentNode | None:
    """The document when it parses and validates under the limits, else None."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    errors = validate_document(schema, document, (*specified_rules, *LIMIT_RULES))
    return None if errors else document


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name and o.name.value == name), None)


def principal_shape(principal: Principal) -> Hashable:
    scope = principal.scope
    return (principal.effective_roles, scope.level,
            not scope.is_estate and set(scope.code) == {"9"}, bool(scope.county_keys))


class CompiledReads:
    """Compiled query plans of one app, with the fallback counters."""

    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.stats = Stats()
        self._plans: OrderedDict[Hashable, list[Plan]] = OrderedDict()
        self._lock = threading.Lock()
        self._citus: dict[str, bool] = {}  # per database URL: does it run Citus?

    def document(self, query: str | None, operation_name: str | None) -> Prepared | None:
        if not query:
            return None
        document = _parse_and_validate(self.schema, query)
        if document is None:
            return None
        operation = _operation(document, operation_name)
        return None if operation is None else Prepared(document, operation)

    def variables(self, prepared: Prepared, raw: dict[str, Any] | None) -> Any:
        """Coerced variables, or None when coercion fails (the resolver path reports it)."""
        coerced = get_variable_values(self.schema, prepared.operation.variable_definitions or (),
                                      raw or {})
        return None if isinstance(coerced, list) else coerced

    def fallback(self, reason: str) -> None:
        with self._lock:
            self.stats.fallback += 1
            self.stats.reasons[reason] += 1
        log.info("graphql fallback to resolvers: %s", reason)

    def bind(self, query: str, prepared: Prepared, variables: Any,
             principal: Principal) -> Bound | None:
        """A bound plan, or None after counting a fallback."""
        if prepared.operation.operation.value != "query":
            return None  # mutations keep the resolver path (not a fallback)
        env = Env(variables=variables, principal=principal, settings=self.settings,
                  today=dt.date.today(), nonce="pii-" + secrets.token_hex(12))
        name = prepared.operation.name.value if prepared.operation.name else None
        key = (query, name, principal_shape(principal))
        try:
            plan = self._find(key, env) or self._compile(key, prepared, env)
            params = {pname: fn(env) for pname, fn in plan.params}
        except (NotCompilable, Fallback) as exc:
            self.fallback(exc.reason)
            return None
        with self._lock:
            self.stats.compiled += 1
        return Bound(plan, params, env)

    def _find(self, key: Hashable, env: Env) -> Plan | None:
        with self._lock:
            variants = self._plans.get(key)
            if variants is not None:
                self._plans.move_to_end(key)
        return next((p for p in variants or () if p.matches(env)), None)

    def _compile(self, key: Hashable, prepared: Prepared, env: Env) -> Plan:
        compiler = Compiler(self.schema, prepared.document, prepared.operation, env)
        sql = compile_operation(compiler)
        plan = Plan(sql, tuple(compiler.params), tuple(compiler.guards), compiler.reveals_pii)
        with self._lock:
            variants = self._plans.setdefault(key, [])
            variants.insert(0, plan)
            del variants[MAX_VARIANTS:]
            while len(self._plans) > MAX_PLANS:
                self._plans.popitem(last=False)
        return plan

    def check_cost(self, prepared: Prepared, variables: Any) -> None:
        """Raise ``QueryTooExpensive`` when the operation is over budget (before any SQL)."""
        estimate_cost(self.schema, prepared.document, prepared.operation, variables,
                      self.settings)

    @staticmethod
    def run_sql(sql: str, params: dict[str, Any], session: Session,
                timeout_ms: int) -> str | None:
        """The statement's JSON text in the session's transaction (not committed), or None
        when it returned no row (a guard refused it)."""
        conn = session.connection()
        conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"),
                     {"ms": str(max(1, timeout_ms))})
        value = conn.exec_driver_sql(sql, params).scalar_one_or_none()
        return None if value is None else str(value)

    def run(self, bound: Bound, session: Session, timeout_ms: int) -> str | None:
        """Run the statement (and the audit of revealed numbers), commit, return data JSON.

        None when Citus refuses to plan the statement (nested lateral pages over shards of
        several counties, for instance): a counted fallback, the resolver path answers in a
        new transaction (the refusal comes from the planner, before anything ran; Citus
        cannot roll back to a savepoint after it, so the transaction is rolled back).
        """
        try:
            data = self.run_sql(bound.plan.sql, bound.params, session, timeout_ms)
        except NotSupportedError as exc:
            if not self._on_citus(session):
                raise
            self.citus_refused(exc.orig or exc)
            return None
        assert data is not None  # a FROM-less SELECT without a guard returns one row
        if bound.plan.reveals_pii:
            data = reveal(data, bound.env, session)  # commits the audit rows first
        else:
            session.commit()
        return data

    def citus_refused(self, exc: BaseException) -> None:
        """Count a statement Citus refused to plan as a fallback (not as compiled)."""
        with self._lock:
            self.stats.compiled -= 1
        self.fallback("citus: " + str(exc).splitlines()[0])

    def on_citus(self, engine: Engine) -> bool:
        """Whether ``engine``'s database runs Citus (looked up once per URL)."""
        key = engine.url.render_as_string()
        known = self._citus.get(key)
        if known is None:
            with engine.connect() as conn:
                known = self._citus[key] = citus_version(conn) is not None
        return known

    def _on_citus(self, session: Session) -> bool:
        """Whether the session's database runs Citus (looked up once per URL, after a
        rollback of the failed transaction)."""
        session.rollback()
        bind = session.get_bind()
        key = bind.engine.url.render_as_string()
        known = self._citus.get(key)
        if known is None:
            known = self._citus[key] = citus_version(session.connection()) is not None
            session.rollback()
        return known
