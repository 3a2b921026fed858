"""Expected failures of mutations as schema types, and the helper that produces them.

Every mutation returns a union of its success payload and these error types, so clients see
in the schema which failures can happen. A failed mutation rolls back to its savepoint;
other mutations of the same request are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.orm import Session

from cimhouse.db.integrity import integrity_error, is_integrity_error
from cimhouse.errors import (
    CimhouseError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    error_code,
)

T = TypeVar("T")


@strawberry.interface(description="An expected failure with a safe message and a code.")
class UserError:
    message: str
    code: str


@strawberry.type(description="The input is malformed.")
class InvalidInputError(UserError):
    pass


@strawberry.type(description="The object does not exist or lies outside your scope.")
class NotFoundError(UserError):
    pass


@strawberry.type(description="The operation contradicts the current state.")
class ConflictError(UserError):
    pass


@strawberry.type(description="Your token lacks the role for this operation.")
class ForbiddenError(UserError):
    pass


ERROR_TYPES: list[tuple[type[CimhouseError], Any]] = [
    (InvalidInput, InvalidInputError), (NotFound, NotFoundError), (Conflict, ConflictError),
    (PermissionDenied, ForbiddenError)]


ErrorType = InvalidInputError | NotFoundError | ConflictError | ForbiddenError


def as_user_error(exc: CimhouseError) -> ErrorType:
    for cls, gql in ERROR_TYPES:
        if isinstance(exc, cls):
            return gql(message=exc.message, code=error_code(exc)[1])  # type: ignore[no-any-return]
    raise exc


def run_mutation(session: Session, action: Callable[[], T]) -> T | ErrorType:
    """Run ``action`` in a savepoint; an expected failure rolls it back and becomes a type."""
    savepoint = session.begin_nested()
    try:
        result = action()
        session.flush()
    except CimhouseError as exc:
        savepoint.rollback()
        return as_user_error(exc)
    except BaseException as exc:
        savepoint.rollback()
        if is_integrity_error(exc):
            return as_user_error(integrity_error(exc))
        raise
    savepoint.commit()
    return result
