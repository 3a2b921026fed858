"""The roster (花名册) of a community: one XLSX with its houses, households (户) and persons.

Three sheets with Chinese headers, each read by one SELECT filtered by the community's scope
in SQL (:func:`cimhouse.scope.scope_filter`), values as Chinese labels:

- 房屋: every house of the community with its codes and address;
- 户: the households registered at those houses: 户号, 户别, house, 户主 and 人数, counting the
  members valid on ``as_of`` who are persons of the community (a relation, any date, to one
  of its houses: the GraphQL rule, so nobody hidden there is counted here);
- 人员: each person with a relation valid on ``as_of`` to a house of the community, once per
  house (the relations joined), with their household there and relation to its head.

ID numbers and phones are the stored masked forms unless ``reveal`` is given (the CLI gives
it only to a ``pii_reader`` token covering the community): then they are decrypted, and each
person so read gets an ``audit_log`` row (``pii.read``, the fields, no personal data).

Example::

    >>> export_roster(session, community=parse_scope("330402001001"), path=Path("花名册.xlsx"))
    RosterResult(houses=412, households=388, persons=1021, revealed=0, path=...)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from cimhouse.errors import InvalidInput
from cimhouse.exports.layers import Rows
from cimhouse.i18n import _
from cimhouse.pii import PiiVault
from cimhouse.schema import (
    AuditLog,
    Building,
    Estate,
    House,
    Household,
    HouseholdMember,
    Person,
    PersonHouse,
)
from cimhouse.schema.vocab import (
    HeadRelation,
    HouseholdKind,
    HouseUse,
    LifecycleStatus,
    RelationKind,
    vocab_label,
)
from cimhouse.scope import Scope, scope_filter

BATCH = 2000
HOUSE_HEADERS = ("房屋编码", "楼栋编码", "小区名称", "楼栋号", "单元", "楼层", "室号", "地址",
                 "用途", "状态", "面积(平方米)")
HOUSEHOLD_HEADERS = ("户号", "户别", "房屋编码", "地址", "户主", "人数")
PERSON_HEADERS = ("姓名", "性别", "出生日期", "公民身份号码", "联系电话", "房屋编码", "地址",
                  "与房屋关系", "户号", "与户主关系")
GENDERS = {"M": "男", "F": "女"}


@dataclass(frozen=True)
class Reveal:
    """Full ID numbers and phones for ``actor`` (a pii_reader), each read audited."""

    vault: PiiVault
    actor: str


@dataclass
class RosterResult:
    houses: int
    households: int
    persons: int
    revealed: int  # persons whose full ID number and phone were written (and audited)
    path: Path


def _valid(model: Any, as_of: dt.date) -> ColumnElement[bool]:
    return and_(or_(model.valid_from.is_(None), model.valid_from <= as_of),
                or_(model.valid_to.is_(None), model.valid_to > as_of))


def _zh(vocabulary: Any, value: str | None) -> str | None:
    return None if value is None else vocab_label(vocabulary, value, "zh")


def _houses(scope: Scope) -> Rows:
    est = aliased(Estate)
    return (select(House.code, Building.code, est.name, Building.building_label,
                   House.unit_label, House.floor_number, House.room_label, House.address_norm,
                   House.use, House.status, House.area_m2)
            .join(Building, (Building.county == House.county)
                  & (Building.id == House.building_id))
            .outerjoin(est, (est.county == Building.county) & (est.id == Building.estate_id))
            .where(scope_filter(House, scope)).order_by(House.code))


def _persons_of(scope: Scope) -> Any:
    """Ids of the persons of the scope: a relation (any date) to one of its houses; an
    uncorrelated IN, as GraphQL's ``person_in_scope`` (Citus plans it first)."""
    return select(PersonHouse.person_id).where(scope_filter(PersonHouse, scope))


def _households(scope: Scope, as_of: dt.date) -> Rows:
    members = (select(HouseholdMember.county, HouseholdMember.household_id,
                      func.count().label("size"),
                      func.min(case((HouseholdMember.relation == HeadRelation.HEAD.value,
                                     Person.name))).label("head"))
               .join(Person, Person.id == HouseholdMember.person_id)
               .where(_valid(HouseholdMember, as_of),
                      HouseholdMember.person_id.in_(_persons_of(scope)))
               .group_by(HouseholdMember.county, HouseholdMember.household_id).subquery("m"))
    return (select(Household.number, Household.kind, House.code, House.address_norm,
                   members.c.head, func.coalesce(members.c.size, 0))
            .join(House, (House.county == Household.county) & (House.id == Household.house_id))
            .outerjoin(members, (members.c.county == Household.county)
                       & (members.c.household_id == Household.id))
            .where(scope_filter(House, scope)).order_by(House.code, Household.number))


def _memberships(session: Session, scope: Scope, as_of: dt.date) -> dict[int, tuple[str, str]]:
    """person id -> (户号, relation to the head) of their household in the scope on ``as_of``."""
    rows = session.execute(
        select(HouseholdMember.person_id, Household.number, HouseholdMember.relation)
        .join(Household, (Household.county == HouseholdMember.county)
              & (Household.id == HouseholdMember.household_id))
        .join(House, (House.county == Household.county) & (House.id == Household.house_id))
        .where(scope_filter(House, scope), _valid(HouseholdMember, as_of))
        .order_by(HouseholdMember.person_id, Household.number))
    found: dict[int, tuple[str, str]] = {}
    for person_id, number, relation in rows:
        found.setdefault(person_id, (number, relation))
    return found


def _persons(scope: Scope, as_of: dt.date) -> Rows:
    relations = func.array_agg(func.distinct(PersonHouse.relation))
    return (select(Person.id, Person.name, Person.gender, Person.birth_date, Person.id_masked,
                   Person.phone_masked, Person.id_cipher, Person.phone_cipher, House.code,
                   House.address_norm, relations)
            .join(House, (House.county == PersonHouse.county)
                  & (House.id == PersonHouse.house_id))
            .join(Person, Person.id == PersonHouse.person_id)
            .where(scope_filter(House, scope), _valid(PersonHouse, as_of))
            .group_by(Person.id, House.county, House.id)
            .order_by(House.code, Person.id))


def _relations(values: list[str]) -> str:
    order = [r.value for r in RelationKind]
    return "、".join(_zh(RelationKind, v) or v for v in sorted(values, key=order.index))


def export_roster(session: Session, *, community: Scope, path: Path,
                  as_of: dt.date | None = None, reveal: Reveal | None = None) -> RosterResult:
    """Write the roster of ``community`` (a 12-digit scope) to ``path``; may flush audits."""
    if community.level != 5:
        raise InvalidInput(_("a roster is made for a community: a 12-digit region code"))
    day = as_of or dt.date.today()
    book = Workbook(write_only=True)
    houses, households, persons = (book.create_sheet(t) for t in ("房屋", "户", "人员"))
    for sheet, headers in ((houses, HOUSE_HEADERS), (households, HOUSEHOLD_HEADERS),
                           (persons, PERSON_HEADERS)):
        sheet.append(list(headers))
    counts = {"houses": 0, "households": 0, "persons": 0}
    for row in session.execute(_houses(community).execution_options(yield_per=BATCH)):
        *head, use, status, area = row
        houses.append([*head, _zh(HouseUse, use), _zh(LifecycleStatus, status),
                       None if area is None else float(area)])
        counts["houses"] += 1
    for number, kind, code, address, head, size in session.execute(
            _households(community, day).execution_options(yield_per=BATCH)):
        households.append([number, _zh(HouseholdKind, kind), code, address, head, size])
        counts["households"] += 1
    member_of = _memberships(session, community, day)
    revealed: set[int] = set()
    for (pid, name, gender, birth, id_masked, phone_masked, id_cipher, phone_cipher, code,
         address, relations) in session.execute(
            _persons(community, day).execution_options(yield_per=BATCH)):
        id_number, phone = id_masked, phone_masked
        if reveal is not None:
            id_number = reveal.vault.decrypt(id_cipher)
            phone = reveal.vault.decrypt(phone_cipher) if phone_cipher is not None else None
            if pid not in revealed:  # once per person, however many houses
                revealed.add(pid)
                session.add(AuditLog(actor=reveal.actor, action="pii.read",
                                     object_kind="person", object_ref=str(pid),
                                     detail={"fields": ["id_number", "phone"],
                                             "via": "roster", "community": community.code}))
        household, to_head = member_of.get(pid, (None, None))
        persons.append([name, GENDERS.get(gender or "", gender), birth, id_number, phone, code,
                        address, _relations(list(relations)), household,
                        _zh(HeadRelation, to_head)])
        counts["persons"] += 1
    session.flush()
    book.save(path)
    return RosterResult(houses=counts["houses"], households=counts["households"],
                        persons=counts["persons"], revealed=len(revealed), path=path)
