"""The documented defaults: walking radius, affected population and index weight per category.

Radii follow the walking circles of GB 50180-2018 (5 min ~ 300 m, 10 min ~ 500 m,
15 min ~ 1,000 m). Ages are completed years on the reference date ``as_of``.

Example::

    >>> policy = ServicePolicy.default().with_radii({"childcare": 250})
    >>> policy.radius("childcare"), policy.radius("elderly_care")
    (250.0, 500.0)
    >>> policy.group("elderly_care").label
    '60岁及以上 / aged 60+'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema.vocab import FacilityCategory as Cat
from cimhouse.schema.vocab import vocab_value


@dataclass(frozen=True)
class AgeGroup:
    """People whose age in completed years lies in [min_age, max_age] (None: unbounded)."""

    key: str
    label: str
    min_age: int | None = None
    max_age: int | None = None


EVERYONE = AgeGroup("everyone", "全体常住人口 / everyone")
#: "0-3" means under 3 (ages 0, 1 and 2 in completed years), as in 3岁以下婴幼儿照护: the one
#: definition behind the services report, gaps, the index and GraphQL ``children0To3``
CHILDREN_0_3 = AgeGroup("children_0_3", "0-3岁婴幼儿(不满3周岁) / children 0-3 (under 3)", 0, 2)
SCHOOL_AGE = AgeGroup("school_age_6_15", "6-15岁学龄儿童 / school-age children 6-15", 6, 15)
ELDERLY_60 = AgeGroup("elderly_60", "60岁及以上 / aged 60+", 60, None)
AGE_GROUPS = (EVERYONE, CHILDREN_0_3, SCHOOL_AGE, ELDERLY_60)

DEFAULT_RADIUS_M: dict[str, float] = {
    Cat.CHILDCARE: 300.0,
    Cat.ELDERLY_CARE: 500.0,
    Cat.EDUCATION: 1000.0,
    Cat.MEDICAL: 1000.0,
    Cat.SPORTS: 500.0,
    Cat.CULTURE: 1000.0,
    Cat.TRANSPORT: 500.0,
    Cat.COMMERCE: 500.0,
    Cat.PROPERTY_SERVICE: 300.0,
    Cat.SECURITY: 1000.0,
    Cat.GOVERNANCE: 1000.0,
}
AFFECTED_GROUP: dict[str, AgeGroup] = {
    Cat.CHILDCARE: CHILDREN_0_3,
    Cat.ELDERLY_CARE: ELDERLY_60,
    Cat.EDUCATION: SCHOOL_AGE,
}
# "一老一小" weigh double, schools and clinics 1.5, everything else 1.
DEFAULT_WEIGHT: dict[str, float] = {
    Cat.CHILDCARE: 2.0, Cat.ELDERLY_CARE: 2.0, Cat.EDUCATION: 1.5, Cat.MEDICAL: 1.5,
}


@dataclass(frozen=True)
class ServicePolicy:
    """Per-category walking radius (metres) and index weight; categories in a fixed order."""

    radius_m: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RADIUS_M))
    weight: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def default(cls) -> ServicePolicy:
        return cls()

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(c.value for c in Cat if c.value in self.radius_m)

    def radius(self, category: str) -> float:
        return float(self.radius_m[category])

    def group(self, category: str) -> AgeGroup:
        return AFFECTED_GROUP.get(category, EVERYONE)

    def index_weight(self, category: str) -> float:
        return float(self.weight.get(category, DEFAULT_WEIGHT.get(category, 1.0)))

    def with_radii(self, overrides: Mapping[str, float]) -> ServicePolicy:
        """A copy with some radii replaced; unknown categories or radii <= 0 are refused."""
        radii = dict(self.radius_m)
        for category, metres in overrides.items():
            if category not in DEFAULT_RADIUS_M:
                raise InvalidInput(_("unknown facility category {category!r}",
                                     category=category))
            if not 0 < float(metres) <= 20_000:
                raise InvalidInput(_("radius for {category} must be in (0, 20000] metres",
                                     category=category))
            radii[category] = float(metres)
        return replace(self, radius_m=radii)

    def only(self, categories: list[str]) -> ServicePolicy:
        """A copy restricted to ``categories`` (order kept as in FacilityCategory)."""
        unknown = [c for c in categories if c not in self.radius_m]
        if unknown:
            raise InvalidInput(_("unknown facility category {unknown}", unknown=', '.join(unknown)))
        return replace(self, radius_m={c: r for c, r in self.radius_m.items()
                                       if c in categories})


def parse_radius_options(values: list[str]) -> dict[str, float]:
    """``["childcare=250", "养老=800"]`` -> ``{"childcare": 250.0, "elderly_care": 800.0}``
    (a category by its value or its Chinese name, :func:`cimhouse.schema.vocab.vocab_value`)."""
    radii: dict[str, float] = {}
    for value in values:
        category, sep, metres = value.partition("=")
        try:
            number = float(metres)
        except ValueError:
            number = None
        if not sep or number is None:
            raise InvalidInput(_("radius must look like category=metres, got {value!r}",
                                 value=value))
        radii[vocab_value(Cat, category)] = number
    return radii
