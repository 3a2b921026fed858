"""ISO 7064 MOD 11-2, the check of the citizen ID number and of the house code.

Example::

    >>> mod11_2("11010519491231002")
    'X'
    >>> mod11_2("330402007024001000300101")
    '8'
"""

from __future__ import annotations


def mod11_2(digits: str) -> str:
    """Return the MOD 11-2 check character ('0'-'9' or 'X') of a string of digits.

    The weight of a digit is 2**k mod 11, k counted from the check position (k=1 for the
    rightmost digit of ``digits``).
    """
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("mod11_2 needs ASCII digits")
    total = 0
    weight = 2
    for ch in reversed(digits):
        total += int(ch) * weight
        weight = (weight * 2) % 11
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)
