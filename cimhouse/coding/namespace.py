"""Code namespaces: the locks and counters that keep every issued number unique.

A code is issued under a *prefix*: the 12-digit community (estate numbers), community +
estate (15 digits, building numbers) or community + estate + building (19 digits, house
numbers). ``code_counter`` keeps the last number issued under each prefix. Whoever issues
codes first takes the transaction-scoped advisory lock of every county (the first 6 digits
of the prefixes) it will issue in, in ascending order (so two issuers never deadlock), then
reads and advances the counters. The lock is released by commit or rollback, also when the
process dies, so a killed job leaves neither a lock nor a half-issued number behind.

Example::

    lock_counties(session, {"330402"})
    numbers = allocate_numbers(session, "330402007024001", 2)   # e.g. [4, 5]
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict
from cimhouse.i18n import _

#: first key of the two-key advisory locks taken by code issuers ("CIMH")
LOCK_NAMESPACE = 0x43494D48
#: number of digits and largest number after a prefix of each length
NUMBER_FIELD = {12: (3, 999), 15: (4, 9999), 19: (5, 99999)}

#: SQL for the highest number already registered under ``:prefix`` (0 when none); uses the
#: index on code_registry.code through a digit range, valid under every collation.
REGISTERED_MAX_SQL = """
SELECT coalesce(max(substr(code, length(p) + 1, {width})::int), 0)
FROM code_registry, (SELECT CAST({prefix} AS text) AS p) AS arg
WHERE code >= rpad(p, 25, '0')
  AND code < rpad(lpad((p::numeric + 1)::text, length(p), '0'), 25, '0')
"""


#: MOD 11-2 weight of each body position (index 0 = position 1): 2**(25 - position) mod 11
WEIGHTS = [pow(2, 25 - position, 11) for position in range(1, 25)]


def digits_sum_sql(text_sql: str, length: int) -> str:
    """SQL: the weighted digit sum of a text of ``length`` digits at body positions 1..length.

    Used once per prefix; the per-row part is :func:`number_sum_sql`, integer arithmetic only
    (a full 24-digit text sum per row costs ~10 us, most of a million-code run).
    """
    return " + ".join(f"substr({text_sql}, {i + 1}, 1)::int * {WEIGHTS[i]}"
                      for i in range(length))


def number_sum_sql(number_sql: str, first_position: int, width: int) -> str:
    """SQL: the weighted digit sum of an integer written with ``width`` digits from
    body position ``first_position`` (1-based)."""
    terms = []
    for j in range(width):
        weight = WEIGHTS[first_position - 1 + j]
        terms.append(f"({number_sql} / {10 ** (width - 1 - j)} % 10) * {weight}")
    return " + ".join(terms)


def check_char_sql(sum_sql: str) -> str:
    """SQL: the MOD 11-2 check character from a weighted digit sum."""
    return f"substr('10X98765432', (({sum_sql}) % 11)::int + 1, 1)"


def registered_max_sql(prefix_sql: str, width: int) -> str:
    """A scalar subquery: the highest number registered under the prefix expression."""
    return "(" + REGISTERED_MAX_SQL.format(prefix=prefix_sql, width=width) + ")"


def require_read_committed(session: Session) -> None:
    """Issuers re-read rows after waiting for a lock, which needs READ COMMITTED."""
    level = session.execute(text("SHOW transaction_isolation")).scalar_one()
    if level != "read committed":
        raise Conflict(_("code issuing needs READ COMMITTED isolation, not {level}", level=level))


def lock_counties(session: Session, counties: Iterable[str]) -> list[str]:
    """Take the issuing lock of each county (6 digits) in ascending order; return them."""
    ordered = sorted(set(counties))
    for county in ordered:
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                        {"ns": LOCK_NAMESPACE, "key": int(county)})
    return ordered


def allocate_numbers(session: Session, prefix: str, count: int) -> list[int]:
    """Reserve ``count`` new numbers under ``prefix``; the caller holds the county lock.

    The counter never goes back, and never below a number already registered under the
    prefix, so a number is never issued twice.
    """
    width, top = NUMBER_FIELD[len(prefix)]
    last = session.execute(text(
        "SELECT greatest(coalesce((SELECT last_number FROM code_counter "
        "WHERE county = left(:prefix, 6) AND prefix = :prefix), 0), "
        + registered_max_sql(":prefix", width) + ")"), {"prefix": prefix}).scalar_one()
    if last + count > top:
        raise Conflict(_("numbers under {prefix} exhausted: {last} issued, {count} more would "
                         "exceed {top}", prefix=prefix, last=last, count=count, top=top))
    session.execute(text(
        "INSERT INTO code_counter (county, prefix, last_number) "
        "VALUES (left(:prefix, 6), :prefix, :last) "
        "ON CONFLICT (county, prefix) DO UPDATE SET last_number = EXCLUDED.last_number"),
        {"prefix": prefix, "last": last + count})
    return list(range(last + 1, last + count + 1))
