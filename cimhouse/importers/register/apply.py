"""Set-based SQL that moves the staged register rows into estates, buildings, houses,
persons and relations: match first, update what changed (with ``change_log`` history),
insert what is new. Running it twice on the same staging changes nothing the second time.

Matching keys (all within the county, the distribution column):
- estate: community code + name (or one of its aliases);
- building: the normalised building address;
- house: the 不动产单元号 when given, else the normalised house address;
- person: the keyed hash of the ID number;
- relation: person + house + relation kind, still valid (``valid_to`` empty).

Example::

    counts = apply_staged(session, actor="cli", run_id=42)
    counts["houses_added"], counts["houses_updated"]
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.coding.house_relations import retired_house_sql
from cimhouse.db.bulk import county_in, execute_count, staged_counties
from cimhouse.db.distribute import REFERENCE_TABLES, citus_version
from cimhouse.importers.register.apply_households import DERIVED, apply_households
from cimhouse.importers.register.table import Target, staged, targets

# The house columns the import writes: the building found or added here, then the
# register's columns as the table of register columns names them.
_HOUSE_TARGETS: tuple[tuple[str, Target], ...] = (
    ("building_id", Target("house", "building_id")),
    *((column.name, target) for column, target in targets("house")))
_PERSON_TARGETS = tuple((column.name, target) for column, target in targets("person"))
# stage_house: per house the columns its rows agree on from the summary s, the others
# from its last row r
_STAGE_HOUSE_COLUMNS = ", ".join(
    f"s.{c.name}_lo AS {c.name}" if c.agree else f"r.{c.name}"
    for c in staged("house") if c.name not in ("county", "house_norm"))

_DROP_DERIVED = ("DROP TABLE IF EXISTS stage_estate, stage_building, stage_house, stage_person, "
                 "stage_person_id, stage_relation, " + ", ".join(DERIVED))


def _as_json(field: str, expression: str) -> str:
    """A house column for change_log: the point as [lon, lat], the others as they are."""
    if field == "location":
        return f"ST_AsGeoJSON({expression})::jsonb -> 'coordinates'"
    return expression


#: table -> the count that says this import added rows to it
_FILLED = (("estate", "estates_added"), ("building", "buildings_added"),
           ("house", "houses_added"), ("person", "persons_added"),
           ("person_house", "relations_added"), ("household", "households_added"),
           ("household_member", "members_added"))


def _run(session: Session, sql: str, params: dict[str, object] | None = None) -> int:
    return execute_count(session, text(sql), params)


def apply_staged(session: Session, *, actor: str, run_id: int,
                 households: bool = False) -> dict[str, int]:
    """Apply ``stage_register`` to the model; return counts of what was added and updated.

    ``households``: the file has household columns (see :mod:`.apply_households`).

    Expects ``stage_house_summary`` (see :func:`.conflicts.reject_conflicts`).
    """
    params: dict[str, object] = {"actor": actor, "src": f"import_run:{run_id}", "run": run_id}
    counts: dict[str, int] = {}
    # every read of a distributed table below names the file's counties: Citus then reads
    # their shards only (see county_in)
    counties = staged_counties(session, "stage_register")
    _run(session, _DROP_DERIVED)  # an earlier import in the same transaction left them
    _stage_houses(session)
    counts["estates_added"] = _estates(session, params, counties)
    counts["buildings_added"] = _buildings(session, params, counties)
    counts["houses_added"], counts["houses_updated"] = _houses(session, params, counties)
    counts["persons_added"], counts["persons_updated"] = _persons(session, params)
    counts["relations_added"], counts["relations_updated"] = _relations(session, params,
                                                                        counties)
    if households:
        counts |= apply_households(session, params, counties)
    _run(session, _DROP_DERIVED)
    _analyze_filled(session, counts)
    return counts


def _analyze_filled(session: Session, counts: dict[str, int]) -> None:
    """Fresh planner statistics for the tables this import added rows to.

    Autovacuum analyses them minutes later at best; until then the next import's checks,
    which join the staged rows to these tables, are planned for empty tables. Measured:
    re-importing a 2,000-row register right after its first import took 62 s in a nested
    loop over ``household`` (bench/bench_register_import.py), well under a second once
    analysed. ANALYZE inside this transaction counts its own new rows as live.

    On Citus the distributed tables too (Citus sends it to their shards on the workers):
    the next code job right after a 1,000,000-row import otherwise planned its candidate
    joins for empty shards and ran a nested loop for minutes (bench/bench_citus.py). Not
    the reference tables (``person``): Citus refuses to analyse a placement this
    transaction has used by local execution, the coordinator's copy.
    """
    tables = [table for table, key in _FILLED if counts.get(key)]
    if citus_version(session.connection()) is not None:
        tables = [table for table in tables if table not in REFERENCE_TABLES]
    if tables:
        _run(session, f"ANALYZE {', '.join(tables)}")


def _stage_houses(session: Session) -> None:
    # One row per house: the labels of its last row; for the columns that may be empty on
    # some rows, the value of the rows that have one (they agree, see conflicts.py).
    _run(session, f"""
        CREATE TEMP TABLE stage_house ON COMMIT DROP AS
        SELECT s.county, s.house_norm, {_STAGE_HOUSE_COLUMNS},
               NULL::bigint AS building_id, NULL::bigint AS house_id, false AS is_new
        FROM stage_house_summary s JOIN stage_register r ON r.line = s.line""")
    _run(session, "ANALYZE stage_house")


def _estates(session: Session, params: dict[str, object], counties: Sequence[str]) -> int:
    _run(session, """
        CREATE TEMP TABLE stage_estate ON COMMIT DROP AS
        SELECT county, region_code, estate_name, min(estate_kind) AS estate_kind,
               NULL::bigint AS estate_id
        FROM stage_house WHERE estate_name IS NOT NULL
        GROUP BY county, region_code, estate_name""")
    # A join, not a correlated subquery: Citus cannot correlate a distributed table.
    match = f"""
        UPDATE stage_estate s SET estate_id = m.id
        FROM (SELECT u.county, u.region_code, u.estate_name, min(e.id) AS id
              FROM stage_estate u
              JOIN estate e ON e.county = u.county AND e.region_code = u.region_code
                           AND (e.name = u.estate_name OR u.estate_name = ANY (e.aliases))
              WHERE {county_in('e', counties)} AND u.estate_id IS NULL
              GROUP BY u.county, u.region_code, u.estate_name) m
        WHERE m.county = s.county AND m.region_code = s.region_code
          AND m.estate_name = s.estate_name AND s.estate_id IS NULL"""
    _run(session, match)
    # New objects are logged as inserts (the change feed shows them); counted by the log.
    added = _run(session, """
        WITH added AS (
            INSERT INTO estate (county, name, region_code, kind, status, source)
            SELECT county, estate_name, region_code, estate_kind, 'in_use', :src
            FROM stage_estate WHERE estate_id IS NULL
            RETURNING county, id, name, region_code)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'estate', id::text, 'insert', :actor, :src, NULL,
               jsonb_build_object('name', name, 'region_code', region_code)
        FROM added""", params)
    if added:
        _run(session, match)
    return added


def _buildings(session: Session, params: dict[str, object], counties: Sequence[str]) -> int:
    _run(session, """
        CREATE TEMP TABLE stage_building ON COMMIT DROP AS
        SELECT h.county, h.building_norm, min(h.region_code) AS region_code,
               min(h.building_label) AS building_label, min(se.estate_id) AS estate_id,
               NULL::bigint AS building_id
        FROM stage_house h
        LEFT JOIN stage_estate se ON se.county = h.county AND se.region_code = h.region_code
                                 AND se.estate_name = h.estate_name
        GROUP BY h.county, h.building_norm""")
    _run(session, "CREATE INDEX ON stage_building (county, building_norm)")
    match = f"""
        UPDATE stage_building s SET building_id = b.id FROM building b
        WHERE {county_in('b', counties)} AND b.county = s.county
          AND b.address_norm = s.building_norm AND s.building_id IS NULL"""
    _run(session, match)
    added = _run(session, """
        WITH added AS (
            INSERT INTO building (county, estate_id, region_code, building_label, address_norm,
                                  status, source)
            SELECT county, estate_id, region_code, building_label || '幢', building_norm,
                   'in_use', :src
            FROM stage_building WHERE building_id IS NULL
            RETURNING county, id, building_label, address_norm, region_code)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'building', id::text, 'insert', :actor, :src, NULL,
               jsonb_build_object('building_label', building_label,
                                  'address_norm', address_norm, 'region_code', region_code)
        FROM added""", params)
    if added:
        _run(session, match)
    _run(session, """
        UPDATE stage_house h SET building_id = b.building_id FROM stage_building b
        WHERE b.county = h.county AND b.building_norm = h.building_norm""")
    return added


def _houses(session: Session, params: dict[str, object],
            counties: Sequence[str]) -> tuple[int, int]:
    # Retired houses take nothing (rows naming only them were rejected before).
    by_unit_no = f"""
        UPDATE stage_house s SET house_id = h.id FROM house h
        WHERE s.realestate_no IS NOT NULL AND h.county = s.county
          AND h.realestate_unit_no = s.realestate_no AND s.house_id IS NULL
          AND {county_in('h', counties)} AND NOT {retired_house_sql('h', counties)}"""
    by_address = f"""
        UPDATE stage_house s SET house_id = h.id FROM house h
        WHERE h.county = s.county AND h.address_norm = s.house_norm AND s.house_id IS NULL
          AND {county_in('h', counties)} AND NOT {retired_house_sql('h', counties)}"""
    _run(session, by_unit_no)
    _run(session, by_address)
    # Empty register cells never erase known values: COALESCE keeps the stored one.
    def changed(stored: str) -> str:
        return " OR ".join(t.changed("s", stored, name) for name, t in _HOUSE_TARGETS)

    prev = ", ".join(f"'{t.column}', {_as_json(t.column, 'h.' + t.column)}"
                     for _name, t in _HOUSE_TARGETS)
    cur = ", ".join(f"'{t.column}', {_as_json(t.column, t.new_value('s', 'h', name))}"
                    for name, t in _HOUSE_TARGETS)
    _run(session, f"""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT h.county, 'house', h.id::text, 'update', :actor, :src,
               jsonb_build_object({prev}), jsonb_build_object({cur})
        FROM house h JOIN stage_house s ON s.county = h.county AND s.house_id = h.id
        WHERE {county_in('h', counties)} AND ({changed('h')})""", params)
    assignments = ", ".join(f"{t.column} = {t.new_value('s', 'house', name)}"
                            for name, t in _HOUSE_TARGETS)
    updated = _run(session, f"""
        UPDATE house SET {assignments}, updated_at = now(), version = house.version + 1
        FROM stage_house s
        WHERE {county_in('house', counties)} AND s.county = house.county
          AND s.house_id = house.id AND ({changed('house')})""")
    # New houses get their ids here, so nothing has to find them again after the insert.
    _run(session, """
        UPDATE stage_house SET house_id = nextval(pg_get_serial_sequence('house', 'id')),
                               is_new = true
        WHERE house_id IS NULL""")
    columns = ", ".join(t.column for _name, t in _HOUSE_TARGETS)
    values = ", ".join(t.insert_value("s", name) for name, t in _HOUSE_TARGETS)
    added = _run(session, f"""
        INSERT INTO house (county, id, region_code, {columns}, area_source, status, source)
        SELECT s.county, s.house_id, s.region_code, {values},
               CASE WHEN s.area_m2 IS NULL THEN NULL ELSE 'register' END, 'in_use', :src
        FROM stage_house s WHERE s.is_new
        ORDER BY s.county, s.building_id""", params)
    _run(session, """
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'house', house_id::text, 'insert', :actor, :src, NULL,
               jsonb_build_object('address_norm', house_norm, 'region_code', region_code)
        FROM stage_house WHERE is_new""", params)
    return added, updated


def _persons(session: Session, params: dict[str, object]) -> tuple[int, int]:
    # One row per person: its last row that gives a phone, else its last row (the rows
    # agree on name and phone, see conflicts.py; the ID columns derive from the ID number).
    _run(session, f"""
        CREATE TEMP TABLE stage_person ON COMMIT DROP AS
        SELECT DISTINCT ON (id_hash) county, {', '.join(n for n, _t in _PERSON_TARGETS)}
        FROM stage_register ORDER BY id_hash, phone_masked IS NULL, line DESC""")
    _run(session, "CREATE UNIQUE INDEX ON stage_person (id_hash)")
    # Phones are compared by their masked form: ciphertexts differ on every encryption.
    compared = [(name, t) for name, t in _PERSON_TARGETS if t.compared and not t.insert_only]

    def changed(s: str, by_target: bool) -> str:
        """``s`` names the staged row by its staged columns, or (EXCLUDED) by the target's."""
        return "(" + " OR ".join(t.changed(s, "p", None if by_target else name)
                                 for name, t in compared) + ")"

    prev = ", ".join(f"'{t.column}', p.{t.column}" for _n, t in compared)
    cur = ", ".join(f"'{t.column}', {t.new_value('s', 'p', name)}" for name, t in compared)
    # Citus: person is a reference table, stage_person a local one. The log reads them
    # through a MATERIALIZED CTE (an INSERT ... SELECT joining both directly inserts nothing)
    # and one upsert replaces UPDATE ... FROM stage_person (refused).
    updated = _run(session, f"""
        WITH c AS MATERIALIZED (
            SELECT s.county, p.id, jsonb_build_object({prev}) AS previous,
                   jsonb_build_object({cur}) AS current
            FROM person p JOIN stage_person s ON s.id_hash = p.id_hash
            WHERE {changed('s', by_target=False)})
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'person', id::text, 'update', :actor, :src, previous, current
        FROM c ORDER BY id""", params)
    # now() as a literal: Citus allows only IMMUTABLE functions in DO UPDATE SET, and does
    # not pass bound parameters of an INSERT ... SELECT's DO UPDATE SET to the workers.
    now = session.execute(text("SELECT now()")).scalar_one().isoformat()
    # Counted before: Citus reports every row of an INSERT ... SELECT ... ON CONFLICT.
    added = int(session.execute(text(
        "SELECT count(*) FROM stage_person s "
        "WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.id_hash = s.id_hash)")).scalar_one())
    columns = ", ".join(t.column for _n, t in _PERSON_TARGETS)
    values = ", ".join(t.insert_value("s", name) for name, t in _PERSON_TARGETS)
    updates = ", ".join(f"{t.column} = {t.new_value('EXCLUDED', 'p')}"
                        for _n, t in _PERSON_TARGETS if not t.insert_only)
    _run(session, f"""
        INSERT INTO person AS p ({columns})
        SELECT {values} FROM stage_person s ORDER BY s.id_hash
        ON CONFLICT (id_hash) DO UPDATE SET {updates},
               updated_at = TIMESTAMPTZ '{now}', version = p.version + 1
        WHERE {changed('EXCLUDED', by_target=True)}""")
    _run(session, """
        CREATE TEMP TABLE stage_person_id ON COMMIT DROP AS
        SELECT s.id_hash, p.id AS person_id
        FROM stage_person s JOIN person p ON p.id_hash = s.id_hash""")
    return added, updated


def _relations(session: Session, params: dict[str, object],
               counties: Sequence[str]) -> tuple[int, int]:
    # The last row of a relation wins (its extra columns); integer keys lead the sort.
    _run(session, """
        CREATE TEMP TABLE stage_relation ON COMMIT DROP AS
        SELECT DISTINCT ON (sh.house_id, sp.person_id, r.relation)
               r.county, sh.house_id, sp.person_id, r.relation, r.extra
        FROM stage_register r
        JOIN stage_house sh ON sh.county = r.county AND sh.house_norm = r.house_norm
        JOIN stage_person_id sp ON sp.id_hash = r.id_hash
        ORDER BY sh.house_id, sp.person_id, r.relation, r.line DESC""")
    _run(session, "CREATE INDEX ON stage_relation (county, house_id, person_id)")
    # One pass finds and updates the changed relations and logs them; `old` is the row as
    # it was before this statement (a re-import that changes nothing joins only once).
    updated = _run(session, f"""
        WITH changed AS (
            UPDATE person_house ph SET attributes = ph.attributes || s.extra,
                   updated_at = now(), version = ph.version + 1
            FROM stage_relation s, person_house old
            WHERE {county_in('ph', counties)} AND {county_in('old', counties)}
              AND s.county = ph.county AND s.house_id = ph.house_id
              AND s.person_id = ph.person_id AND s.relation = ph.relation
              AND ph.valid_to IS NULL AND ph.attributes IS DISTINCT FROM ph.attributes || s.extra
              AND old.county = ph.county AND old.id = ph.id
            RETURNING ph.county, ph.id, old.attributes AS previous, ph.attributes AS current)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'person_house', id::text, 'update', :actor, :src,
               jsonb_build_object('attributes', previous),
               jsonb_build_object('attributes', current)
        FROM changed""", params)
    added = _run(session, f"""
        WITH added AS (
            INSERT INTO person_house (county, person_id, house_id, relation, source,
                                      import_run_id, attributes)
            SELECT s.county, s.person_id, s.house_id, s.relation, :src, :run, s.extra
            FROM stage_relation s
            LEFT JOIN person_house ph  -- an anti-join: Citus refuses NOT EXISTS on a local table
                   ON ph.county = s.county AND ph.house_id = s.house_id
                  AND ph.person_id = s.person_id AND ph.relation = s.relation
                  AND ph.valid_to IS NULL AND {county_in('ph', counties)}
            WHERE ph.id IS NULL
            ORDER BY s.county, s.house_id  -- index order: fewer page visits
            RETURNING county, id, person_id, house_id, relation)
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'person_house', id::text, 'insert', :actor, :src, NULL,
               jsonb_build_object('person_id', person_id, 'house_id', house_id,
                                  'relation', relation)
        FROM added""", params)
    return added, updated


__all__ = ["apply_staged"]
