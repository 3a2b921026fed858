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

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import execute_count

_HOUSE_FIELDS = ("building_id", "unit_label", "floor_label", "floor_number", "room_label",
                 "area_m2", "use", "address_norm", "realestate_unit_no")

_DROP_DERIVED = ("DROP TABLE IF EXISTS stage_estate, stage_building, stage_house, stage_person, "
                 "stage_relation")


def _run(session: Session, sql: str, params: dict[str, object] | None = None) -> int:
    return execute_count(session, text(sql), params)


def apply_staged(session: Session, *, actor: str, run_id: int) -> dict[str, int]:
    """Apply ``stage_register`` to the model; return counts of what was added and updated."""
    params: dict[str, object] = {"actor": actor, "src": f"import_run:{run_id}", "run": run_id}
    counts: dict[str, int] = {}
    # Sorts and hashes over a million staged rows spill to disk at the default work_mem;
    # LOCAL keeps the larger setting to this transaction.
    _run(session, "SET LOCAL work_mem = '256MB'")
    _run(session, _DROP_DERIVED)  # an earlier import in the same transaction left them
    _run(session, "ANALYZE stage_register")
    counts["estates_added"] = _estates(session, params)
    counts["buildings_added"] = _buildings(session, params)
    counts["houses_added"], counts["houses_updated"] = _houses(session, params)
    counts["persons_added"], counts["persons_updated"] = _persons(session, params)
    counts["relations_added"], counts["relations_updated"] = _relations(session, params)
    _run(session, _DROP_DERIVED)
    return counts


def _estates(session: Session, params: dict[str, object]) -> int:
    _run(session, """
        CREATE TEMP TABLE stage_estate ON COMMIT DROP AS
        SELECT DISTINCT ON (county, region_code, estate_name)
               county, region_code, estate_name, estate_kind, NULL::bigint AS estate_id
        FROM stage_register WHERE estate_name IS NOT NULL
        ORDER BY county, region_code, estate_name, line""")
    match = """
        UPDATE stage_estate s SET estate_id = (
            SELECT min(e.id) FROM estate e
            WHERE e.county = s.county AND e.region_code = s.region_code
              AND (e.name = s.estate_name OR s.estate_name = ANY (e.aliases)))
        WHERE s.estate_id IS NULL"""
    _run(session, match)
    added = _run(session, """
        INSERT INTO estate (county, name, region_code, kind, status, source)
        SELECT county, estate_name, region_code, estate_kind, 'in_use', :src
        FROM stage_estate WHERE estate_id IS NULL""", params)
    if added:
        _run(session, match)
    return added


def _buildings(session: Session, params: dict[str, object]) -> int:
    _run(session, """
        CREATE TEMP TABLE stage_building ON COMMIT DROP AS
        SELECT DISTINCT ON (r.county, r.building_norm)
               r.county, r.building_norm, r.region_code, r.building_label, se.estate_id,
               NULL::bigint AS building_id
        FROM stage_register r
        LEFT JOIN stage_estate se ON se.county = r.county AND se.region_code = r.region_code
                                 AND se.estate_name = r.estate_name
        ORDER BY r.county, r.building_norm, r.line""")
    _run(session, "CREATE INDEX ON stage_building (county, building_norm)")
    match = """
        UPDATE stage_building s SET building_id = b.id FROM building b
        WHERE b.county = s.county AND b.address_norm = s.building_norm
          AND s.building_id IS NULL"""
    _run(session, match)
    added = _run(session, """
        INSERT INTO building (county, estate_id, region_code, building_label, address_norm,
                              status, source)
        SELECT county, estate_id, region_code, building_label || '幢', building_norm,
               'in_use', :src
        FROM stage_building WHERE building_id IS NULL""", params)
    if added:
        _run(session, match)
    return added


def _houses(session: Session, params: dict[str, object]) -> tuple[int, int]:
    # The last row of a house wins (an updated register lists the new values last).
    _run(session, """
        CREATE TEMP TABLE stage_house ON COMMIT DROP AS
        SELECT DISTINCT ON (r.county, r.house_norm)
               r.county, r.house_norm, r.region_code, sb.building_id, r.unit_label,
               r.floor_label, r.floor_number, r.room_label, r.area_m2, r.house_use,
               r.realestate_no, r.lon, r.lat, NULL::bigint AS house_id
        FROM stage_register r
        JOIN stage_building sb ON sb.county = r.county AND sb.building_norm = r.building_norm
        ORDER BY r.county, r.house_norm, r.line DESC""")
    _run(session, "CREATE INDEX ON stage_house (county, house_norm)")
    by_unit_no = """
        UPDATE stage_house s SET house_id = h.id FROM house h
        WHERE s.realestate_no IS NOT NULL AND h.county = s.county
          AND h.realestate_unit_no = s.realestate_no AND s.house_id IS NULL"""
    by_address = """
        UPDATE stage_house s SET house_id = h.id FROM house h
        WHERE h.county = s.county AND h.address_norm = s.house_norm AND s.house_id IS NULL"""
    _run(session, by_unit_no)
    _run(session, by_address)
    # Empty register cells never erase known values: COALESCE keeps the stored one.
    new_values = {
        "building_id": "s.building_id", "unit_label": "s.unit_label",
        "floor_label": "COALESCE(s.floor_label, h.floor_label)",
        "floor_number": "COALESCE(s.floor_number, h.floor_number)",
        "room_label": "s.room_label", "area_m2": "COALESCE(s.area_m2, h.area_m2)",
        "use": "s.house_use", "address_norm": "s.house_norm",
        "realestate_unit_no": "COALESCE(s.realestate_no, h.realestate_unit_no)",
    }
    location = ("CASE WHEN s.lon IS NULL THEN h.attributes ELSE h.attributes || "
                "jsonb_build_object('location', jsonb_build_array(s.lon, s.lat)) END")
    changed = " OR ".join(f"h.{f} IS DISTINCT FROM {v}" for f, v in new_values.items())
    changed += f" OR h.attributes IS DISTINCT FROM {location}"
    prev = ", ".join(f"'{f}', h.{f}" for f in _HOUSE_FIELDS) + ", 'location', " \
        "h.attributes -> 'location'"
    cur = ", ".join(f"'{f}', {new_values[f]}" for f in _HOUSE_FIELDS) + ", 'location', " \
        f"({location}) -> 'location'"
    _run(session, f"""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT h.county, 'house', h.id::text, 'update', :actor, :src,
               jsonb_build_object({prev}), jsonb_build_object({cur})
        FROM house h JOIN stage_house s ON s.county = h.county AND s.house_id = h.id
        WHERE {changed}""", params)
    assignments = ", ".join(f"{f} = {v.replace('h.', 'house.')}" for f, v in new_values.items())
    updated = _run(session, f"""
        UPDATE house SET {assignments},
               attributes = {location.replace('h.', 'house.')},
               updated_at = now(), version = house.version + 1
        FROM stage_house s
        WHERE s.county = house.county AND s.house_id = house.id
          AND ({changed.replace('h.', 'house.')})""")
    added = _run(session, """
        INSERT INTO house (county, building_id, region_code, unit_label, floor_label,
                           floor_number, room_label, area_m2, area_source, use, address_norm,
                           realestate_unit_no, attributes, status, source)
        SELECT county, building_id, region_code, unit_label, floor_label, floor_number,
               room_label, area_m2, CASE WHEN area_m2 IS NULL THEN NULL ELSE 'register' END,
               house_use, house_norm, realestate_no,
               CASE WHEN lon IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('location', jsonb_build_array(lon, lat)) END,
               'in_use', :src
        FROM stage_house WHERE house_id IS NULL""", params)
    if added:
        _run(session, by_address)
    return added, updated


def _persons(session: Session, params: dict[str, object]) -> tuple[int, int]:
    _run(session, """
        CREATE TEMP TABLE stage_person ON COMMIT DROP AS
        SELECT DISTINCT ON (id_hash) id_hash, county, person_name, id_cipher, id_masked,
               gender, birth_date, phone_cipher, phone_masked
        FROM stage_register ORDER BY id_hash, line DESC""")
    _run(session, "CREATE UNIQUE INDEX ON stage_person (id_hash)")
    # Phones are compared by their masked form: ciphertexts differ on every encryption.
    changed = ("(p.name <> s.person_name OR (s.phone_masked IS NOT NULL AND "
               "p.phone_masked IS DISTINCT FROM s.phone_masked))")
    _run(session, f"""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT s.county, 'person', p.id::text, 'update', :actor, :src,
               jsonb_build_object('name', p.name, 'phone_masked', p.phone_masked),
               jsonb_build_object('name', s.person_name,
                                  'phone_masked', COALESCE(s.phone_masked, p.phone_masked))
        FROM person p JOIN stage_person s ON s.id_hash = p.id_hash WHERE {changed}""", params)
    updated = _run(session, f"""
        UPDATE person p SET name = s.person_name,
               phone_cipher = COALESCE(s.phone_cipher, p.phone_cipher),
               phone_masked = COALESCE(s.phone_masked, p.phone_masked),
               updated_at = now(), version = p.version + 1
        FROM stage_person s WHERE s.id_hash = p.id_hash AND {changed}""")
    added = _run(session, """
        INSERT INTO person (name, id_hash, id_cipher, id_masked, gender, birth_date,
                            phone_cipher, phone_masked)
        SELECT person_name, id_hash, id_cipher, id_masked, gender, birth_date, phone_cipher,
               phone_masked
        FROM stage_person ORDER BY id_hash
        ON CONFLICT (id_hash) DO NOTHING""")
    return added, updated


def _relations(session: Session, params: dict[str, object]) -> tuple[int, int]:
    _run(session, """
        CREATE TEMP TABLE stage_relation ON COMMIT DROP AS
        SELECT DISTINCT ON (r.county, sh.house_id, p.id, r.relation)
               r.county, sh.house_id, p.id AS person_id, r.relation, r.extra
        FROM stage_register r
        JOIN stage_house sh ON sh.county = r.county AND sh.house_norm = r.house_norm
        JOIN person p ON p.id_hash = r.id_hash
        ORDER BY r.county, sh.house_id, p.id, r.relation, r.line DESC""")
    _run(session, "CREATE INDEX ON stage_relation (county, house_id, person_id)")
    current = """
        FROM person_house ph JOIN stage_relation s
          ON s.county = ph.county AND s.house_id = ph.house_id
         AND s.person_id = ph.person_id AND s.relation = ph.relation
        WHERE ph.valid_to IS NULL"""
    _run(session, f"""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT ph.county, 'person_house', ph.id::text, 'update', :actor, :src,
               jsonb_build_object('attributes', ph.attributes),
               jsonb_build_object('attributes', ph.attributes || s.extra)
        {current} AND ph.attributes IS DISTINCT FROM ph.attributes || s.extra""", params)
    updated = _run(session, """
        UPDATE person_house ph SET attributes = ph.attributes || s.extra,
               updated_at = now(), version = ph.version + 1
        FROM stage_relation s
        WHERE s.county = ph.county AND s.house_id = ph.house_id
          AND s.person_id = ph.person_id AND s.relation = ph.relation
          AND ph.valid_to IS NULL AND ph.attributes IS DISTINCT FROM ph.attributes || s.extra""")
    added = _run(session, """
        INSERT INTO person_house (county, person_id, house_id, relation, source,
                                  import_run_id, attributes)
        SELECT s.county, s.person_id, s.house_id, s.relation, :src, :run, s.extra
        FROM stage_relation s
        WHERE NOT EXISTS (
            SELECT 1 FROM person_house ph
            WHERE ph.county = s.county AND ph.house_id = s.house_id
              AND ph.person_id = s.person_id AND ph.relation = s.relation
              AND ph.valid_to IS NULL)
        ORDER BY s.county, s.house_id""", params)  # index order: fewer page visits
    return added, updated


__all__ = ["apply_staged"]
