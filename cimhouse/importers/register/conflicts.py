"""Rows of one file that describe the same house or person in two ways are rejected, all of
them, with the values that disagree: the import never guesses which row is right.

A register repeats the house columns on every row of a house and the person columns on
every row of a person. When those repeats disagree (two areas for one house, two names for
one ID number, one 不动产单元号 for two houses), every row involved goes to the report, so
the corrected rows can be imported together. An empty cell is no disagreement: it says
nothing, and the value of the other rows is used.

The checks are set-based over the staged rows (two hash aggregates); they run before
anything is written, and the rows they reject are removed from the staging table.

Example::

    rejected = reject_conflicts(session)      # {line: [reason, ...]}
    rejected[12]   # ['同一房屋各行的建筑面积不一致: 88.50 与 90.10 / rows of one house ...']
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.importers.register.table import agreeing

# (column, 中文, English) of the house columns that must agree between the rows of a house
HOUSE_COLUMNS = tuple((c.name, *c.label) for c in agreeing())

SUMMARISE_HOUSES = "CREATE TEMP TABLE stage_house_summary ON COMMIT DROP AS SELECT " + \
    "county, house_norm, max(line) AS line, " + ", ".join(
        f"min({c}) AS {c}_lo, max({c}) AS {c}_hi" for c, _, _ in HOUSE_COLUMNS) + \
    " FROM stage_register GROUP BY county, house_norm"

_HOUSE_DISAGREE = " OR ".join(f"{c}_lo <> {c}_hi" for c, _, _ in HOUSE_COLUMNS)
_HOUSE_REASONS = """
    SELECT r.line, format('同一房屋各行的%s不一致: %s 与 %s / rows of one house disagree on '
                          'the %s: %s vs %s', f.zh, f.lo, f.hi, f.en, f.lo, f.hi)
    FROM (SELECT * FROM stage_house_summary WHERE {disagree}) c
    CROSS JOIN LATERAL (VALUES {values}) AS f(zh, en, lo, hi)
    JOIN stage_register r ON r.county = c.county AND r.house_norm = c.house_norm
    WHERE f.lo <> f.hi""".format(
    disagree=_HOUSE_DISAGREE,
    values=", ".join(f"('{zh}', '{en}', c.{c}_lo::text, c.{c}_hi::text)"
                     for c, zh, en in HOUSE_COLUMNS))
_UNIT_NUMBER_REASONS = """
    SELECT r.line, '同一不动产单元号对应本文件中的不同房屋 / the same real-estate unit number '
                   'is given for different houses in this file'
    FROM (SELECT realestate_no_lo AS unit_no FROM stage_house_summary
          WHERE realestate_no_lo = realestate_no_hi
          GROUP BY realestate_no_lo HAVING count(*) > 1) u
    JOIN stage_register r ON r.realestate_no = u.unit_no"""
# Phones are compared by their masked form (ciphertexts differ on every encryption).
_PERSON_REASONS = """
    WITH p AS (
        SELECT id_hash, min(person_name) AS name_lo, max(person_name) AS name_hi,
               min(phone_masked) AS phone_lo, max(phone_masked) AS phone_hi
        FROM stage_register GROUP BY id_hash
        HAVING min(person_name) <> max(person_name) OR min(phone_masked) <> max(phone_masked))
    SELECT r.line, concat_ws('；',
        CASE WHEN p.name_lo <> p.name_hi THEN format(
            '同一身份证号各行的姓名不一致: %s 与 %s / rows of one ID number disagree on the '
            'name: %s vs %s', p.name_lo, p.name_hi, p.name_lo, p.name_hi) END,
        CASE WHEN p.phone_lo <> p.phone_hi THEN format(
            '同一身份证号各行的联系电话不一致: %s 与 %s / rows of one ID number disagree on the '
            'phone: %s vs %s', p.phone_lo, p.phone_hi, p.phone_lo, p.phone_hi) END)
    FROM p JOIN stage_register r ON r.id_hash = p.id_hash"""


def summarise_houses(session: Session) -> None:
    """(Re)build ``stage_house_summary``: per house its last line and each column's range."""
    session.execute(text("DROP TABLE IF EXISTS stage_house_summary"))
    session.execute(text(SUMMARISE_HOUSES))


def reject_conflicts(session: Session) -> dict[int, list[str]]:
    """Remove the rows that disagree with other rows of their house or person.

    Returns ``{line: reasons}`` of the removed rows. Leaves ``stage_house_summary`` built
    over the remaining rows.
    """
    summarise_houses(session)
    rejected: defaultdict[int, list[str]] = defaultdict(list)
    for statement in (_HOUSE_REASONS, _UNIT_NUMBER_REASONS, _PERSON_REASONS):
        for line, reason in session.execute(text(statement)):
            rejected[line].append(reason)
    if rejected:
        session.execute(text("DELETE FROM stage_register WHERE line = ANY (:lines)"),
                        {"lines": sorted(rejected)})
        summarise_houses(session)
    return dict(rejected)


__all__ = ["HOUSE_COLUMNS", "reject_conflicts", "summarise_houses"]
