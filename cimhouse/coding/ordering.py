"""The deterministic ordering rule of code assignment, as SQL ORDER BY fragments.

New numbers under one prefix are handed out in this order (docs/house-code.md, "Ordering"):

- estates in a community: name (code-point order), then id;
- buildings in an estate (or directly in a community): the first run of digits in the
  building label as a number (``3幢`` < ``12幢``; labels without digits last), the label
  (code-point order), the door number likewise, then id;
- houses in a building: unit (first number in the unit label), floor number, room (first
  number in the room label), the room label, then id; missing values sort last.

The same rows with the same attributes therefore always receive the same codes. ``id`` only
breaks ties between objects whose attributes are identical. The benchmark imports these
fragments so that its lower bound numbers rows in exactly the same order.
"""

from __future__ import annotations


def leading_number(column: str) -> str:
    """SQL: the first run of up to 9 ASCII digits in ``column`` as an integer (NULL if none)."""
    return f"(substring({column} from '[0-9]{{1,9}}'))::int"


def estate_order(alias: str = "e") -> str:
    return f'{alias}.name COLLATE "C", {alias}.id'


def building_order(alias: str = "b") -> str:
    return (f"{leading_number(alias + '.building_label')} NULLS LAST, "
            f'{alias}.building_label COLLATE "C" NULLS LAST, '
            f"{leading_number(alias + '.door_number')} NULLS LAST, "
            f'{alias}.door_number COLLATE "C" NULLS LAST, {alias}.id')


def house_order(alias: str = "h") -> str:
    return (f"{leading_number(alias + '.unit_label')} NULLS LAST, "
            f"{alias}.floor_number NULLS LAST, "
            f"{leading_number(alias + '.room_label')} NULLS LAST, "
            f'{alias}.room_label COLLATE "C" NULLS LAST, {alias}.id')
