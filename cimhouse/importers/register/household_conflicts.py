"""Rows whose household columns contradict each other or the stored households: rejected.

A household (户号 within the county of its rows) must have exactly one head among its
members in the file, one kind (户别), one registered house (the house of its 户籍 rows),
and a 户主姓名 that is its head's name; a person is in one household at a time and has one
relation to the head. Every row of a contradicting household (or person) goes to the report
with the reason, like the other conflicts (see :mod:`.conflicts`): the import never guesses.

Against the database: a household whose stored head is another person, and that person
is not in the file, is rejected too (the file would leave two heads, or drop the former
head without saying so).

Example::

    rejected = reject_household_conflicts(session)   # {line: [reason, ...]}
    rejected[7]   # ['同一户有多个户主: H0001 / household H0001 has more than one head']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import county_in, staged_counties
from cimhouse.importers.register.conflicts import summarise_houses
from cimhouse.schema.vocab import HeadRelation, RelationKind

_HEAD = f"'{HeadRelation.HEAD.value}'"
_REGISTERED = f"'{RelationKind.REGISTERED.value}'"

_HOUSEHOLDS = f"""
    CREATE TEMP TABLE stage_household_check ON COMMIT DROP AS
    SELECT county, household_no,
           count(DISTINCT id_hash) FILTER (WHERE head_relation = {_HEAD}) AS heads,
           min(household_kind) AS kind_lo, max(household_kind) AS kind_hi,
           min(head_name) AS head_name_lo, max(head_name) AS head_name_hi,
           min(person_name) FILTER (WHERE head_relation = {_HEAD}) AS head_person,
           count(DISTINCT house_norm) FILTER (WHERE relation = {_REGISTERED}) AS houses
    FROM stage_register WHERE household_no IS NOT NULL
    GROUP BY county, household_no"""

_HOUSEHOLD_REASONS = """
    SELECT r.line, concat_ws('；',
        CASE WHEN c.heads > 1 THEN format('同一户有多个户主: %s / household %s has more '
                                          'than one head', c.household_no, c.household_no) END,
        CASE WHEN c.heads = 0 THEN format('户内没有户主: %s / household %s has no head among '
                                          'its members in this file', c.household_no,
                                          c.household_no) END,
        CASE WHEN c.kind_lo <> c.kind_hi THEN format(
            '同一户各行的户别不一致: %s / rows of household %s disagree on the kind',
            c.household_no, c.household_no) END,
        CASE WHEN c.head_name_lo <> c.head_name_hi THEN format(
            '同一户各行的户主姓名不一致: %s 与 %s / rows of one household disagree on the '
            'name of the head: %s vs %s', c.head_name_lo, c.head_name_hi, c.head_name_lo,
            c.head_name_hi) END,
        CASE WHEN c.heads = 1 AND c.head_name_lo = c.head_name_hi
                  AND c.head_name_lo <> c.head_person THEN format(
            '户主姓名与户主本人不符: %s 与 %s / the name of the head differs from the head '
            'member: %s vs %s', c.head_name_lo, c.head_person, c.head_name_lo,
            c.head_person) END,
        CASE WHEN c.houses > 1 THEN format(
            '同一户的户籍登记在不同房屋: %s / household %s is registered at several houses',
            c.household_no, c.household_no) END)
    FROM stage_household_check c
    JOIN stage_register r ON r.county = c.county AND r.household_no = c.household_no
    WHERE c.heads <> 1 OR c.kind_lo <> c.kind_hi OR c.head_name_lo <> c.head_name_hi
       OR (c.head_name_lo = c.head_name_hi AND c.head_name_lo <> c.head_person)
       OR c.houses > 1"""

_PERSON_REASONS = """
    WITH p AS (
        SELECT id_hash, min(county || ' ' || household_no) AS lo,
               max(county || ' ' || household_no) AS hi,
               min(head_relation) AS rel_lo, max(head_relation) AS rel_hi
        FROM stage_register WHERE household_no IS NOT NULL GROUP BY id_hash
        HAVING min(county || ' ' || household_no) <> max(county || ' ' || household_no)
            OR min(head_relation) <> max(head_relation))
    SELECT r.line, CASE WHEN p.lo <> p.hi THEN format(
            '同一人属于本文件中的多个户: %s 与 %s / a person belongs to several households in '
            'this file: %s and %s', split_part(p.lo, ' ', 2), split_part(p.hi, ' ', 2),
            split_part(p.lo, ' ', 2), split_part(p.hi, ' ', 2))
        ELSE format('同一人的与户主关系不一致: %s 与 %s / rows of one person disagree on the '
                    'relation to the head: %s vs %s', p.rel_lo, p.rel_hi, p.rel_lo, p.rel_hi)
        END
    FROM p JOIN stage_register r ON r.id_hash = p.id_hash AND r.household_no IS NOT NULL"""

# The stored head of a household the file gives another head, when the file does not
# place the stored head anywhere (person is a reference table: read by id_hash). The
# file's counties named on the distributed tables: Citus reads their shards only.
def _stored_head_reasons(counties: Sequence[str]) -> str:
    return f"""
    WITH heads AS MATERIALIZED (
        SELECT h.county, h.number, p.id_hash, p.id_masked
        FROM household h
        JOIN household_member m ON m.county = h.county AND m.household_id = h.id
                               AND m.relation = {_HEAD} AND m.valid_to IS NULL
        JOIN person p ON p.id = m.person_id
        WHERE {county_in('h', counties)} AND {county_in('m', counties)}
          AND (h.county, h.number) IN (SELECT DISTINCT county, household_no
                                       FROM stage_register WHERE household_no IS NOT NULL))
    SELECT r.line, format('库中该户的户主为另一人 (%s)，本文件未给出其去向: %s / the stored '
                          'household %s has another head (%s) whom this file does not place',
                          s.id_masked, s.number, s.number, s.id_masked)
    FROM heads s
    JOIN stage_register r ON r.county = s.county AND r.household_no = s.number
    WHERE NOT EXISTS (SELECT 1 FROM stage_register x WHERE x.id_hash = s.id_hash)
      AND EXISTS (SELECT 1 FROM stage_register y
                  WHERE y.county = s.county AND y.household_no = s.number
                    AND y.head_relation = {_HEAD} AND y.id_hash <> s.id_hash)"""


def reject_household_conflicts(session: Session) -> dict[int, list[str]]:
    """Remove the rows whose household columns contradict; return ``{line: reasons}``."""
    rejected: defaultdict[int, list[str]] = defaultdict(list)
    has_households = session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM stage_register WHERE household_no IS NOT NULL)"
    )).scalar_one()
    if not has_households:
        return {}
    session.execute(text("DROP TABLE IF EXISTS stage_household_check"))
    session.execute(text(_HOUSEHOLDS))
    stored_heads = _stored_head_reasons(staged_counties(session, "stage_register"))
    for statement in (_HOUSEHOLD_REASONS, _PERSON_REASONS, stored_heads):
        for line, reason in session.execute(text(statement)):
            if reason and reason not in rejected[line]:
                rejected[line].append(reason)
    if rejected:
        session.execute(text("DELETE FROM stage_register WHERE line = ANY (:lines)"),
                        {"lines": sorted(rejected)})
        summarise_houses(session)  # the summary names each house by one of its lines
    return dict(rejected)


__all__ = ["reject_household_conflicts"]
