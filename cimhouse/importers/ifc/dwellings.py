"""Which spaces form a dwelling (户): the ``--dwellings`` rules.

=========================  ===================================================================
``auto`` (default)         ``zone`` when the model has IfcZones holding spaces and no space
                           sits in two zones, else ``prefix``
                           when every numbered space starts with letters (A101, B-203), else
                           ``none``
``zone``                   each IfcZone that groups spaces is one dwelling, keyed on the
                           zone's GlobalId
``prefix[:MIN]``           spaces grouped by the letters before the first digit of their
                           number: A101, A102 -> dwelling A; a group needs MIN spaces
                           (default 2), so a lone R301 roof space or a plant room stays
                           outside dwellings (``prefix:1`` admits one-room flats)
``property:PSET.NAME``     spaces grouped by the value of a property, e.g.
                           ``property:PSet_Revit_Other.OccupancyZoneName``
``building``               the whole building is one dwelling (a detached family house)
``none``                   no dwellings, spaces only
=========================  ===================================================================

A dwelling's key is stable across re-imports: the zone GlobalId, or
``<building GlobalId>:<rule>:<group>``, so the house keeps its code.

Example::

    >>> groups = group_dwellings(structure, DwellingRule.parse("prefix"))   # doctest: +SKIP
    >>> sorted(g.label for g in groups)                                   # doctest: +SKIP
    ['A', 'B']
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.ifc.structure import ModelStructure, SpaceRecord

RULES = ("auto", "zone", "prefix", "property", "building", "none")
PREFIX_PATTERN = re.compile(r"^\s*([A-Za-z]+)[\s\-_.]*\d")


@dataclass(frozen=True)
class DwellingRule:
    kind: str
    pset: str | None = None
    prop: str | None = None
    min_spaces: int = 2

    @classmethod
    def parse(cls, text: str) -> DwellingRule:
        kind, _sep, argument = text.strip().partition(":")
        kind = kind.lower()
        if kind not in RULES:
            raise InvalidInput(_("--dwellings {text!r}: expected one of auto, zone, prefix, "
                                 "property:PSET.NAME, building, none", text=text))
        if kind == "property":
            pset, _sep, prop = argument.rpartition(".")
            if not pset or not prop:
                raise InvalidInput(_("--dwellings {text!r}: expected property:PSET.NAME, e.g. "
                                     "property:PSet_Revit_Other.OccupancyZoneName", text=text))
            return cls(kind, pset, prop)
        if kind == "prefix" and argument:
            if not argument.isdigit() or int(argument) < 1:
                raise InvalidInput(_("--dwellings {text!r}: expected prefix or prefix:MIN with "
                                     "MIN >= 1", text=text))
            return cls(kind, min_spaces=int(argument))
        if argument:
            raise InvalidInput(_("--dwellings {text!r}: the rule {kind} takes no argument",
                                 text=text, kind=kind))
        return cls(kind)

    def __str__(self) -> str:
        if self.kind == "property":
            return f"property:{self.pset}.{self.prop}"
        if self.kind == "prefix" and self.min_spaces != 2:
            return f"prefix:{self.min_spaces}"
        return self.kind


@dataclass
class DwellingGroup:
    key: str  # stable across re-imports
    zone_global_id: str | None
    label: str
    building_global_id: str
    space_ids: list[str]


def space_prefix(number: str | None) -> str | None:
    match = PREFIX_PATTERN.match(number or "")
    return match.group(1).upper() if match else None


def resolve_rule(structure: ModelStructure, rule: DwellingRule) -> DwellingRule:
    """Turn ``auto`` into the rule it stands for on this model."""
    if rule.kind != "auto":
        return rule
    if structure.zones and zones_partition_spaces(structure):
        return DwellingRule("zone")
    numbered = [s.number for s in structure.spaces if s.number]
    if numbered and all(space_prefix(n) for n in numbered):
        return DwellingRule("prefix")
    return DwellingRule("none")


def zones_partition_spaces(structure: ModelStructure) -> bool:
    """True when no space sits in two zones: the zones can be dwellings. Models that layer
    fire, HVAC and lighting zones over the same rooms fail this test."""
    seen: set[str] = set()
    for _zone, members in structure.zones.values():
        if seen.intersection(members):
            return False
        seen.update(members)
    return True


def _building_of_spaces(structure: ModelStructure) -> dict[str, str]:
    return {s.global_id: b.global_id for b in structure.buildings for s in b.spaces}


def group_dwellings(structure: ModelStructure, rule: DwellingRule) -> list[DwellingGroup]:
    """Group the spaces of ``structure`` into dwellings by ``rule`` (already resolved)."""
    if rule.kind == "zone":
        owner = _building_of_spaces(structure)
        groups = []
        for zone_id, (name, members) in structure.zones.items():
            # a zone spanning buildings belongs to the building holding most of its spaces
            counts: dict[str, int] = defaultdict(int)
            for space_id in members:
                counts[owner[space_id]] += 1
            building_id = max(counts, key=lambda b: counts[b])
            groups.append(DwellingGroup(zone_id, zone_id, name or zone_id, building_id,
                                        list(members)))
        return groups
    if rule.kind == "building":
        return [DwellingGroup(f"{b.global_id}:building", None, b.name or b.global_id,
                              b.global_id, [s.global_id for s in b.spaces])
                for b in structure.buildings]
    if rule.kind in ("prefix", "property"):
        result = []
        for building in structure.buildings:
            by_label: dict[str, list[SpaceRecord]] = defaultdict(list)
            for space in building.spaces:
                label = _label(space, rule)
                if label:
                    by_label[label].append(space)
            for label, spaces in sorted(by_label.items()):
                if rule.kind == "prefix" and len(spaces) < rule.min_spaces:
                    continue
                result.append(DwellingGroup(f"{building.global_id}:{rule.kind}:{label}", None,
                                            label, building.global_id,
                                            [s.global_id for s in spaces]))
        return result
    return []


def _label(space: SpaceRecord, rule: DwellingRule) -> str | None:
    if rule.kind == "prefix":
        return space_prefix(space.number)
    value = (space.psets.get(rule.pset or "") or {}).get(rule.prop or "")
    text = str(value).strip() if value is not None else ""
    return text or None
