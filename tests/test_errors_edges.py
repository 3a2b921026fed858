"""Errors at the edges (issue 14 point 2): one integrity translator, one exit-code table."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cimhouse.cli.common import handle_errors
from cimhouse.db.integrity import integrity_error
from cimhouse.errors import (
    ERROR_CODES,
    EXIT_NOT_RUNNING,
    EXIT_REJECTED,
    EXIT_USAGE,
    CimhouseError,
    Conflict,
    InvalidInput,
    exit_code,
)
from cimhouse.graphql.results import ConflictError, InvalidInputError, run_mutation
from cimhouse.schema import ApiPrincipal


def _principal(name: str) -> ApiPrincipal:
    return ApiPrincipal(name=name, scope_code="330402", scope_level=3, roles=["reader"],
                        token_hash=name.encode().ljust(32, b"-"))


def test_domain_errors_never_exit_with_clicks_usage_code() -> None:
    exits = {cls: codes[2] for cls, codes in ERROR_CODES.items()}
    assert all(4 <= code <= 9 for code in exits.values()), exits
    assert EXIT_USAGE not in exits.values()
    assert {EXIT_REJECTED, EXIT_NOT_RUNNING}.isdisjoint(exits.values())
    assert exit_code(Conflict("x")) == 6
    assert exit_code(CimhouseError("x")) == 4


def test_a_unique_violation_becomes_a_conflict(session: Session) -> None:
    session.add(_principal("twice"))
    session.flush()
    savepoint = session.begin_nested()
    session.add(_principal("twice"))
    with pytest.raises(IntegrityError) as caught:
        session.flush()
    savepoint.rollback()
    error = integrity_error(caught.value)
    assert isinstance(error, Conflict)
    assert error.message == "a principal with this name already exists"
    assert "INSERT" not in error.message
    assert "twice" not in error.message


class _CitusDiag:
    """The fields of an error Citus passed on from a worker: no constraint name."""

    constraint_name = None

    def __init__(self, message: str) -> None:
        self.message_primary = message


class _CitusError(Exception):
    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate, self.diag = sqlstate, _CitusDiag(message)


@pytest.mark.parametrize(("sqlstate", "message", "expected"), [
    ("23505", 'duplicate key value violates unique constraint "uq_api_principal_name_102010"',
     (Conflict, "a principal with this name already exists")),
    ("23514", 'new row for relation "api_principal_102010" violates check constraint '
              '"ck_api_principal_scope_level"', (InvalidInput, "unknown scope level")),
    ("23505", 'duplicate key value violates unique constraint "not_ours_7"',
     (Conflict, "the object already exists")),
])
def test_a_constraint_named_only_in_the_message_is_translated(
        sqlstate: str, message: str, expected: tuple[type[CimhouseError], str]) -> None:
    """Citus reports a reference table's constraint in the message only (the error's
    constraint field is empty; found running this file on Citus)."""
    error = integrity_error(IntegrityError("INSERT ...", {}, _CitusError(sqlstate, message)))
    assert (type(error), error.message) == expected


def test_a_duplicate_is_recognised_also_as_citus_passes_it_on() -> None:
    """A COPY into a Citus table reports a duplicate key as an internal error (XX000) with
    the worker's message; the readings ingester then takes its staged way (found running
    tests/test_safety.py on Citus)."""
    import psycopg

    from cimhouse.db.integrity import is_unique_violation

    assert is_unique_violation(psycopg.errors.UniqueViolation("duplicate"))
    assert is_unique_violation(psycopg.errors.InternalError_(
        'duplicate key value violates unique constraint "device_reading_202611_pkey_102108"'))
    assert not is_unique_violation(psycopg.errors.InternalError_("cannot plan this"))
    assert not is_unique_violation(psycopg.errors.CheckViolation("duplicate key value"))


def test_a_check_violation_becomes_invalid_input(session: Session) -> None:
    with pytest.raises(IntegrityError) as caught, session.begin_nested():
        session.execute(text("INSERT INTO api_principal (name, scope_code, scope_level, roles,"
                             " token_hash) VALUES ('x', '33', 9, '{}', 'x')"))
    error = integrity_error(caught.value)
    assert isinstance(error, InvalidInput)
    assert error.message == "unknown scope level"


def test_mutations_answer_an_integrity_error_with_its_type(session: Session) -> None:
    session.add(_principal("taken"))
    session.flush()

    def create() -> ApiPrincipal:
        row = _principal("taken")
        session.add(row)
        session.flush()
        return row

    answer = run_mutation(session, create)
    assert isinstance(answer, ConflictError)
    assert answer.code == "CONFLICT"
    assert "already exists" in answer.message
    # the savepoint was rolled back: the session goes on
    bad = run_mutation(session, lambda: session.execute(text(
        "UPDATE api_principal SET scope_level = 0")))
    assert isinstance(bad, InvalidInputError)
    assert session.execute(text("SELECT count(*) FROM api_principal WHERE name = 'taken'")
                           ).scalar_one() == 1


def test_the_cli_exits_with_the_code_of_the_translated_error(session: Session) -> None:
    session.add(_principal("dup"))
    session.flush()

    @handle_errors
    def command() -> None:
        with session.begin_nested():
            session.add(_principal("dup"))
            session.flush()

    with pytest.raises(typer.Exit) as caught:
        command()
    assert caught.value.exit_code == exit_code(Conflict("")) == 6


class _Diag:
    constraint_name = "uq_api_principal_name_102010"  # as Citus names the shard's constraint


class _ShardViolation(Exception):
    sqlstate, diag = "23505", _Diag()


def test_a_shard_constraint_is_translated_as_its_table_constraint() -> None:
    error = integrity_error(IntegrityError("INSERT ...", {}, _ShardViolation()))
    assert isinstance(error, Conflict)
    assert error.message == "a principal with this name already exists"
