"""The one error family of cimhouse and its mapping to HTTP, GraphQL and CLI exit codes.

Every expected failure raises a subclass of :class:`CimhouseError`. Its ``message`` is safe
to show to a caller: it never carries SQL, stack traces or personal data. The table
:data:`ERROR_CODES` is the single place that says how each error surfaces at the edges;
database integrity errors become these errors in :mod:`cimhouse.db.integrity`.

CLI exit codes: 0 done; 1 done, but some rows or objects were rejected (or some inputs are
invalid, the listing says which); 2 only for Click's own usage errors (unknown option, missing
argument); 3 ``db status``: the embedded cluster is not running; 4-9 a domain error, by class:

    >>> exit_code(NotFound("no such house")), exit_code(CimhouseError("x"))
    (5, 4)
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


#: CLI exit codes that are not errors (see the module docstring for the whole list)
EXIT_OK = 0
EXIT_REJECTED = 1  # the command finished; some rows, objects or inputs were refused
EXIT_USAGE = 2  # Click's code for a command line it cannot parse; never a domain error
EXIT_NOT_RUNNING = 3  # ``db status``: the embedded cluster is not running

# error class -> (HTTP status, GraphQL extensions code, CLI exit code)
ERROR_CODES: dict[type[CimhouseError], tuple[int, str, int]] = {
    InvalidInput: (422, "BAD_USER_INPUT", 4),
    NotFound: (404, "NOT_FOUND", 5),
    Conflict: (409, "CONFLICT", 6),
    PermissionDenied: (403, "FORBIDDEN", 7),
    Unauthenticated: (401, "UNAUTHENTICATED", 7),
    DatabaseUnavailable: (503, "SERVICE_UNAVAILABLE", 8),
    TimedOut: (504, "TIMEOUT", 8),
    PayloadTooLarge: (413, "PAYLOAD_TOO_LARGE", 4),
    QueryTooExpensive: (400, "QUERY_TOO_EXPENSIVE", 4),
    ConfigurationError: (500, "INTERNAL_SERVER_ERROR", 9),
    CimhouseError: (400, "BAD_REQUEST", 4),
}


def _codes(error: CimhouseError) -> tuple[int, str, int]:
    for cls in type(error).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]
    return ERROR_CODES[CimhouseError]


def error_code(error: CimhouseError) -> tuple[int, str]:
    """Return (HTTP status, GraphQL code) for an error, walking its class hierarchy."""
    status, code, _ = _codes(error)
    return status, code


def exit_code(error: CimhouseError) -> int:
    """The CLI exit code of an error (4-9), walking its class hierarchy."""
    return _codes(error)[2]
