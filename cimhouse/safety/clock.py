"""The one clock of the safety rules and the escalation (issue 19).

Every rule and every escalation step asks a :class:`Clock` for "now"; nothing in
:mod:`cimhouse.safety` reads the system time by itself, so tests and the simulator move
time by hand and get the same answers every run. The API, the CLI and the worker use
:class:`SystemClock`; tests build a :class:`ManualClock`.

Example::

    >>> clock = ManualClock(dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC))
    >>> clock.advance(minutes=5).isoformat()
    '2026-12-02T08:05:00+00:00'
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The machine's time (UTC)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that stands still until it is moved (tests, the simulator)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = _aware(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> dt.datetime:
        self._now = _aware(when)
        return self._now

    def advance(self, **delta: float) -> dt.datetime:
        """Move on by ``timedelta(**delta)`` (``minutes=5``); never backwards."""
        step = dt.timedelta(**delta)
        if step < dt.timedelta(0):
            raise InvalidInput(_("a clock does not go backwards"))
        self._now += step
        return self._now


def _aware(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise InvalidInput(_("the clock needs a timezone"))
    return when


SYSTEM_CLOCK = SystemClock()
