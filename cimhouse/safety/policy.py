"""The tunable numbers of the safety rules and the escalation, in one place.

:class:`SafetyPolicy` is what :func:`cimhouse.safety.tick.run_tick` and the rules read:
the night window and minutes for the door rule, the default daytime hours of the
inactivity rule (a person's ``attributes.inactivity_hours`` wins), the acknowledgement
deadline per severity, and how long after a resolution the same episode stays folded.

Example::

    >>> policy = SafetyPolicy(night_start=dt.time(23), door_minutes=20)
    >>> policy.ack_deadline("critical")
    datetime.timedelta(seconds=300)
    >>> policy.is_night(dt.datetime(2026, 12, 2, 23, 30, tzinfo=CHINA))
    True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

CHINA = ZoneInfo("Asia/Shanghai")

#: minutes the contacts of a step have to acknowledge, per severity
DEFAULT_ACK_MINUTES = {"critical": 5, "high": 15, "medium": 60}


@dataclass(frozen=True)
class SafetyPolicy:
    night_start: dt.time = dt.time(22, 0)  # China time; the window may cross midnight
    night_end: dt.time = dt.time(6, 0)
    door_minutes: float = 30.0  # a door open this long at night raises door_night
    inactivity_hours: float = 8.0  # daytime hours (07:00-21:00) without a sign of life
    ack_minutes: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ACK_MINUTES))

    def __post_init__(self) -> None:
        if self.door_minutes <= 0 or self.inactivity_hours <= 0:
            raise InvalidInput(_("door minutes and inactivity hours must be positive"))
        if self.night_start == self.night_end:
            raise InvalidInput(_("the night window needs a start and an end that differ"))
        if any(m <= 0 for m in self.ack_minutes.values()):
            raise InvalidInput(_("acknowledgement deadlines must be positive"))

    def ack_deadline(self, severity: str) -> dt.timedelta:
        minutes = self.ack_minutes.get(severity, DEFAULT_ACK_MINUTES.get(severity, 60))
        return dt.timedelta(minutes=minutes)

    def is_night(self, when: dt.datetime) -> bool:
        local = when.astimezone(CHINA).time()
        if self.night_start < self.night_end:
            return self.night_start <= local < self.night_end
        return local >= self.night_start or local < self.night_end

    def night_began(self, when: dt.datetime) -> dt.datetime:
        """The start of the night ``when`` lies in (call only when :meth:`is_night`)."""
        local = when.astimezone(CHINA)
        start = local.replace(hour=self.night_start.hour, minute=self.night_start.minute,
                              second=0, microsecond=0)
        return start if start <= local else start - dt.timedelta(days=1)
