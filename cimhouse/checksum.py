"""ISO 7064 MOD 11-2, the check of the citizen ID number and of the house code.

Example::

    >>> mod11_2("11010519491231002")
    'X'
    >>> mod11_2("330402007024001000300101")
    '8'
"""

from __future__ import annotations

from operator import mul


def _weights(count: int) -> tuple[int, ...]:
    """2**k mod 11 for k = 1..count (k=1: the rightmost digit before the check)."""
    return tuple(pow(2, k, 11) for k in range(1, count + 1))


_WEIGHTS = _weights(32)  # ID numbers have 17 digits, house codes 24


def mod11_2(digits: str) -> str:
    """Return the MOD 11-2 check character ('0'-'9' or 'X') of a string of digits.

    The weight of a digit is 2**k mod 11, k counted from the check position (k=1 for the
    rightmost digit of ``digits``).
    """
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("mod11_2 needs ASCII digits")
    weights = _WEIGHTS if len(digits) <= len(_WEIGHTS) else _weights(len(digits))
    total = sum(map(mul, map(int, reversed(digits)), weights))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)
