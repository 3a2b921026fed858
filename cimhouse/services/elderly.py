"""Elderly people living alone (独居老人): houses whose only current resident is >= N years.

"Current resident" follows :func:`cimhouse.services.sql.living_sql`: a current
``resident`` or ``tenant`` relation, or, for a person who has neither anywhere, the house
they are registered at (a ``registered`` relation or their household's house). A house
qualifies when exactly one person lives there and is at least ``min_age`` (60 by default;
80 for the oldest old) on ``as_of``. Living alone is about the house, not the household
register (人户分离): an elderly person registered with a child's household elsewhere who
lives alone is listed; one registered alone who lives with a child's family is not.

Each entry carries the person's current household (户) when it is registered at a house of
the scope: its number, its current size, and ``registered_here`` (the household's house is
the one they live alone in; false: 人户分离). A household registered outside the scope is
not named (all three are None), so the list says nothing about houses it may not see.

Personal data stays masked (name ``张*``, ID ``330402********1234``, phone ``138****5678``)
unless the caller passes ``reveal=True`` with a vault; every full read then writes one
``audit_log`` row (action ``pii.read``) per person, without the data itself. Checking that
the caller holds the ``pii_reader`` role is the edge's job (GraphQL resolver). Names follow
the one rule of the API (docs/graphql.md): a caller who may see persons sees their names in
full, so GraphQL passes ``full_names=True``; files (the services report) keep them masked.

Example::

    people = list_elderly_living_alone(session, parse_scope("330402001001"), min_age=80)
    people[0].house_code, people[0].age, people[0].name
    # ('3304020010010010010010019', 86, '王*')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.pii import PiiVault
from cimhouse.schema import AuditLog
from cimhouse.scope import Scope
from cimhouse.services.sql import (
    current_sql,
    hash_joins_for_wide_scope,
    house_scope_sql,
    living_sql,
    tune_for_analysis,
)


@dataclass(frozen=True)
class ElderlyAlone:
    house_code: str | None
    address: str | None
    estate_code: str | None
    estate_name: str | None
    region_code: str
    age: int
    gender: str | None
    name: str  # masked unless revealed or full_names
    id_number: str  # masked unless revealed
    phone: str | None  # masked unless revealed
    revealed: bool
    household_number: str | None = None  # 户号, when registered at a house of the scope
    household_size: int | None = None  # its current members
    registered_here: bool | None = None  # the household's house is this one (else 人户分离)


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张**``: the family name stays, given names are starred."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def alone_sql(scope: Scope | None) -> str:
    """SQL of (county, house_id, person_id): houses with exactly one current resident, any
    age (the home-safety rules add the age and their own conditions; see cimhouse.safety)."""
    return f"""
            SELECT ph.county, ph.house_id, min(ph.person_id) AS person_id
            FROM ({living_sql(scope)}) ph
            GROUP BY ph.county, ph.house_id HAVING count(DISTINCT ph.person_id) = 1"""


def _households_sql(scope: Scope | None) -> str:
    """CTE body: current households registered at a house of ``scope``, one row per member
    (person_id, number, house, size); materialised, so that Citus ships it to the shards.
    One household per person: a person current in households of two counties (a register
    conflict) shows the first by county."""
    return f"""
            SELECT DISTINCT ON (person_id) person_id, number, county, house_id, size
            FROM (SELECT m.person_id, hh.number, hh.county, hh.house_id,
                         count(*) OVER (PARTITION BY m.county, m.household_id) AS size
                  FROM household hh
                  JOIN house h ON h.county = hh.county AND h.id = hh.house_id
                  JOIN household_member m ON m.county = hh.county AND m.household_id = hh.id
                  WHERE ({house_scope_sql(scope)}) AND {current_sql('m')}) s
            ORDER BY person_id, county"""


def _sql(scope: Scope | None) -> str:
    return f"""
        WITH alone AS ({alone_sql(scope)}),
        registered AS MATERIALIZED ({_households_sql(scope)})
        SELECT house.code AS house_code,
               COALESCE(house.address_norm, b.address_norm) AS address,
               e.code AS estate_code, e.name AS estate_name, house.region_code,
               CAST(date_part('year', age(CAST(:as_of AS date), p.birth_date)) AS integer)
                   AS age,
               p.id AS person_id, p.gender, p.name, p.id_masked, p.id_cipher,
               p.phone_masked, p.phone_cipher, r.number AS household_number,
               r.size AS household_size,
               CASE WHEN r.number IS NOT NULL
                    THEN r.county = a.county AND r.house_id = a.house_id END AS registered_here
        FROM alone a
        JOIN house ON house.county = a.county AND house.id = a.house_id
        JOIN person p ON p.id = a.person_id
        JOIN building b ON b.county = house.county AND b.id = house.building_id
        LEFT JOIN estate e ON e.county = b.county AND e.id = b.estate_id
        LEFT JOIN registered r ON r.person_id = p.id
        WHERE p.birth_date <= CAST(:as_of AS date) - make_interval(years => :min_age)
        ORDER BY house.region_code, e.code, house.code, house.id
        LIMIT :limit OFFSET :offset
    """


def list_elderly_living_alone(session: Session, scope: Scope | None, *, min_age: int = 60,
                              as_of: dt.date | None = None, limit: int | None = None,
                              offset: int = 0, reveal: bool = False,
                              vault: PiiVault | None = None, actor: str = "cli",
                              full_names: bool = False) -> list[ElderlyAlone]:
    """Houses in ``scope`` whose only current resident is at least ``min_age`` years old."""
    if not 0 <= min_age <= 150:
        raise InvalidInput(_("min_age must be between 0 and 150"))
    if reveal and vault is None:
        raise InvalidInput(_("revealing personal data needs the vault"))
    params = {"as_of": as_of or dt.date.today(), "min_age": min_age, "limit": limit,
              "offset": max(0, offset)}
    tune_for_analysis(session)
    with hash_joins_for_wide_scope(session, scope):
        rows = session.execute(text(_sql(scope)), params).all()
    people: list[ElderlyAlone] = []
    for r in rows:
        if reveal and vault is not None:
            name, id_number = r.name, vault.decrypt(r.id_cipher)
            phone = vault.decrypt(r.phone_cipher) if r.phone_cipher else None
            session.add(AuditLog(actor=actor, action="pii.read", object_kind="person",
                                 object_ref=str(r.person_id),
                                 detail={"purpose": "elderly_living_alone",
                                         "house_code": r.house_code,
                                         "fields": ["name", "id_number", "phone"]}))
        else:
            name = r.name if full_names else mask_name(r.name)
            id_number, phone = r.id_masked, r.phone_masked
        people.append(ElderlyAlone(
            house_code=r.house_code, address=r.address, estate_code=r.estate_code,
            estate_name=r.estate_name, region_code=r.region_code, age=int(r.age),
            gender=r.gender, name=name, id_number=id_number, phone=phone, revealed=reveal,
            household_number=r.household_number,
            household_size=None if r.household_size is None else int(r.household_size),
            registered_here=r.registered_here))
    if reveal:
        session.flush()
    return people
