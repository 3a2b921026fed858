"""The Citus plans of the statements a use case really sends (EXPLAIN's task counts).

A use case that writes a reference table (``person``, ``import_run``, ``job``) uses Citus's
local execution, and after that Citus refuses an EXPLAIN in the same transaction ("cannot
switch local execution status"). So :func:`record` only notes, on the use case's own
connection, every statement with its parameters and the shape of every temporary table it
creates (``stage_register``, ``stage_house``, ...); :func:`explain_recorded` then creates those
temporary tables (empty) on a second connection and EXPLAINs each recorded statement there.
The task counts depend on the shards Citus prunes to, not on the rows.

Example::

    recording = record(session, lambda: import_register(session, path, vault=VAULT))
    for sent in explain_recorded(engine, recording, ("house",)):
        sent.tasks     # [1]: one task per county shard the statement touches
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

_TEMP_TABLES = """
    SELECT c.relname, string_agg(quote_ident(a.attname) || ' '
                                 || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                                       AND NOT a.attisdropped
    WHERE c.relpersistence = 't' AND c.relkind = 'r' AND pg_table_is_visible(c.oid)
    GROUP BY c.relname"""
_TASKS = re.compile(r"Task Count: (\d+)")
_READS_OR_WRITES = ("SELECT", "WITH", "UPDATE", "INSERT", "DELETE")


@dataclass
class Recording:
    statements: list[tuple[str, Any]] = field(default_factory=list)
    temp_tables: dict[str, str] = field(default_factory=dict)  # name -> column definitions


@dataclass
class Explained:
    statement: str
    plan: str

    @property
    def tasks(self) -> list[int]:
        """Every ``Task Count`` of the plan (subplans included)."""
        return [int(n) for n in _TASKS.findall(self.plan)]

    def short(self) -> str:
        return " ".join(self.statement.split())[:160]


def record(session: Session, run: Callable[[], object]) -> Recording:
    """The statements ``run`` sends on the session's connection, and its temporary tables."""
    recording = Recording()
    connection = session.connection()

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        recording.statements.append((statement, parameters))

    def after(_conn: Any, cursor: Any, *_: Any) -> None:
        # a catalog read on the same connection: no Citus involved; tables made through the
        # driver connection (COPY staging) show up at the next statement
        with cursor.connection.cursor() as catalog:
            for name, columns in catalog.execute(_TEMP_TABLES):
                recording.temp_tables.setdefault(name, columns)

    event.listen(connection, "before_cursor_execute", before)
    event.listen(connection, "after_cursor_execute", after)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", before)
        event.remove(connection, "after_cursor_execute", after)
    return recording


def explain_recorded(engine: Engine, recording: Recording,
                     tables: tuple[str, ...]) -> list[Explained]:
    """EXPLAIN (on a second connection, with the recorded temporary tables created empty)
    each recorded statement that names one of ``tables``."""
    pattern = re.compile(r"\b(?:" + "|".join(tables) + r")\b")
    explained: list[Explained] = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        for name, columns in recording.temp_tables.items():
            raw.execute(f"CREATE TEMP TABLE {name} ({columns})")
        for statement, parameters in recording.statements:
            if (statement.split(None, 1)[0].upper() not in _READS_OR_WRITES
                    or not pattern.search(statement)):
                continue
            # parameters bound client-side: Citus plans a parameterised EXPLAIN generically
            # (and refuses some), while it resolves the parameters of the statement itself
            with psycopg.ClientCursor(raw) as cursor:
                rows = cursor.execute("EXPLAIN " + statement, parameters).fetchall()
            explained.append(Explained(statement, "\n".join(str(row[0]) for row in rows)))
        conn.rollback()
    return explained
