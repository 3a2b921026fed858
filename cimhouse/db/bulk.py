"""Bulk helpers: COPY rows into a table inside the caller's transaction.

Bulk paths load rows with ``COPY`` into a temporary staging table and then apply set-based
SQL; row-by-row ORM inserts are ~20x slower.

Rows can also be encoded to COPY text lines elsewhere (a worker process) with
:func:`copy_text_line` and streamed with :func:`copy_stream`.

Example::

    create_staging(session, "stage_region", "code text, name text")
    copy_rows(session, "stage_region", ["code", "name"], [("33", "浙江省")])
    with copy_stream(session, "stage_region", ["code", "name"]) as copy:
        copy.write(copy_text_line(("3304", "嘉兴市")))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import CursorResult, Executable
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's current transaction."""
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


def create_staging(session: Session, name: str, columns_sql: str) -> None:
    """Create (or empty) a temporary table that disappears with the transaction."""
    conn = driver_connection(session)
    conn.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DROP").format(
            sql.Identifier(name), sql.SQL(columns_sql)
        )
    )
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(name)))


def copy_rows(session: Session, table: str, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``table(columns)``; return the number of rows written."""
    conn = driver_connection(session)
    count = 0
    with conn.cursor() as cur, cur.copy(_copy_statement(table, columns)) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _copy_statement(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


@contextmanager
def copy_stream(session: Session, table: str, columns: Sequence[str]
                ) -> Iterator[psycopg.Copy]:
    """An open ``COPY table(columns) FROM STDIN`` (text format); write encoded lines to it."""
    conn = driver_connection(session)
    with conn.cursor() as cur, cur.copy(_copy_statement(table, columns)) as copy:
        yield copy


# COPY text format: backslash, tab, newline and carriage return are escaped in a field.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_field(value: Any) -> str:
    """One value as a COPY text field: NULL is ``\\N``, bytes are bytea hex."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def copy_text_line(row: Sequence[Any]) -> str:
    """A row as one COPY text line, newline included."""
    return "\t".join([copy_text_field(v) for v in row]) + "\n"


def execute_count(session: Session, statement: Executable,
                  params: dict[str, Any] | None = None) -> int:
    """Execute a DML statement and return the number of rows it touched."""
    result = session.execute(statement, params or {})
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def staged_counties(session: Session, table: str) -> tuple[str, ...]:
    """The counties of the rows staged in ``table`` (a temporary table with ``county``)."""
    return tuple(session.execute(sql_text(
        f"SELECT DISTINCT county FROM {table} WHERE county IS NOT NULL ORDER BY 1")).scalars())


def county_in(alias: str, counties: Sequence[str]) -> str:
    """``alias.county IN ('330402', ...)``: the staged rows' counties as a literal predicate
    on a distributed table that a statement joins to a temporary staging table.

    A join to a temporary table carries no county Citus can see: without the predicate the
    distributed side is read on every shard (at 1,000,000 register rows, 20-130 s per
    statement on 32 shards; bench/bench_citus.py). With the literal list Citus prunes to the
    shards of these counties (EXPLAIN: one task per county shard). Plain PostgreSQL reads
    the same rows through the primary key's leading column. No counties (every row was
    rejected): ``''``, a county no row has; ``false`` would prune every shard, and Citus
    refuses a join pruned to none ("recursive complex joins are only supported ...").

    >>> county_in("h", ("330402", "330411"))
    "h.county IN ('330402', '330411')"
    """
    return f"{alias}.county IN ({', '.join(_literal(c) for c in counties or ('',))})"


def _literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings, PostgreSQL's default)."""
    return "'" + value.replace("'", "''") + "'"
