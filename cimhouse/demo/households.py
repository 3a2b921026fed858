"""Fictitious people: names, checksum-valid ID numbers, phones and household make-up.

The mix is chosen so that the cases the platform cares about occur: elderly people living
alone, elderly couples, families with children under 3 and under 6, grandparents living
with the family, collective households (集体户, a staff dormitory), tenants whose landlord
lives elsewhere (their own 户籍 is in their home province: no household here), and empty
(owner-only) houses. Each occupied house's residents form a household (户) with a number
(户号), a head (户主) and each member's relation to the head (与户主关系).

Example::

    people = PeopleFactory(random.Random(1), today=dt.date(2026, 1, 1))
    household = people.household("330402")
    household.number, household.kind, household.head_name   # ('000000001', '家庭户', '王伟')
    [(p.name, rels, to_head) for p, rels, to_head in household.members]
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from cimhouse.idnumber import make_id_number

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷"
    "龙黎史陶贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞鑫宇浩然子涵"
    "欣怡梓轩一诺雨桐思远佳琪晨阳沐宸若汐嘉怡俊熙浩宇语桐梓萱子墨"
)
# Prefixes of other provinces for migrant tenants (Anhui, Henan, Jiangxi, Sichuan, Guizhou).
MIGRANT_PREFIXES = ("340122", "411525", "360721", "511322", "522121", "341221")
# household kind -> weight
KINDS = {"elderly_alone": 10, "elderly_couple": 11, "young_family": 22, "family": 20,
         "single": 10, "tenants": 12, "empty": 8, "three_generations": 7, "collective": 2}
FAMILY, COLLECTIVE = "家庭户", "集体户"


@dataclass
class Person:
    name: str
    id_number: str
    birth: dt.date
    gender: str
    phone: str | None

    def age(self, today: dt.date) -> int:
        return today.year - self.birth.year - ((today.month, today.day) <
                                               (self.birth.month, self.birth.day))


@dataclass
class Household:
    """The persons of one house: (person, 人房关系 list, 与户主关系 or "" when the person
    is no member of a household here: landlords, migrant tenants)."""

    number: str
    kind: str
    members: list[tuple[Person, list[str], str]]

    @property
    def head_name(self) -> str:
        return next((p.name for p, _r, to_head in self.members if to_head == "户主"), "")


def _child(person: Person) -> str:
    return "子" if person.gender == "M" else "女"


class PeopleFactory:
    """Makes unique fictitious persons and households from one random generator."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self.rng = rng
        self.today = today
        self._used: set[str] = set()
        self.landlords: list[Person] = []
        self.households = 0

    def person(self, region6: str, age_from: int, age_to: int, *, gender: str | None = None,
               surname: str | None = None) -> Person:
        rng = self.rng
        gender = gender or rng.choice("MF")
        age = rng.randint(age_from, age_to)
        birth = self.today - dt.timedelta(days=age * 365 + rng.randrange(365))
        sequence = rng.randrange(100)
        for attempt in range(100):
            number = make_id_number(region6, birth, sequence + attempt, gender)
            if number not in self._used:
                break
        else:  # a crowded birth date: move one day
            return self.person(region6, age_from, age_to, gender=gender, surname=surname)
        self._used.add(number)
        name = (surname or rng.choice(SURNAMES)) + "".join(
            rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        phone = None
        if age >= 16 and rng.random() < 0.85:
            phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789")
                                                          for _ in range(9))
        return Person(name, number, birth, gender, phone)

    def household(self, region6: str) -> Household:
        """Persons of one house with their relations (产权/户籍/常住/租住) and household."""
        rng = self.rng
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        p = self.person
        members: list[tuple[Person, list[str], str]] = []
        owner = ["产权", "户籍", "常住"]
        if kind == "elderly_alone":
            members.append((p(region6, 70, 96), owner, "户主"))
        elif kind == "elderly_couple":
            husband = p(region6, 66, 90, gender="M")
            members += [(husband, owner, "户主"),
                        (p(region6, 64, 88, gender="F"), ["户籍", "常住"], "配偶")]
        elif kind in ("young_family", "family", "three_generations"):
            father = p(region6, 27, 45 if kind != "family" else 55, gender="M")
            surname = father.name[0]
            members += [(father, owner, "户主"),
                        (p(region6, 25, 44, gender="F"), ["户籍", "常住"], "配偶")]
            young = kind != "family"
            for _ in range(rng.choice((1, 1, 2)) if young else rng.choice((1, 2))):
                child = p(region6, 0, 5 if young else 17, surname=surname)
                members.append((child, ["户籍", "常住"], _child(child)))
            if kind == "three_generations":  # the head's father or mother lives with them
                elder = p(region6, 62, 85, surname=surname)
                members.append((elder, ["户籍", "常住"], "父" if elder.gender == "M" else "母"))
        elif kind == "single":
            members.append((p(region6, 22, 60), owner, "户主"))
        elif kind == "collective":  # a staff dormitory: unrelated adults, one in charge
            members += [(p(region6, 20, 55), ["户籍", "常住"], "户主" if i == 0 else "其他")
                        for i in range(rng.choice((3, 4, 6)))]
        elif kind == "tenants":
            members.append((self._landlord(region6), ["产权"], ""))
            migrant = rng.choice(MIGRANT_PREFIXES)
            members += [(p(migrant, 20, 50), ["租住"], "")
                        for _ in range(rng.choice((1, 2, 3)))]
            if rng.random() < 0.3:
                members.append((p(migrant, 0, 5), ["租住"], ""))
        else:  # empty: owned, nobody lives there
            members.append((self._landlord(region6), ["产权"], ""))
        number = ""
        if any(to_head for _p, _r, to_head in members):
            self.households += 1
            number = f"{self.households:09d}"
        return Household(number, COLLECTIVE if kind == "collective" else FAMILY, members)

    def _landlord(self, region6: str) -> Person:
        # Landlords often own several houses: reuse one a third of the time.
        if self.landlords and self.rng.random() < 0.33:
            return self.rng.choice(self.landlords)
        owner = self.person(region6, 35, 75)
        if len(self.landlords) < 5000:
            self.landlords.append(owner)
        return owner


__all__ = ["COLLECTIVE", "FAMILY", "KINDS", "Household", "PeopleFactory", "Person"]
