"""Households (户) as they were on a day D: which households a house had, which household a
person belonged to, and the household's house on D.

The rules (docs/feed.md, "Time travel"), built on :mod:`.rewind_rows`:

- a household **existed** on D when at least one of its memberships was valid on D;
- its kind and **house on D** come from ``change_log`` (the register import logs a move as
  ``{"house_id": old}`` in ``previous``), like any attribute;
- a house **had** household X on D when X existed on D, X's house on D was that house, and
  the house itself existed on D (a demolished house has no households from that day: its
  registrations wait for a transfer, the members still belong to their household);
- a person **belonged** to X on D when one of the person's memberships of X was valid on D.

So for every person P and day D: ``P.household(asOf: D).house(asOf: D)`` is house H exactly
when that household is among ``H.households(asOf: D)`` with P among its members on D.
The scope applies to the household's current house, as for every ``asOf`` list (a date
never widens what a token sees).

Example::

    rows = session.execute(households_of_houses_on(day, scope, [("330402", 17)]))
    for household, undo in rows:
        print(rewind(household, undo).house_id)      # 17: registered there on ``day``
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, and_, any_, bindparam, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from cimhouse.schema import House, Household, HouseholdMember
from cimhouse.scope import Scope
from cimhouse.timetravel.rewind_rows import (
    as_of_select,
    undo_changes,
    value_on,
)

HouseKey = tuple[str, int]


def _any(column: Any, values: list[Any], item: Any) -> ColumnElement[bool]:
    return column == any_(bindparam(None, sorted(set(values)), type_=ARRAY(item)))  # type: ignore[no-any-return]


def houses_existing_on(day: dt.date, scope: Scope | None,
                       keys: list[HouseKey]) -> Select[str, int]:
    """``(county, id)`` of the houses among ``keys`` (in scope) that existed on ``day``."""
    return as_of_select(House, day, scope).with_only_columns(House.county, House.id).where(
        _any(House.county, [k[0] for k in keys], String),
        _any(House.id, [k[1] for k in keys], BigInteger))


def households_of_houses_on(day: dt.date, scope: Scope | None,
                            keys: list[HouseKey]) -> Select[Any]:
    """``(household, undo)`` of the households that existed on ``day`` and were registered
    then at one of the houses ``keys`` (the caller keeps the houses that existed on ``day``:
    :func:`houses_existing_on`). Ordered by county, number, id."""
    undo = undo_changes(Household, day, scope.county_keys if scope else ())
    house_then = value_on(Household.house_id, undo.c.undo)
    return (as_of_select(Household, day, scope, undo)
            .where(_any(Household.county, [k[0] for k in keys], String),
                   _any(house_then, [k[1] for k in keys], BigInteger))
            .add_columns(house_then.label("house_then"))
            .order_by(Household.county, Household.number, Household.id))


def household_of_persons_on(day: dt.date, scope: Scope | None,
                            person_ids: list[int]) -> Select[Any]:
    """``(person_id, household, undo)``: the household each of ``person_ids`` belonged to on
    ``day`` (a membership valid then), in scope; at most one per county."""
    undo = undo_changes(Household, day, scope.county_keys if scope else ())
    # an alias: the existence rule's EXISTS over household_member must not correlate to it
    m = aliased(HouseholdMember)
    member = and_(m.county == Household.county, m.household_id == Household.id,
                  or_(m.valid_from.is_(None), m.valid_from <= day),
                  or_(m.valid_to.is_(None), m.valid_to > day))  # membership_valid_on(day)
    return (as_of_select(Household, day, scope, undo)
            .join_from(Household, m, member)
            .where(_any(m.person_id, person_ids, BigInteger))
            .add_columns(m.person_id)
            .order_by(m.person_id, Household.county, Household.id))


__all__ = ["household_of_persons_on", "households_of_houses_on", "houses_existing_on"]
