"""When a venue's trading window is open: pure date arithmetic, no database.

A schedule is written in the venue's local wall time (09:30-16:00 America/New_York), so the
instants are computed per local date and converted to UTC; that keeps the open at 09:30 local
when daylight saving time starts or ends, while its UTC instant moves by an hour.

Rules:
- A window opens on a trading day (its weekday is listed and the date is not a holiday) at
  `open_time` and closes at `close_time` the same day, or the next day when `close_time` is
  earlier than `open_time` (an overnight window, 22:00-06:00). The window belongs to the date
  on which it OPENS: Friday's 22:00-06:00 window runs into Saturday morning, and a holiday on
  Saturday does not cut it short.
- Windows are half-open, [open, close): at the closing instant the venue is closed.
- A local time that does not exist (the spring-forward gap: 02:30 on the US March change) is
  moved forward by the length of the gap (02:30 -> 03:30 daylight time), as java.time does;
  this is what Python's fold=0 gives. A local time that occurs twice (the autumn fall-back
  hour) means its first occurrence (fold=0). Should these rules make a day's close fall at or
  before its open (open 02:30 -> 03:30, close 03:15), that day has no window.
- Windows that touch or overlap after conversion are one continuous window.
- A schedule that names an exchange calendar (`calendar`, e.g. XNYS) takes its windows from
  it instead (sessions/calendars.py): each session's own open and close, so holidays and
  early closes come with the calendar, and a lunch break splits a session into two windows;
  the hand-typed times and weekdays are then not used, the holidays still are (extra
  closures), and local dates are the calendar's.
- The search is bounded: nothing is looked for more than HORIZON_DAYS ahead, so a schedule
  with no trading day (or a year of holidays) answers None rather than looping.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sessions.calendars import calendar_time_zone, calendar_windows

HORIZON_DAYS = 370
# A window opened on local date D can still be open on D+1 (overnight). Starting two days
# back also covers zones whose clocks go back across midnight, where the local date repeats.
_LOOKBACK_DAYS = 2


@dataclass(frozen=True, kw_only=True)
class Schedule:
    time_zone: str
    open_time: time
    close_time: time
    weekdays: frozenset[int]  # ISO weekday numbers, Monday=1 ... Sunday=7
    holidays: frozenset[date] = frozenset()
    calendar: str = ""  # an exchange calendar's name; empty: the hand-typed window above

    @property
    def zone(self) -> ZoneInfo:
        if self.calendar:
            return ZoneInfo(calendar_time_zone(self.calendar))
        return ZoneInfo(self.time_zone)

    @property
    def is_overnight(self) -> bool:
        return self.close_time < self.open_time


@dataclass(frozen=True, kw_only=True)
class Window:
    session_date: date  # the local date on which the window opened
    open_at: datetime  # UTC
    close_at: datetime  # UTC

    def contains(self, instant: datetime) -> bool:
        return self.open_at <= instant < self.close_at


@dataclass(frozen=True, kw_only=True)
class ScheduleStatus:
    is_open: bool
    window: Window | None  # the window open at `now`, if any
    next_open: datetime | None  # the first opening strictly after `now` (UTC)
    next_close: datetime | None  # the current window's close, or else the next window's


def _utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # fold=0: a nonexistent wall time moves forward by the gap, an ambiguous one is the first.
    return datetime.combine(day, wall.replace(fold=0), tzinfo=zone).astimezone(UTC)


def is_trading_day(schedule: Schedule, day: date) -> bool:
    return day.isoweekday() in schedule.weekdays and day not in schedule.holidays


def windows_on(schedule: Schedule, day: date) -> list[Window]:
    """The windows that open on local date `day`: none, one, or (a calendar's session with
    a lunch break) two."""
    if schedule.calendar:
        if day in schedule.holidays:
            return []
        return [Window(session_date=day, open_at=open_at, close_at=close_at)
                for open_at, close_at in calendar_windows(schedule.calendar, day)]
    window = window_on(schedule, day)
    return [] if window is None else [window]


def window_on(schedule: Schedule, day: date) -> Window | None:
    """The hand-typed window that opens on local date `day`, or None if the venue does not
    open then."""
    if not is_trading_day(schedule, day):
        return None
    zone = schedule.zone
    close_day = day + timedelta(days=1) if schedule.is_overnight else day
    open_at = _utc(day, schedule.open_time, zone)
    close_at = _utc(close_day, schedule.close_time, zone)
    if close_at <= open_at:  # the open was pushed past the close by a DST gap
        return None
    return Window(session_date=day, open_at=open_at, close_at=close_at)


def _windows_from(schedule: Schedule, first_day: date, days: int) -> Iterator[Window]:
    for offset in range(days):
        yield from windows_on(schedule, first_day + timedelta(days=offset))


def _merged(windows: Iterable[Window]) -> Iterator[Window]:
    current: Window | None = None
    for window in windows:
        if current is not None and window.open_at <= current.close_at:
            current = Window(
                session_date=current.session_date,
                open_at=current.open_at,
                close_at=max(current.close_at, window.close_at),
            )
            continue
        if current is not None:
            yield current
        current = window
    if current is not None:
        yield current


def schedule_status(schedule: Schedule, now: datetime) -> ScheduleStatus:
    """Is the window open at `now` (aware), and when does it next open and close."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    first_day = now.astimezone(schedule.zone).date() - timedelta(days=_LOOKBACK_DAYS)
    current: Window | None = None
    upcoming: Window | None = None
    windows = _windows_from(schedule, first_day, HORIZON_DAYS + _LOOKBACK_DAYS + 1)
    for window in _merged(windows):
        if window.close_at <= now:
            continue
        if window.open_at <= now:
            current = window
            continue
        upcoming = window
        break
    if current is not None:
        return ScheduleStatus(
            is_open=True,
            window=current,
            next_open=upcoming.open_at if upcoming else None,
            next_close=current.close_at,
        )
    return ScheduleStatus(
        is_open=False,
        window=None,
        next_open=upcoming.open_at if upcoming else None,
        next_close=upcoming.close_at if upcoming else None,
    )


def last_close(schedule: Schedule, now: datetime) -> datetime | None:
    """The latest instant at or before `now` at which a window closed (UTC), or None if
    none did within HORIZON_DAYS."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    tomorrow = now.astimezone(schedule.zone).date() + timedelta(days=1)
    # Windows are scanned newest first; a later opening date never closes earlier.
    for offset in range(HORIZON_DAYS + 2):
        for window in reversed(windows_on(schedule, tomorrow - timedelta(days=offset))):
            if window.close_at > now:
                continue
            if schedule_status(schedule, window.close_at).is_open:
                continue  # the next window had already opened: no close happened here
            return window.close_at
    return None
