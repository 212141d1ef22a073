"""A venue's daily trading window in its own wall-clock time, and manual overrides of it.

Pure: every function takes the moment to judge (an aware datetime), nothing reads a clock.

The window opens at `open_time` and closes at `close_time`, local time in `time_zone`, every
day; a close earlier than the open is an overnight window (it closes the next day). Each
session is a pair of instants computed from one local date, so a repeated wall time never
opens a window twice and a DST change moves the instants, not the wall times:

* a wall time that does not exist that day (the spring-forward gap) happens as Python's
  zoneinfo reads it, shifted forward by the gap (02:30 in New York's gap is 03:30 EDT);
* a wall time that happens twice (fall-back) happens at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

OPEN = "OPEN"
CLOSED = "CLOSED"


@dataclass(frozen=True)
class TradingWindow:
    time_zone: str
    open_time: time
    close_time: time

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _instant(self, day: date, wall: time) -> datetime:
        # fold=0 (the default) is both rules of the module docstring at once.
        return datetime.combine(day, wall, tzinfo=self._zone).astimezone(UTC)

    def _sessions(self, moment: datetime, days_before: int, days_after: int) -> list[tuple]:
        """(open, close) instants of the sessions opening on local dates around `moment`."""
        today = moment.astimezone(self._zone).date()
        overnight = self.close_time < self.open_time
        sessions = []
        for offset in range(-days_before, days_after + 1):
            day = today + timedelta(days=offset)
            close_day = day + timedelta(days=1) if overnight else day
            sessions.append((self._instant(day, self.open_time),
                             self._instant(close_day, self.close_time)))  # fmt: skip
        return sessions

    def is_open(self, moment: datetime) -> bool:
        # A session opening the day before can still be running (overnight windows).
        return any(start <= moment < end for start, end in self._sessions(moment, 1, 0))

    def next_open(self, moment: datetime) -> datetime:
        """The first open strictly after `moment`."""
        return min(start for start, _ in self._sessions(moment, 1, 2) if start > moment)

    def next_close(self, moment: datetime) -> datetime:
        """The first close strictly after `moment` (of a session that is not empty)."""
        return min(
            end for start, end in self._sessions(moment, 1, 2) if end > moment and end > start
        )


@dataclass(frozen=True)
class Override:
    """An operator's `POST /open` or `/close`: this state until `until`, then the schedule."""

    state: str
    until: datetime

    def applies(self, moment: datetime) -> bool:
        return moment < self.until


class TradingHours:
    """A venue's schedule with its manual override, and the scheduled closes it has passed.

    `close_passed` is how the venue learns a close went by: it is asked at every message and
    by the process's timer, and answers True once per close, however late it is asked.
    """

    def __init__(self, window: TradingWindow, now: datetime) -> None:
        self.window = window
        self._override: Override | None = None
        self._next_close = window.next_close(now)

    def is_open(self, when: datetime) -> bool:
        if self._override is not None and self._override.applies(when):
            return self._override.state == OPEN
        return self.window.is_open(when)

    def close_passed(self, when: datetime) -> bool:
        if when < self._next_close:
            return False
        self._next_close = self.window.next_close(when)
        return True

    def close_now(self, when: datetime) -> None:
        """Closed until the next scheduled open."""
        self._override = Override(CLOSED, self.window.next_open(when))

    def open_now(self, when: datetime) -> None:
        """Open now; outside the schedule, until the next scheduled close."""
        if self.window.is_open(when):
            self._override = None
        else:
            self._override = Override(OPEN, self.window.next_close(when))
