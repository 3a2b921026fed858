"""Set-based SQL that moves the staged household columns into households and members.

Runs inside :func:`.apply.apply_staged`, after houses and persons have their ids
(``stage_house``, ``stage_person_id``). Matching: a household by county + 户号; a member by
household + person + relation to the head, still valid. A household takes the kind of its
rows and the house of its 户籍 rows (else its head's house); a person whose current
membership differs (another household, or another relation) has it ended (``valid_to``
today) and a new one started. Every change is in ``change_log``. Running it twice on the
same staging changes nothing the second time.

Example::

    counts = apply_households(session, params, ("330402",))   # inside apply_staged
    counts["households_added"], counts["members_added"], counts["members_ended"]
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import county_in, execute_count
from cimhouse.schema.vocab import HeadRelation, RelationKind

DERIVED = ("stage_household", "stage_member")


def _run(session: Session, sql: str, params: dict[str, object] | None = None) -> int:
    return execute_count(session, text(sql), params)


def apply_households(session: Session, params: dict[str, object],
                     counties: Sequence[str]) -> dict[str, int]:
    """Households and memberships of the staged rows; counts of what was added/changed.

    ``counties``: the file's, named on every read of a distributed table (``county_in``).
    """
    counts = dict.fromkeys(("households_added", "households_updated", "members_added",
                            "members_ended"), 0)
    # The house of the 户籍 rows, else of the head's rows, else of the first row.
    _run(session, f"""
        CREATE TEMP TABLE stage_household ON COMMIT DROP AS
        SELECT r.county, r.household_no, min(r.household_kind) AS kind,
               (array_agg(sh.house_id ORDER BY r.relation = '{RelationKind.REGISTERED.value}'
                          DESC, r.head_relation = '{HeadRelation.HEAD.value}' DESC,
                          r.line))[1] AS house_id,
               NULL::bigint AS household_id, false AS is_new
        FROM stage_register r
        JOIN stage_house sh ON sh.county = r.county AND sh.house_norm = r.house_norm
        WHERE r.household_no IS NOT NULL
        GROUP BY r.county, r.household_no""")
    if not session.execute(text("SELECT EXISTS (SELECT 1 FROM stage_household)")).scalar_one():
        return counts  # a register without households
    _run(session, "ANALYZE stage_household")
    _run(session, f"""
        UPDATE stage_household s SET household_id = h.id FROM household h
        WHERE {county_in('h', counties)} AND h.county = s.county AND h.number = s.household_no""")
    counts["households_updated"] = _run(session, f"""
        WITH changed AS (
            UPDATE household h SET kind = s.kind, house_id = s.house_id, updated_at = now(),
                   version = h.version + 1
            FROM stage_household s, household old
            WHERE {county_in('h', counties)} AND {county_in('old', counties)}
              AND s.county = h.county AND s.household_id = h.id
              AND (h.kind, h.house_id) IS DISTINCT FROM (s.kind, s.house_id)
              AND old.county = h.county AND old.id = h.id
            RETURNING h.county, h.id, old.kind AS old_kind, old.house_id AS old_house,
                      h.kind, h.house_id)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'household', id::text, 'update', :actor, :src,
               jsonb_build_object('kind', old_kind, 'house_id', old_house),
               jsonb_build_object('kind', kind, 'house_id', house_id)
        FROM changed""", params)
    _run(session, """
        UPDATE stage_household
        SET household_id = nextval(pg_get_serial_sequence('household', 'id')), is_new = true
        WHERE household_id IS NULL""")
    counts["households_added"] = _run(session, """
        INSERT INTO household (county, id, number, kind, house_id, source)
        SELECT county, household_id, household_no, kind, house_id, :src
        FROM stage_household WHERE is_new ORDER BY county, household_id""", params)
    _run(session, """
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'household', household_id::text, 'insert', :actor, :src, NULL,
               jsonb_build_object('number', household_no, 'kind', kind, 'house_id', house_id)
        FROM stage_household WHERE is_new""", params)
    _members(session, params, counts, counties)
    return counts


def _members(session: Session, params: dict[str, object], counts: dict[str, int],
             counties: Sequence[str]) -> None:
    _run(session, """
        CREATE TEMP TABLE stage_member ON COMMIT DROP AS
        SELECT DISTINCT ON (sh.county, sh.household_id, sp.person_id)
               sh.county, sh.household_id, sp.person_id, r.head_relation AS relation
        FROM stage_register r
        JOIN stage_household sh ON sh.county = r.county AND sh.household_no = r.household_no
        JOIN stage_person_id sp ON sp.id_hash = r.id_hash
        ORDER BY sh.county, sh.household_id, sp.person_id, r.line DESC""")
    _run(session, "CREATE INDEX ON stage_member (person_id)")
    # A person is in one household at a time: a current membership that the file changes
    # (another household or another relation to the head) ends today. Its household may
    # be in a county the file does not name (a person who moved): this statement reads
    # household_member on every shard, by person.
    counts["members_ended"] = _run(session, """
        WITH ended AS (
            UPDATE household_member m SET valid_to = current_date, updated_at = now(),
                   version = m.version + 1
            FROM stage_member s
            WHERE m.person_id = s.person_id AND m.valid_to IS NULL
              AND (m.county, m.household_id, m.relation)
                  IS DISTINCT FROM (s.county, s.household_id, s.relation)
            RETURNING m.county, m.id, m.household_id, m.relation)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'household_member', id::text, 'update', :actor, :src,
               jsonb_build_object('valid_to', NULL),
               jsonb_build_object('valid_to', current_date)
        FROM ended""", params)
    _run(session, f"""
        CREATE TEMP TABLE stage_member_new ON COMMIT DROP AS
        SELECT s.county, s.household_id, s.person_id, s.relation,
               nextval(pg_get_serial_sequence('household_member', 'id')) AS id
        FROM stage_member s
        LEFT JOIN household_member m  -- an anti-join: Citus refuses NOT EXISTS on a local table
               ON m.county = s.county AND m.household_id = s.household_id
              AND m.person_id = s.person_id AND m.relation = s.relation
              AND m.valid_to IS NULL AND {county_in('m', counties)}
        WHERE m.id IS NULL""")
    counts["members_added"] = _run(session, """
        INSERT INTO household_member (county, id, household_id, person_id, relation,
                                      valid_from, source, import_run_id)
        SELECT county, id, household_id, person_id, relation, current_date, :src, :run
        FROM stage_member_new ORDER BY county, household_id""", params)
    _run(session, """
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'household_member', id::text, 'insert', :actor, :src, NULL,
               jsonb_build_object('household_id', household_id, 'person_id', person_id,
                                  'relation', relation, 'valid_from', current_date)
        FROM stage_member_new""", params)
    _run(session, "DROP TABLE stage_member_new")


__all__ = ["DERIVED", "apply_households"]
