"""The one translator from database integrity errors to domain errors.

A constraint that fires is an expected failure (two callers creating the same token name at
once, a code already taken, a relation that is not in the vocabulary): the edges (GraphQL
mutations, the CLI) show it like any other :class:`~cimhouse.errors.CimhouseError`, with a
message that names no SQL, no table internals and no personal data. Constraint names follow
the naming convention of :mod:`cimhouse.schema.base`; a constraint not listed here falls back
to its SQLSTATE.

Example::

    >>> from sqlalchemy.exc import IntegrityError
    >>> class Diag: constraint_name = "uq_api_principal_name"
    >>> class Orig(Exception): sqlstate, diag = "23505", Diag()
    >>> error = integrity_error(IntegrityError("INSERT ...", {}, Orig()))
    >>> type(error).__name__, error.message
    ('Conflict', 'a principal with this name already exists')
"""

from __future__ import annotations

import re

from cimhouse.errors import CimhouseError, Conflict, InvalidInput, NotFound

_TAKEN = "this code is already given to another object"
_IFC = "an object with this IFC GlobalId already exists"

#: constraint name -> (domain error, message safe to show)
CONSTRAINT_ERRORS: dict[str, tuple[type[CimhouseError], str]] = {
    "uq_api_principal_name": (Conflict, "a principal with this name already exists"),
    "uq_api_principal_token_hash": (Conflict, "this token is already issued"),
    "uq_person_id_hash": (Conflict, "a person with this ID number already exists"),
    "uq_estate_county_code": (Conflict, _TAKEN),
    "uq_building_county_code": (Conflict, _TAKEN),
    "uq_house_county_code": (Conflict, _TAKEN),
    "pk_code_registry": (Conflict, _TAKEN),
    "uq_building_county_ifc_global_id": (Conflict, _IFC),
    "uq_storey_county_ifc_global_id": (Conflict, _IFC),
    "uq_house_county_ifc_global_id": (Conflict, _IFC),
    "uq_space_county_ifc_global_id": (Conflict, _IFC),
    "uq_region_code12": (Conflict, "a region with this code already exists"),
    "pk_region": (Conflict, "a region with this code already exists"),
    "pk_person_house": (Conflict, "this person already has this relation to the house"),
    "ck_person_house_relation": (InvalidInput, "unknown person-house relation"),
    "ck_person_house_valid_range": (InvalidInput, "a relation must end after it starts"),
    "ck_person_gender": (InvalidInput, "gender must be M or F"),
    "uq_household_county_number": (Conflict, "a household with this number already exists"),
    "uq_household_member_current": (Conflict, "the person is already in a household"),
    "uq_household_member_one_head": (Conflict, "the household already has a head"),
    "ck_household_kind": (InvalidInput, "unknown household kind"),
    "ck_household_member_relation": (InvalidInput, "unknown relation to the head"),
    "ck_household_member_valid_range": (InvalidInput, "a membership must end after it starts"),
    "ck_estate_status": (InvalidInput, "unknown lifecycle status"),
    "ck_building_status": (InvalidInput, "unknown lifecycle status"),
    "ck_house_status": (InvalidInput, "unknown lifecycle status"),
    "ck_facility_status": (InvalidInput, "unknown lifecycle status"),
    "ck_house_use": (InvalidInput, "unknown house use"),
    "ck_estate_kind": (InvalidInput, "unknown estate kind"),
    "ck_facility_category": (InvalidInput, "unknown facility category"),
    "ck_code_registry_code_format": (InvalidInput, "not a 25-character house code"),
    "ck_api_principal_scope_level": (InvalidInput, "unknown scope level"),
    "fk_building_region_code_region": (NotFound, "unknown region code"),
    "fk_estate_region_code_region": (NotFound, "unknown region code"),
    "fk_facility_region_code_region": (NotFound, "unknown region code"),
    "fk_house_region_code_region": (NotFound, "unknown region code"),
    "fk_region_parent_code_region": (NotFound, "unknown parent region code"),
    "fk_person_house_county_house_id_house": (NotFound, "the house does not exist"),
    "fk_person_house_person_id_person": (NotFound, "the person does not exist"),
}

#: SQLSTATE of a constraint not in the table -> (domain error, message)
SQLSTATE_ERRORS: dict[str, tuple[type[CimhouseError], str]] = {
    "23505": (Conflict, "the object already exists"),
    "23503": (Conflict, "the object is still referenced, or refers to one that does not exist"),
    "23514": (InvalidInput, "the values break a rule of the data model"),
    "23502": (InvalidInput, "a required value is missing"),
    "23P01": (Conflict, "the object overlaps an existing one"),
}


#: the constraint named in the server's message (``... violates unique constraint "x"``)
_NAMED_IN_MESSAGE = re.compile(r'constraint "([^"]+)"')


def _constraint_name(orig: BaseException) -> str | None:
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    # Citus passes a worker's error on without its fields (a reference table's constraint,
    # for one): the name is then only in the message
    found = _NAMED_IN_MESSAGE.search(getattr(diag, "message_primary", None) or str(orig))
    return found.group(1) if found else None


def integrity_error(exc: BaseException) -> CimhouseError:
    """The domain error for an integrity error (SQLAlchemy's wrapper or psycopg's own)."""
    orig = getattr(exc, "orig", None) or exc
    name = _constraint_name(orig)
    if name and name not in CONSTRAINT_ERRORS:
        # Citus reports the constraint of the shard: the name with "_<shard id>" appended
        base, _, shard = name.rpartition("_")
        name = base if shard.isdigit() and base in CONSTRAINT_ERRORS else name
    cls, message = CONSTRAINT_ERRORS.get(name or "") or SQLSTATE_ERRORS.get(
        getattr(orig, "sqlstate", None) or "", (Conflict, "the change contradicts stored data"))
    return cls(message, detail={"constraint": name} if name else None)


def is_integrity_error(exc: BaseException) -> bool:
    """True for SQLAlchemy's IntegrityError and for psycopg's (raised by COPY and raw SQL)."""
    import psycopg
    from sqlalchemy.exc import IntegrityError

    return isinstance(exc, IntegrityError | psycopg.errors.IntegrityError)


def is_unique_violation(exc: BaseException) -> bool:
    """A duplicate key, also from a COPY into a Citus table (which passes the worker's error
    on as an internal error, SQLSTATE XX000, with the same message)."""
    import psycopg

    if isinstance(exc, psycopg.errors.UniqueViolation):
        return True
    message = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
    return isinstance(exc, psycopg.errors.InternalError) and message.startswith(
        "duplicate key value violates unique constraint")
