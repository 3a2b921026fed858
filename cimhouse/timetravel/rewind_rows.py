"""Rows as they were on a day D: which objects existed, and their attribute values then.

The definitions (docs/feed.md, "Time travel"); a *day* is a calendar day of the server's
local time, like the default ``asOf`` (today) and ``cimhouse changes --since DATE``:

- **estate, building, house, facility** existed on D when it was created on or before D
  (``created_at`` before the end of D), its status on D is not a retiring one
  (``demolished``, ``registered_in_error``) and its code was not retired on or before D
  (``code_registry.retired_at``: a split or merged house keeps its row, out of use, but
  its code is retired). A house demolished on D is absent on D.
- **attributes on D**: ``change_log`` rows of the object recorded after D are undone, latest
  first: for each column, the ``previous`` value of the *earliest* later change that names it
  is the value on D; a column no later change names has its current value. The house code
  is also absent on D when ``code_registry`` issued it after D (code assignment date).
  Geometries always have their current value (``change_log`` keeps no geometry).
- **person-house relation** valid on D: ``valid_from`` empty or <= D, ``valid_to`` empty or
  > D (``valid_to`` is the first day it no longer holds), in a house that existed on D.
- **household** existed on D when at least one membership was valid on D (same rule on the
  membership's dates); its kind and house on D come from ``change_log`` like the attributes.

Example::

    query = as_of_select(House, dt.date(2026, 1, 1), scope)      # existing on 1 January
    for house, undo in session.execute(query.limit(10)):
        print(rewind(house, undo).status)                          # the status on 1 January
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    or_,
    select,
    text,
    true,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import ColumnElement, Subquery
from sqlalchemy.sql.elements import BindParameter

from cimhouse.schema import Building, CodeRegistry, Estate, Facility, House, PersonHouse
from cimhouse.schema.household import Household, HouseholdMember
from cimhouse.schema.vocab import RETIRING_STATUSES
from cimhouse.scope import Scope, scope_filter

#: the models that can be rewound, with their ``change_log.object_kind``
KINDS: dict[Any, str] = {Estate: "estate", Building: "building", House: "house",
                         Facility: "facility", Household: "household"}
_CODED = (Estate, Building, House)  # have a code: change_log names them by code or id


def day_end(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` (server local time): what happens from then on is
    later than D.

    >>> day_end(dt.date(2026, 1, 1)).date()
    datetime.date(2026, 1, 2)
    """
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min).astimezone()


def undo_changes(model: Any, day: dt.date, counties: tuple[str, ...] = ()) -> Subquery:
    """Per object changed after ``day``: ``undo`` = {column: value on D} (county, id, undo).

    The earliest later change naming a column wins (DISTINCT ON ... ORDER BY time, id); code
    issues after D count as ``{"code": null}`` but sort after a change recorded at the same
    instant. Everything is grouped by ``county``, the distribution column, so Citus pushes it
    down to the shards (no reference or local table is joined).
    """
    kind, table = KINDS[model], model.__tablename__
    tag = f"{day:%Y%m%d}"  # two days in one statement (an interval): distinct names
    # change_log names an object by its code or by its id (uncoded, or the register import):
    # two equi-joins, not one OR (an OR join is a nested loop over every row pair). The id
    # is compared as a number computed from the change (canonical decimals only, as
    # ``t.id::text`` would), so the few changes after D probe the primary key; ``t.id::text``
    # made it hash every row of the table, in every statement.
    by_id = "t.id = CASE WHEN c.object_id ~ '^[1-9][0-9]{0,17}$' THEN c.object_id::bigint END"
    matches = ["t.code = c.object_id", by_id] if model in _CODED else [by_id]
    on_county = f"AND c.county = ANY(:tt_counties_{tag})" if counties else ""
    logged = "\n            UNION ALL".join(f"""
            SELECT c.county, t.id, e.key, e.value, c.changed_at AS at, c.id AS ord
            FROM change_log c
            JOIN {table} t ON t.county = c.county AND {match}
            CROSS JOIN LATERAL jsonb_each(c.previous) e
            WHERE c.object_kind = :tt_kind_{tag} AND c.changed_at >= :tt_cut_{tag}
              AND jsonb_typeof(c.previous) = 'object' {on_county}""" for match in matches)
    issued = f"""
            UNION ALL
            SELECT r.county, r.object_id, 'code', 'null'::jsonb, r.issued_at,
                   9223372036854775807
            FROM code_registry r
            WHERE r.object_kind = :tt_kind_{tag} AND r.issued_at >= :tt_cut_{tag}
              {on_county.replace('c.county', 'r.county')}""" if model in _CODED else ""
    sql = text(f"""
        SELECT county, id, jsonb_object_agg(key, value) AS undo FROM (
          SELECT DISTINCT ON (u.county, u.id, u.key) u.county, u.id, u.key, u.value FROM (
            {logged}{issued}
          ) u ORDER BY u.county, u.id, u.key, u.at, u.ord) f
        GROUP BY county, id""")
    params: list[BindParameter[Any]] = [bindparam(f"tt_kind_{tag}", kind, type_=String),
              bindparam(f"tt_cut_{tag}", day_end(day), type_=DateTime(timezone=True))]
    if counties:
        params.append(bindparam(f"tt_counties_{tag}", list(counties), type_=ARRAY(String)))
    return sql.bindparams(*params).columns(
        county=String, id=Integer, undo=JSONB).subquery(f"undo_{table}_{tag}")


def value_on(column: Any, undo: Any) -> ColumnElement[Any]:
    """``column``'s value on D: the undone value when a later change names it."""
    key = column.key
    return case((undo.has_key(key), undo[key].astext.cast(column.type)), else_=column)


def existed_on(model: Any, undo: Any, day: dt.date) -> ColumnElement[bool]:
    """Created on or before D, not in a retiring status on D, code not retired by D
    (households: a membership valid on D)."""
    if model is Household:
        return household_existed_on(day)
    return and_(model.created_at < day_end(day),
                value_on(model.status, undo).not_in(RETIRING_STATUSES),
                *_code_live(model, day_end(day)))


def _code_live(model: Any, cut: dt.datetime) -> list[ColumnElement[bool]]:
    # A split or merged house keeps its row (status out_of_use) but its code is retired:
    # it no longer exists from that day. Correlated on (county, code): one shard on Citus.
    if model not in _CODED:
        return []
    return [~exists(select(1).where(CodeRegistry.county == model.county,
                                    CodeRegistry.code == model.code,
                                    CodeRegistry.retired_at < cut))]


def as_of_select(model: Any, day: dt.date, scope: Scope | None,
                 undo: Subquery | None = None) -> Select[Any]:
    """``(row, undo)`` of the ``model`` rows in ``scope`` that existed on ``day``
    (``undo``: the :func:`undo_changes` subquery, when the caller needs its column too).

    The scope applies to the current row (a security boundary never widens with a date).
    """
    if undo is None:
        undo = undo_changes(model, day, scope.county_keys if scope else ())
    return (select(model, undo.c.undo)
            .outerjoin(undo, and_(undo.c.county == model.county, undo.c.id == model.id))
            .where(_scoped(model, scope), existed_on(model, undo.c.undo, day)))


def _scoped(model: Any, scope: Scope | None) -> ColumnElement[bool]:
    if model is not Household:
        return scope_filter(model, scope)
    # a household lies where its (current) house lies; county key first for Citus
    return exists(select(1).where(House.county == Household.county,
                                  House.id == Household.house_id, scope_filter(House, scope)))


def rewind(row: Any, undo: dict[str, Any] | None) -> Any:
    """A detached copy of ``row`` with the values of ``undo`` (from :func:`undo_changes`)."""
    mapper, unloaded = sa_inspect(type(row)), sa_inspect(row).unloaded
    # deferred columns stay unloaded (reading them would cost one query per row)
    values = {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs
              if attr.key not in unloaded}
    for key, raw in (undo or {}).items():
        attr = mapper.column_attrs.get(key)
        if attr is None or isinstance(attr.columns[0].type, Geometry):
            continue  # not a column (a note, a reason) or a geometry ([lon, lat] only)
        values[key] = _typed(attr.columns[0].type, raw)
    copy = type(row)()
    for key, value in values.items():
        setattr(copy, key, value)
    return copy


def undone_value(model: Any, key: str, raw: Any) -> Any:
    """A value of ``undo`` as the Python value of ``model``'s column ``key``."""
    return _typed(sa_inspect(model).column_attrs[key].columns[0].type, raw)


def existed_between(model: Any, undo_start: Any, start: dt.date | None,
                    end: dt.date | None) -> ColumnElement[bool]:
    """Existed on at least one day of ``start``..``end`` (open when None): created on or
    before ``end``, and not yet retired on ``start`` (``undo_start``: undo of ``start``)."""
    conditions = []
    if end is not None:
        conditions.append(model.created_at < day_end(end))
    if start is not None:
        conditions.append(value_on(model.status, undo_start).not_in(RETIRING_STATUSES))
        conditions.extend(_code_live(model, day_end(start)))
    return and_(true(), *conditions)


def _typed(column_type: Any, raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(column_type, Numeric) and not isinstance(column_type, Integer):
        return decimal.Decimal(str(raw))
    if isinstance(column_type, Integer):
        return int(raw)
    if isinstance(column_type, DateTime):
        return dt.datetime.fromisoformat(str(raw))
    if isinstance(column_type, Date):
        return dt.date.fromisoformat(str(raw)[:10])
    if isinstance(column_type, String):
        return str(raw)
    return raw


def relation_valid_on(day: dt.date) -> ColumnElement[bool]:
    """A person-house relation valid on ``day`` (``valid_to`` exclusive)."""
    return _dates_hold(PersonHouse, day)


def membership_valid_on(day: dt.date) -> ColumnElement[bool]:
    """A household membership valid on ``day`` (``valid_to`` exclusive)."""
    return _dates_hold(HouseholdMember, day)


def household_existed_on(day: dt.date) -> ColumnElement[bool]:
    """A household with at least one membership valid on ``day``."""
    return exists(select(1).where(HouseholdMember.county == Household.county,
                                  HouseholdMember.household_id == Household.id,
                                  membership_valid_on(day)))


def _dates_hold(model: Any, day: dt.date) -> ColumnElement[bool]:
    return and_(or_(model.valid_from.is_(None), model.valid_from <= day),
                or_(model.valid_to.is_(None), model.valid_to > day))
