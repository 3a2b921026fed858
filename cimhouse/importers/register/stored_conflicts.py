"""Rows that disagree with what is already stored: rejected, the stored record is kept.

Two kinds, both reported like the in-file conflicts of :mod:`.conflicts` (every row
involved goes to the report with a bilingual reason, nothing of it is written):

- **A person renamed.** An ID number already stored with another name is the same clash
  as two names for one ID number inside one file: the import does not guess, it keeps the
  stored person and rejects every row of that ID number in the file. ``update_persons``
  (``--update-persons``) says the file is right: the person is renamed, with history.
  Reasons carry masked values only (``330402********1234``, ``史**``).
- **A lifecycle edit undone.** A house field set by ``codes relabel``, ``codes split`` or
  ``codes merge`` (``change_log`` sources ``relabel``, ``split_house``, ``merge_houses``)
  is not reverted by a file that still has the old value when the edit is newer than the
  file's data: every row of that house is rejected and the edit kept. ``as_of`` is when
  the file's data was extracted; without it every lifecycle edit counts as newer. An edit
  made at or before ``as_of`` loses to the file (the file's value is applied, with history).
  The same holds for an estate renamed by ``codes relabel`` while the file still uses the
  old name: the rows are rejected rather than becoming a new, empty estate of the old name.

Empty cells say nothing here either: a blank 建筑面积 never conflicts with a stored area.

Example::

    rejected, counts = reject_stored_conflicts(session, update_persons=False, as_of=None)
    rejected[7]   # ['身份证号已以另一姓名登记: 330402********1234 已登记的姓名为 史**，...']
    counts  # {'persons_conflicting': 1, 'houses_edits_kept': 0, 'estates_edits_kept': 0}
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.coding.house_relations import retired_house_sql
from cimhouse.db.bulk import county_in, staged_counties
from cimhouse.importers.register.conflicts import summarise_houses
from cimhouse.importers.register.table import Staged, targets

LIFECYCLE_SOURCES = ("relabel", "split_house", "merge_houses")



def _file_value(column: Staged) -> str:
    """A house column's value in the file: over stage_house_summary c when its rows must
    agree (an empty cell says nothing), else the house's last row r."""
    return f"c.{column.name}_lo" if column.agree else f"r.{column.name}"


# name -> (中文, English, the file's value over stage_house_summary c / stage_register r,
# stored column). Only fields both the lifecycle commands and the import write; a file
# value of NULL (empty cell) is no disagreement where the import would keep the stored one.
_FIELDS = {target.column: (*column.label, _file_value(column), f"h.{target.column}")
           for column, target in targets("house") if target.lifecycle}
_KEEPS_STORED_WHEN_EMPTY = {target.column for _c, target in targets("house")
                            if target.lifecycle and target.keep}


def _mask_name(column: str) -> str:
    """SQL masking a name as the API does: family name kept, the rest starred (史**)."""
    return f"left({column}, 1) || repeat('*', greatest(1, char_length({column}) - 1))"


_PERSON_REASONS = f"""
    SELECT r.line, r.id_hash, format(
        '身份证号已以另一姓名登记: %s 已登记的姓名为 %s，本文件为 %s；保留已有记录（确认更名'
        '请加 --update-persons） / ID number stored with another name: %s is stored as %s, '
        'this file says %s; the stored person is kept (pass --update-persons to rename)',
        r.id_masked, {_mask_name('p.name')}, {_mask_name('r.person_name')},
        r.id_masked, {_mask_name('p.name')}, {_mask_name('r.person_name')})
    FROM stage_register r JOIN person p ON p.id_hash = r.id_hash
    WHERE p.name <> r.person_name"""

_FILE_VALUES = ", ".join(f"('{name}', '{zh}', '{en}', ({value})::text, ({stored})::text, "
                         f"{'true' if name in _KEEPS_STORED_WHEN_EMPTY else 'false'})"
                         for name, (zh, en, value, stored) in _FIELDS.items())
# The house each staged house will update (as apply.py matches: an open house, by
# 不动产单元号 first, then by the normalised address), the fields a lifecycle command set on
# it after ``as_of``, and where the file disagrees with the stored value of such a field.
# ``counties``: the file's (see :func:`county_in`), on every distributed table read.
def _house_reasons(counties: Sequence[str]) -> str:
    return f"""
    WITH matched AS (
        -- DISTINCT ON over two equi-joins, not LATERAL (... LIMIT 1) over the temp table,
        -- which Citus cannot push down; both joins hash on plain PostgreSQL.
        SELECT county, house_norm, id, code FROM (
            SELECT DISTINCT ON (m.county, m.house_norm) m.county, m.house_norm, m.id, m.code
            FROM (
                SELECT c.county, c.house_norm, h.id, h.code, true AS by_unit_no
                FROM stage_house_summary c
                JOIN house h ON h.county = c.county AND h.realestate_unit_no = c.realestate_no_lo
                WHERE {county_in('h', counties)} AND NOT {retired_house_sql('h', counties)}
                UNION ALL
                SELECT c.county, c.house_norm, h.id, h.code,
                       h.realestate_unit_no IS NOT DISTINCT FROM c.realestate_no_lo
                FROM stage_house_summary c
                JOIN house h ON h.county = c.county AND h.address_norm = c.house_norm
                WHERE {county_in('h', counties)} AND NOT {retired_house_sql('h', counties)}) m
            ORDER BY m.county, m.house_norm, m.by_unit_no DESC, m.id) picked
        WHERE code IS NOT NULL),
    edits AS (
        SELECT DISTINCT ON (m.county, m.house_norm, k.field)
               m.county, m.house_norm, m.code, k.field, e.source, e.changed_at
        FROM matched m
        JOIN change_log e ON e.county = m.county AND e.object_kind = 'house'
                         AND e.object_id = m.code
        CROSS JOIN LATERAL jsonb_object_keys(e.current) AS k(field)
        WHERE {county_in('e', counties)} AND e.source = ANY (:sources)
          AND e.current IS NOT NULL
          AND (CAST(:as_of AS timestamptz) IS NULL OR e.changed_at > :as_of)
        ORDER BY m.county, m.house_norm, k.field, e.changed_at DESC)
    SELECT r.line, d.county, d.house_norm, format(
        '房屋的修改晚于本文件数据: 房屋 %s 的%s已于 %s 经 %s 改为 %s，本文件为 %s；予以保留'
        '（若本文件更新，请用 --as-of 给出其数据日期） / house edited after the file''s '
        'data: house %s, the %s was set to %s by %s on %s and this file says %s; the edit is '
        'kept (if the file is newer, give its date with --as-of)',
        d.code, d.zh, d.edited, d.source, coalesce(d.stored, '（空）'),
        coalesce(d.value, '（空）'), d.code, d.en, coalesce(d.stored, '(empty)'), d.source,
        d.edited, coalesce(d.value, '(empty)'))
    FROM (
        SELECT c.county, c.house_norm, e.code, e.source,
               to_char(e.changed_at, 'YYYY-MM-DD HH24:MI') AS edited, f.zh, f.en, f.value,
               f.stored
        FROM edits e
        JOIN stage_house_summary c ON c.county = e.county AND c.house_norm = e.house_norm
        JOIN stage_register r ON r.line = c.line
        JOIN house h ON h.county = e.county AND h.code = e.code
        CROSS JOIN LATERAL (VALUES {_FILE_VALUES})
            AS f(name, zh, en, value, stored, keeps_stored)
        WHERE {county_in('h', counties)} AND f.name = e.field
          AND f.value IS DISTINCT FROM f.stored
          AND NOT (f.keeps_stored AND f.value IS NULL)) d
    JOIN stage_register r ON r.county = d.county AND r.house_norm = d.house_norm"""


# An estate renamed by ``codes relabel`` whose old name the file still uses: the import
# would take the old name for a new estate (an empty twin of the renamed one).
def _estate_reasons(counties: Sequence[str]) -> str:
    return f"""
    WITH named AS (
        SELECT DISTINCT county, region_code, estate_name FROM stage_register
        WHERE estate_name IS NOT NULL),
    -- names still in use: an anti-join below, not a correlated NOT EXISTS (Citus refuses
    -- one between a temp table and a distributed table)
    known AS (
        SELECT DISTINCT n.county, n.region_code, n.estate_name
        FROM named n
        JOIN estate x ON x.county = n.county AND x.region_code = n.region_code
                     AND (x.name = n.estate_name OR n.estate_name = ANY (x.aliases))
        WHERE {county_in('x', counties)}),
    renamed AS (
        SELECT DISTINCT ON (n.county, n.region_code, n.estate_name)
               n.county, n.region_code, n.estate_name, e.code, e.name,
               to_char(c.changed_at, 'YYYY-MM-DD HH24:MI') AS edited
        FROM named n
        JOIN estate e ON e.county = n.county AND e.region_code = n.region_code
        JOIN change_log c ON c.county = e.county AND c.object_kind = 'estate'
                         AND c.object_id = e.code AND c.source = 'relabel'
        LEFT JOIN known k ON k.county = n.county AND k.region_code = n.region_code
                         AND k.estate_name = n.estate_name
        WHERE {county_in('e', counties)} AND {county_in('c', counties)}
          AND c.previous ->> 'name' = n.estate_name
          AND (CAST(:as_of AS timestamptz) IS NULL OR c.changed_at > :as_of)
          AND k.county IS NULL
        ORDER BY n.county, n.region_code, n.estate_name, c.changed_at DESC)
    SELECT r.line, d.code, format(
        '小区的更名晚于本文件数据: 小区 %s 已于 %s 经 relabel 更名为 %s（%s），本文件仍用旧名，'
        '未导入（请改用新名，或用 --as-of 给出本文件的数据日期） / estate renamed after the '
        'file''s data: %s was renamed %s (%s) by relabel on %s and this file still uses the '
        'old name, so the rows were not imported (use the new name, or give the file''s date '
        'with --as-of)', d.estate_name, d.edited, d.name, d.code,
        d.estate_name, d.name, d.code, d.edited)
    FROM renamed d
    JOIN stage_register r ON r.county = d.county AND r.region_code = d.region_code
                         AND r.estate_name = d.estate_name"""


def reject_stored_conflicts(session: Session, *, update_persons: bool,
                            as_of: dt.datetime | None) -> tuple[dict[int, list[str]],
                                                                dict[str, int]]:
    """Remove the staged rows that would rename a person or undo a newer lifecycle edit.

    Returns ``({line: reasons}, counts)`` with counts ``persons_conflicting`` (ID numbers),
    ``houses_edits_kept`` (houses) and ``estates_edits_kept`` (renamed estates). Expects
    ``stage_house_summary`` (:func:`.conflicts.reject_conflicts`) and rebuilds it when rows
    were removed.
    """
    rejected: defaultdict[int, list[str]] = defaultdict(list)
    persons: set[bytes] = set()
    houses: set[tuple[str, str]] = set()
    estates: set[str] = set()
    params = {"sources": list(LIFECYCLE_SOURCES), "as_of": as_of}
    counties = staged_counties(session, "stage_register")
    for line, code, reason in session.execute(text(_estate_reasons(counties)), params):
        rejected[line].append(reason)
        estates.add(code)
    if not update_persons:
        for line, id_hash, reason in session.execute(text(_PERSON_REASONS)):
            rejected[line].append(reason)
            persons.add(bytes(id_hash))
    for line, county, house_norm, reason in session.execute(text(_house_reasons(counties)),
                                                          params):
        rejected[line].append(reason)
        houses.add((county, house_norm))
    if rejected:
        session.execute(text("DELETE FROM stage_register WHERE line = ANY (:lines)"),
                        {"lines": sorted(rejected)})
        summarise_houses(session)
    return dict(rejected), {"persons_conflicting": len(persons),
                            "houses_edits_kept": len(houses), "estates_edits_kept": len(estates)}


__all__ = ["LIFECYCLE_SOURCES", "reject_stored_conflicts"]
