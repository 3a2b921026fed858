"""What protects the endpoint: safe errors, the request transaction, size limits.

- :class:`SafeErrors` rewrites every error: a :class:`~cimhouse.errors.CimhouseError` keeps its
  (safe) message and gets its code from the one table in :mod:`cimhouse.errors`; anything else
  raised while resolving (SQL, bugs) becomes "internal error" — no SQL, no internal text.
- :class:`RequestTransaction` commits the request's session after the operation (audit rows
  of reads included) and reports a failed commit as an error instead of a false success.
  A transaction that a failed statement aborted (e.g. a statement timeout in a nested field)
  would "commit" as a silent ROLLBACK, losing the audit rows of full reads: such a request
  answers ``data: null`` with its errors, so personal data never leaves without its audit.
- Depth, token and alias limits are strawberry's validators, built fresh per request; string
  arguments are checked by :mod:`cimhouse.graphql.input_limits` (length, NUL, surrogates).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from psycopg.pq import TransactionStatus
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from cimhouse.db.bulk import driver_connection
from cimhouse.errors import CimhouseError, TimedOut, error_code
from cimhouse.graphql.input_limits import InputLimits, TextLiteralRule
from cimhouse.i18n import Message, _, current_language, render, translate

log = logging.getLogger("cimhouse.graphql")

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 30
INTERNAL_MESSAGE = _("internal error")
TIMEOUT_MESSAGE = _("the request exceeded the time limit; ask for less (smaller pages, "
                    "narrower filters)")


def _timed_out(error: BaseException | None) -> bool:
    orig = getattr(error, "orig", None)
    return isinstance(error, DBAPIError) and getattr(orig, "sqlstate", None) == "57014"


def both_languages(message: str) -> dict[str, str]:
    """``{"message_zh": ..., "message_en": ...}`` of a message we wrote (a
    :class:`cimhouse.i18n.Message` or a catalog text); nothing for others (graphql-core's)."""
    if isinstance(message, Message):
        return {"message_zh": message.render("zh"), "message_en": message.render("en")}
    zh = translate(message, "zh")
    return {"message_zh": zh, "message_en": message} if zh != message else {}


def safe_error(error: GraphQLError) -> GraphQLError:
    """The error as a caller may see it (message, ``extensions.code`` and, for our own
    messages, ``extensions.message_zh`` / ``message_en``); ``message`` is in the request's
    language (``Accept-Language``, :mod:`cimhouse.api.language`)."""
    original = error.original_error
    if isinstance(original, CimhouseError):
        message, code = original.message, error_code(original)[1]
    elif isinstance(error, GraphQLSyntaxError):
        message, code = error.message, "GRAPHQL_PARSE_FAILED"
    elif (original is None or isinstance(original, GraphQLError)) and not error.path:
        # Parse/validation/variable-coercion errors name only parts of the caller's own
        # query (graphql-core wraps a missing or mistyped variable in a second GraphQLError).
        message, code = error.message, "GRAPHQL_VALIDATION_FAILED"
    elif _timed_out(original):
        message, code = TIMEOUT_MESSAGE, error_code(TimedOut(TIMEOUT_MESSAGE))[1]
    elif original is None:
        message, code = error.message, "BAD_REQUEST"
    else:
        message, code = INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR"
    return GraphQLError(message=render(message, current_language())
                        if isinstance(message, Message) else translate(message),
                        nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, original_error=None,
                        extensions={"code": code, **both_languages(message)})


class SafeErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return safe_error(error)

    def on_operation(self) -> Iterator[None]:
        try:
            yield from super().on_operation()
        except GraphQLError as error:
            # ParserCache parses inside its hook (and InputLimits checks inside on_execute),
            # so their errors are raised through the operation instead of landing in its
            # result: give them their code here.
            raise safe_error(error) from None
        except CimhouseError as error:
            raise safe_error(GraphQLError(error.message, original_error=error)) from None


def transaction_failed(session: Session) -> bool:
    """True when a failed statement aborted the session's transaction (COMMIT would only
    roll it back, silently)."""
    if not session.in_transaction():
        return False
    status = driver_connection(session).info.transaction_status
    return status == TransactionStatus.INERROR


class RequestTransaction(SchemaExtension):
    """Commit the request session after the operation; a failed commit is an error."""

    def on_operation(self) -> Iterator[None]:
        yield
        context: Any = self.execution_context.context
        session = getattr(context, "session", None)
        if session is None:
            return
        try:
            if not transaction_failed(session):
                session.commit()
                return
            session.rollback()
            # The statement that aborted the transaction has its error in the result already.
            cause: Exception = RuntimeError("the request transaction was aborted")
            append = False
        except SQLAlchemyError as exc:
            session.rollback()
            log.warning("request commit failed: %s", type(exc).__name__)
            cause, append = exc, True
        # Nothing of the request was kept (audit rows of full reads included): withhold all
        # data and say why.
        result = self.execution_context.result
        if result is not None:
            result.data = None
            earlier = list(getattr(result, "errors", None) or [])
            if append or not earlier:
                earlier.append(GraphQLError(INTERNAL_MESSAGE, original_error=cause))
            result.errors = earlier


# The depth and alias rules are built ONCE: strawberry's limiter extensions create a new rule
# class per instance, which would defeat the validation cache (its key includes the rules).
LIMIT_RULES = (*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
               *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
               TextLiteralRule)


class LimitRules(SchemaExtension):
    """Adds the depth and alias limit rules (the same classes on every request)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, *LIMIT_RULES)
        yield


def limit_extensions() -> list[Any]:
    """Limiters and caches (strawberry 0.341 wants classes or factories, not instances)."""
    return [
        LimitRules,
        InputLimits,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Clients repeat the same few documents: parse and validate each one once.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]


def log_errors(errors: list[GraphQLError]) -> None:
    """Log error kinds and paths only: messages of unexpected errors may hold SQL or data."""
    for error in errors:
        original = error.original_error
        kind = type(original).__name__ if original is not None else "GraphQLError"
        if original is None or isinstance(original, CimhouseError | GraphQLError):
            continue
        log.error("resolver failed: %s at %s", kind, ".".join(map(str, error.path or [])))
