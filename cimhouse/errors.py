"""The one error family of cimhouse and its mapping to HTTP and GraphQL codes.

Every expected failure raises a subclass of :class:`CimhouseError`. Its ``message`` is safe
to show to a caller: it never carries SQL, stack traces or personal data. The table
:data:`ERROR_CODES` is the single place that says how each error surfaces at the edges.
"""

from __future__ import annotations


class CimhouseError(Exception):
    """Base of all expected failures; ``message`` is safe to show to callers."""

    def __init__(self, message: str, *, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class InvalidInput(CimhouseError):
    """The caller sent something malformed (bad code, bad ID number, bad file)."""


class NotFound(CimhouseError):
    """The object does not exist, or lies outside the caller's scope (indistinguishable)."""


class Conflict(CimhouseError):
    """The operation contradicts the current state (already retired, duplicate, ...)."""


class PermissionDenied(CimhouseError):
    """The principal lacks the role for this operation."""


class Unauthenticated(CimhouseError):
    """No valid token was presented."""


class DatabaseUnavailable(CimhouseError):
    """The database could not be reached or started."""


class TimedOut(CimhouseError):
    """A statement of the request ran into the statement timeout; nothing it did was kept."""


class PayloadTooLarge(CimhouseError):
    """The request body exceeds the size the API accepts."""


class QueryTooExpensive(CimhouseError):
    """The estimated cost of a query (page sizes along its nesting) exceeds the budget."""


class DeadlineExceeded(TimedOut):
    """The request used up its time budget (one deadline for all its SQL)."""


class ConfigurationError(CimhouseError):
    """Settings or the environment are inconsistent (missing binary, bad key, ...)."""


# error class -> (HTTP status, GraphQL extensions code)
ERROR_CODES: dict[type[CimhouseError], tuple[int, str]] = {
    InvalidInput: (422, "BAD_USER_INPUT"),
    NotFound: (404, "NOT_FOUND"),
    Conflict: (409, "CONFLICT"),
    PermissionDenied: (403, "FORBIDDEN"),
    Unauthenticated: (401, "UNAUTHENTICATED"),
    DatabaseUnavailable: (503, "SERVICE_UNAVAILABLE"),
    TimedOut: (504, "TIMEOUT"),
    PayloadTooLarge: (413, "PAYLOAD_TOO_LARGE"),
    QueryTooExpensive: (400, "QUERY_TOO_EXPENSIVE"),
    ConfigurationError: (500, "INTERNAL_SERVER_ERROR"),
    CimhouseError: (400, "BAD_REQUEST"),
}


def error_code(error: CimhouseError) -> tuple[int, str]:
    """Return (HTTP status, GraphQL code) for an error, walking its class hierarchy."""
    for cls in type(error).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]  # type: ignore[index]
    return ERROR_CODES[CimhouseError]
