"""Where a changed object lies: its community and estate code, for the scope of a feed entry.

Looked up once, when the stamper numbers the change (:mod:`cimhouse.feed.stamp_changes`), in
one county (one shard on Citus; every query below is routed by ``county``). Objects are named
by id or by their 25-character code; a code in ``code_lineage`` is found through
``code_registry``. A region is its own place (its code padded to 12 digits, so region scopes
compare it like a community). What cannot be found (a deleted row) falls back to the
``region_code`` kept in the change itself, else to the community part of a code, else NULL:
such an entry is visible only to principals without a scope.

Example::

    >>> resolve_scopes(conn, "330402", [("house", "17", None), ("region", "330402001", None)])
    [('330402001002', '3304020010020010000000004'), ('330402001000', None)]
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

Place = tuple[str | None, str | None]  # (community code, estate code)

# kind -> SQL giving (id, code, region_code, estate code) of the objects named in :ids / :codes
_LOOKUP = {
    "estate": """
        SELECT o.id, o.code, o.region_code, o.code FROM estate o
        WHERE o.county = :c AND (o.id = ANY(:ids) OR o.code = ANY(:codes))""",
    "building": """
        SELECT o.id, o.code, o.region_code, e.code FROM building o
        LEFT JOIN estate e ON e.county = o.county AND e.id = o.estate_id
        WHERE o.county = :c AND (o.id = ANY(:ids) OR o.code = ANY(:codes))""",
    "house": """
        SELECT o.id, o.code, o.region_code, e.code FROM house o
        LEFT JOIN building b ON b.county = o.county AND b.id = o.building_id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE o.county = :c AND (o.id = ANY(:ids) OR o.code = ANY(:codes))""",
    "facility": """
        SELECT o.id, NULL, o.region_code, e.code FROM facility o
        LEFT JOIN estate e ON e.county = o.county AND e.id = o.estate_id
        WHERE o.county = :c AND o.id = ANY(:ids)""",
    "person_house": """
        SELECT o.id, NULL, h.region_code, e.code FROM person_house o
        JOIN house h ON h.county = o.county AND h.id = o.house_id
        LEFT JOIN building b ON b.county = h.county AND b.id = h.building_id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE o.county = :c AND o.id = ANY(:ids)""",
    # A household lies at its registered house; a membership at its household's house.
    "household": """
        SELECT o.id, NULL, h.region_code, e.code FROM household o
        JOIN house h ON h.county = o.county AND h.id = o.house_id
        LEFT JOIN building b ON b.county = h.county AND b.id = h.building_id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE o.county = :c AND o.id = ANY(:ids)""",
    "household_member": """
        SELECT o.id, NULL, h.region_code, e.code FROM household_member o
        JOIN household hh ON hh.county = o.county AND hh.id = o.household_id
        JOIN house h ON h.county = hh.county AND h.id = hh.house_id
        LEFT JOIN building b ON b.county = h.county AND b.id = h.building_id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE o.county = :c AND o.id = ANY(:ids)""",
    # A person lies where one of their relations in this county is (the current one first).
    "person": """
        SELECT DISTINCT ON (o.person_id) o.person_id, NULL, h.region_code, e.code
        FROM person_house o
        JOIN house h ON h.county = o.county AND h.id = o.house_id
        LEFT JOIN building b ON b.county = h.county AND b.id = h.building_id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        WHERE o.county = :c AND o.person_id = ANY(:ids)
        ORDER BY o.person_id, o.valid_to IS NULL DESC, o.id DESC""",
}


def _split(keys: Sequence[str]) -> tuple[list[int], list[str]]:
    ids = [int(k) for k in keys if k.isdigit() and len(k) < 19]
    codes = [k for k in keys if len(k) == 25]
    return ids, codes


def _places(conn: Connection, county: str, kind: str, keys: Sequence[str]
            ) -> dict[str, Place]:
    ids, codes = _split(keys)
    found: dict[str, Place] = {}
    if kind in _LOOKUP and (ids or codes):
        for oid, code, region, estate in conn.execute(
                text(_LOOKUP[kind]), {"c": county, "ids": ids, "codes": codes}):
            found[str(oid)] = (region, estate)
            if code:
                found[code] = (region, estate)
    return found


def resolve_scopes(conn: Connection, county: str,
                   changes: Sequence[tuple[str, str | None, str | None]]) -> list[Place]:
    """(community, estate code) of each (kind, object, region hint), in the same order."""
    by_kind: dict[str, set[str]] = {}
    for kind, obj, _ in changes:
        if obj is not None:
            by_kind.setdefault(kind, set()).add(obj)
    codes = sorted(by_kind.pop("code", set()))
    places: dict[tuple[str, str], Place] = {}
    target: dict[str, tuple[str, str]] = {}  # code -> (kind, object id)
    if codes:  # a code names its object through the registry
        for code, kind, oid in conn.execute(text(
                "SELECT code, object_kind, object_id::text FROM code_registry "
                "WHERE county = :c AND code = ANY(:codes)"), {"c": county, "codes": codes}):
            by_kind.setdefault(kind, set()).add(oid)
            target[code] = (kind, oid)
    for kind, keys in by_kind.items():
        for key, found in _places(conn, county, kind, sorted(keys)).items():
            places[(kind, key)] = found
    out: list[Place] = []
    for kind, obj, hint in changes:
        place: Place | None = None
        if kind == "region" and obj:
            place = (obj.ljust(12, "0")[:12], None)
        elif kind == "code" and obj:
            named = target.get(obj)
            place = (places.get(named) if named else None) or (
                obj[:12] if len(obj) == 25 else None, None)
        elif obj is not None:
            place = places.get((kind, obj))
        out.append(place or (hint[:12] if hint else None, None))
    return out
