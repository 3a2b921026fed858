"""Fictitious people: names, checksum-valid ID numbers, phones and household make-up.

The mix is chosen so that the cases the platform cares about occur: elderly people living
alone, elderly couples, families with children under 3 and under 6, tenants whose landlord
lives elsewhere, and empty (owner-only) houses.

Example::

    people = PeopleFactory(random.Random(1), today=dt.date(2026, 1, 1))
    household = people.household("330402")
    [(p.name, p.age, rel) for p, rels in household for rel in rels]
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
         "single": 10, "tenants": 12, "empty": 8, "three_generations": 7}


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


class PeopleFactory:
    """Makes unique fictitious persons and households from one random generator."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self.rng = rng
        self.today = today
        self._used: set[str] = set()
        self.landlords: list[Person] = []

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

    def household(self, region6: str) -> list[tuple[Person, list[str]]]:
        """Persons of one house with their relations (产权/户籍/常住/租住)."""
        rng = self.rng
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        p = self.person
        members: list[tuple[Person, list[str]]] = []
        if kind == "elderly_alone":
            members.append((p(region6, 70, 96), ["产权", "户籍", "常住"]))
        elif kind == "elderly_couple":
            husband = p(region6, 66, 90, gender="M")
            members += [(husband, ["产权", "户籍", "常住"]),
                        (p(region6, 64, 88, gender="F"), ["户籍", "常住"])]
        elif kind in ("young_family", "family", "three_generations"):
            father = p(region6, 27, 45 if kind != "family" else 55, gender="M")
            surname = father.name[0]
            members += [(father, ["产权", "户籍", "常住"]),
                        (p(region6, 25, 44, gender="F"), ["户籍", "常住"])]
            young = kind != "family"
            for _ in range(rng.choice((1, 1, 2)) if young else rng.choice((1, 2))):
                child = p(region6, 0, 5 if young else 17, surname=surname)
                members.append((child, ["户籍", "常住"]))
            if kind == "three_generations":
                members.append((p(region6, 62, 85, surname=surname), ["户籍", "常住"]))
        elif kind == "single":
            members.append((p(region6, 22, 60), ["产权", "户籍", "常住"]))
        elif kind == "tenants":
            members.append((self._landlord(region6), ["产权"]))
            migrant = rng.choice(MIGRANT_PREFIXES)
            members += [(p(migrant, 20, 50), ["租住"]) for _ in range(rng.choice((1, 2, 3)))]
            if rng.random() < 0.3:
                members.append((p(migrant, 0, 5), ["租住"]))
        else:  # empty: owned, nobody lives there
            members.append((self._landlord(region6), ["产权"]))
        return members

    def _landlord(self, region6: str) -> Person:
        # Landlords often own several houses: reuse one a third of the time.
        if self.landlords and self.rng.random() < 0.33:
            return self.rng.choice(self.landlords)
        owner = self.person(region6, 35, 75)
        if len(self.landlords) < 5000:
            self.landlords.append(owner)
        return owner


__all__ = ["KINDS", "PeopleFactory", "Person"]
