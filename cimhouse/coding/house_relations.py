"""What the lifecycle of a house does to its person-house relations, and the one rule that
a retired house takes no new ones.

A house is *retired* when its code is retired: demolished or registered in error
(``retire_house``), or replaced by a split or a merge (status ``out_of_use``, registry
``retired``). Nobody lives in a retired house, so:

- retire ends every current relation of the house on the day of the operation;
- merge moves them to the merged house: the old relations end, the merged house gets one
  relation per person and kind from that day (two old houses of one owner give one);
- split ends them (nobody can tell from the register who lives in which part), or moves
  them all to the part the operator names (``relations_to``);
- a new or changed relation on a retired house is refused: :func:`require_open_house`
  raises :class:`Conflict` (GraphQL ``upsertPersonHouseRelation``), and its set-based form
  :func:`reject_rows_on_retired_houses` rejects the register rows (``import register``),
  with the same reason;
- the analyses (``cimhouse.services``) leave retired houses out.

Every ended or moved relation gets a ``change_log`` row (source: the operation).
"Current" means what :func:`cimhouse.services.sql.current_sql` means: not ended on the day
(``valid_to`` empty or later, ``valid_to`` being exclusive).

Example::

    ended = end_relations(session, house, actor="alice", source="retire_house",
                          note="demolished: 旧改拆除")
    require_open_house(session, house)   # Conflict: house ... is retired (demolished: ...)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import county_in, staged_counties
from cimhouse.errors import Conflict
from cimhouse.i18n import _
from cimhouse.schema import ChangeLog, CodeRegistry, House, PersonHouse
from cimhouse.schema.vocab import (
    RETIRING_STATUSES,
    RETIRING_STATUSES_SQL,
    CodeStatus,
    LifecycleStatus,
)

REJECT_REASON = ("房屋已注销（拆除、错登、拆分或合并），不再登记人员关系: {code} / the house "
                 "is retired (demolished, registered in error, split or merged) and takes "
                 "no new relations: {code}")
_SNAPSHOT_FIELDS = ("person_id", "house_id", "relation", "valid_from", "valid_to", "source")


def retired_house_sql(alias: str = "h", counties: Sequence[str] | None = None) -> str:
    """SQL that is true when the house row ``alias`` is retired (set-based callers).

    ``counties``: the houses' counties are among these (a code is registered in its house's
    county), so the registry is read on their Citus shards only (:func:`county_in`)."""
    # An uncorrelated IN over the (few) retired codes, codes being unique: Citus cannot
    # correlate code_registry with a house joined to a local table (the register import).
    where = "" if counties is None else f" AND {county_in('rr', counties)}"
    return (f"({alias}.status IN {RETIRING_STATUSES_SQL} OR ({alias}.status = 'out_of_use' "
            f"AND {alias}.code IN (SELECT rr.code FROM code_registry rr "
            f"WHERE rr.status = 'retired'{where})))")


def retirement(session: Session, house: House) -> str | None:
    """Why ``house`` is retired (the registry's reason), or None when it is not."""
    if house.code is None:
        return house.status if house.status in RETIRING_STATUSES else None
    reason = session.scalar(select(CodeRegistry.retire_reason).where(
        CodeRegistry.county == house.county, CodeRegistry.code == house.code,
        CodeRegistry.status == CodeStatus.RETIRED.value))
    if reason is None and house.status in RETIRING_STATUSES:
        return house.status
    return reason


def require_open_house(session: Session, house: House) -> None:
    """Conflict when ``house`` is retired: it takes no new or changed relations."""
    reason = retirement(session, house)
    if reason is not None:
        raise Conflict(_("house {code} is retired ({reason}); it takes no new relations: record "
                         "them on the house that replaced it", code=house.code or house.id,
                         reason=reason),
                       detail={"house_code": house.code, "retired": reason})


def reject_rows_on_retired_houses(session: Session,
                                  table: str = "stage_register") -> dict[int, list[str]]:
    """The set-based :func:`require_open_house` of the register import: remove the staged
    rows whose house is retired and return ``{line: [reason]}``.

    A row names its house as the import matches it (the 不动产单元号, else the normalised
    address, in the county). It is refused when it matches a retired house and no open one
    (after a merge the new house shares the first old house's address: it takes the row).
    The scan starts from the few retired houses, so it costs little on a large register.
    """
    # Citus: no statement joins the local staging table to a distributed one; the counties,
    # then the candidate rows, go to the distributed queries as arrays.
    counties = staged_counties(session, table)
    retired = f"""
        SELECT h.county, h.code, h.address_norm, h.realestate_unit_no FROM house h
        WHERE h.status IN {(*RETIRING_STATUSES, LifecycleStatus.OUT_OF_USE.value)!r}
          AND {retired_house_sql('h', counties)} AND {county_in('h', counties)}"""
    candidates = session.execute(text(f"""
        WITH retired AS MATERIALIZED ({retired}),
        matched AS (
            SELECT r.line, x.code FROM retired x JOIN {table} r
              ON r.county = x.county AND r.house_norm = x.address_norm
            UNION ALL
            SELECT r.line, x.code FROM retired x JOIN {table} r
              ON r.county = x.county AND r.realestate_no = x.realestate_unit_no)
        SELECT m.line, min(m.code), min(r.county), min(r.house_norm), min(r.realestate_no)
        FROM matched m JOIN {table} r ON r.line = m.line
        GROUP BY m.line ORDER BY m.line""")).all()
    if not candidates:
        return {}
    columns = list(zip(*candidates, strict=True))
    open_lines = set(session.execute(text(f"""
        SELECT DISTINCT u.line
        FROM unnest(CAST(:lines AS bigint[]), CAST(:counties AS text[]),
                    CAST(:norms AS text[]), CAST(:nos AS text[])) AS u(line, county, norm, no)
        JOIN house o ON o.county = u.county
                    AND (o.address_norm = u.norm
                         OR (u.no IS NOT NULL AND o.realestate_unit_no = u.no))
        WHERE {county_in('o', counties)} AND NOT {retired_house_sql('o', counties)}"""),
        {"lines": list(columns[0]), "counties": list(columns[2]), "norms": list(columns[3]),
         "nos": list(columns[4])}).scalars())
    rows = [(line, code) for line, code, *_ in candidates if line not in open_lines]
    if rows:
        session.execute(text(f"DELETE FROM {table} WHERE line = ANY (:lines)"),
                        {"lines": [line for line, _ in rows]})
    return {line: [REJECT_REASON.format(code=code)] for line, code in rows}


def today(session: Session) -> dt.date:
    value: dt.date = session.execute(select(func.current_date())).scalar_one()
    return value


def end_relations(session: Session, house: House, *, actor: str, source: str,
                  note: str, on: dt.date | None = None) -> list[PersonHouse]:
    """End the relations of ``house`` current on ``on`` (default today); return them."""
    day = on or today(session)
    rows = _current(session, house, day)
    _end(session, rows, day, actor=actor, source=source, note=note)
    return rows


def move_relations(session: Session, houses: Iterable[House], target: House, *,
                   actor: str, source: str, on: dt.date | None = None) -> list[PersonHouse]:
    """End the current relations of ``houses`` and give ``target`` one per person and kind.

    The new relation starts on ``on`` (default today; or later, where the old one starts
    later), keeps a dated end (a lease), the source and the register columns, and records
    the old house code in the note of its ``change_log`` row.
    """
    day = on or today(session)
    moved: dict[tuple[int, str], PersonHouse] = {}
    origin: dict[tuple[int, str], str | None] = {}
    for house in houses:
        rows = _current(session, house, day)
        for old in rows:
            key = (old.person_id, old.relation)
            if key in moved:  # one owner of two merged houses owns the merged one once
                continue
            moved[key] = PersonHouse(
                county=target.county, house_id=target.id, person_id=old.person_id,
                relation=old.relation, valid_to=old.valid_to,
                valid_from=max(day, old.valid_from) if old.valid_from else day,
                source=old.source, attributes=dict(old.attributes or {}))
            origin[key] = house.code
        _end(session, rows, day, actor=actor, source=source, note=f"moved to {target.code}")
    session.add_all(moved.values())
    session.flush()
    for key, new in moved.items():
        _log(session, new, "insert", None, actor=actor, source=source,
             note=f"moved from {origin[key]}")
    session.flush()
    return list(moved.values())


def _current(session: Session, house: House, day: dt.date) -> list[PersonHouse]:
    return list(session.scalars(select(PersonHouse).where(
        PersonHouse.county == house.county, PersonHouse.house_id == house.id,
        or_(PersonHouse.valid_to.is_(None), PersonHouse.valid_to > day))
        .order_by(PersonHouse.id).with_for_update()))


def _end(session: Session, rows: list[PersonHouse], day: dt.date, *, actor: str,
         source: str, note: str) -> None:
    for row in rows:
        previous = _snapshot(row)
        # a relation that starts later ends where it starts: it never began
        row.valid_to = max(day, row.valid_from) if row.valid_from else day
        row.version += 1
        _log(session, row, "update", previous, actor=actor, source=source, note=note)
    session.flush()


def _snapshot(row: PersonHouse) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _SNAPSHOT_FIELDS}
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def _log(session: Session, row: PersonHouse, operation: str, previous: dict[str, Any] | None,
         *, actor: str, source: str, note: str) -> None:
    session.add(ChangeLog(county=row.county, object_kind="person_house",
                          object_id=str(row.id), operation=operation, actor=actor,
                          source=source, previous=previous,
                          current={**_snapshot(row), "note": note}))


__all__ = ["REJECT_REASON", "end_relations", "move_relations",
           "reject_rows_on_retired_houses", "require_open_house", "retired_house_sql",
           "retirement"]
