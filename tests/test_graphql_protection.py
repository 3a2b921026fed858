"""Error safety and the per-request statement timeout, with real database errors."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from cimhouse.db import make_engine
from cimhouse.errors import NotFound
from cimhouse.graphql.protection import INTERNAL_MESSAGE, TIMEOUT_MESSAGE, log_errors, safe_error
from cimhouse.settings import Settings


def _db_error(engine: Engine, sql: str) -> DBAPIError:
    with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text(sql))
    return caught.value


def test_statement_timeout_becomes_a_safe_message(engine: Engine,
                                                  test_settings: Settings) -> None:
    timed = make_engine(test_settings, url=engine.url.render_as_string(hide_password=False),
                        statement_timeout_ms=50)
    try:
        error = _db_error(timed, "SELECT pg_sleep(2)")
    finally:
        timed.dispose()
    shown = safe_error(GraphQLError("raw", path=["houses"], original_error=error))
    assert shown.message == TIMEOUT_MESSAGE
    assert "pg_sleep" not in str(shown.formatted)


def test_sql_errors_are_masked_and_logged_without_text(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    secret = "330402199001011234"
    error = _db_error(engine, f"SELECT * FROM no_such_table WHERE x = '{secret}'")
    raw = GraphQLError(str(error), path=["person"], original_error=error)
    shown = safe_error(raw)
    assert shown.message == INTERNAL_MESSAGE
    assert shown.extensions == {"code": "INTERNAL_SERVER_ERROR", "message_en": "internal error",
                                "message_zh": "内部错误"}
    with caplog.at_level(logging.DEBUG, logger="cimhouse.graphql"):
        log_errors([raw])
    assert "ProgrammingError" in caplog.text
    assert secret not in caplog.text
    assert "no_such_table" not in caplog.text


def test_expected_errors_keep_their_message_and_code() -> None:
    shown = safe_error(GraphQLError("x", path=["node"], original_error=NotFound("no house")))
    assert shown.message == "no house"
    assert shown.extensions == {"code": "NOT_FOUND"}
