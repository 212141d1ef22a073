"""Named exchange calendars (the `exchange_calendars` package: XNYS, XLON, XTKS, ...) as
trading windows: each session's open and close in UTC, holidays and early closes included,
and a session with a lunch break (XHKG, XTKS) as two windows.

`exchange_calendars` (with pandas) costs about 0.4 s to import, so it is imported on first
use: a process whose venues follow hand-typed schedules never pays for it.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime

logger = logging.getLogger(__name__)


@functools.cache
def calendar_names() -> frozenset[str]:
    import exchange_calendars

    return frozenset(exchange_calendars.get_calendar_names(include_aliases=True))


def calendar_exists(name: str) -> bool:
    return name in calendar_names()


@functools.cache
def calendar_time_zone(name: str) -> str:
    import exchange_calendars

    return str(exchange_calendars.get_calendar(name).tz)


def _utc(stamp) -> datetime:
    return stamp.to_pydatetime().astimezone(UTC)


def calendar_windows(name: str, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The windows (open, close) in UTC of the calendar's session on `day`: none, one, or two
    around a lunch break."""
    return _sessions_of_year(name, day.year).get(day, ())


@functools.lru_cache(maxsize=64)
def _sessions_of_year(name: str, year: int) -> dict[date, tuple[tuple[datetime, datetime], ...]]:
    """One calendar year of sessions, built once per process (about 0.1 s). Built per year
    rather than with the package's default range (20 years back to one year ahead of the
    day it is first loaded), so a process running for years, or a clock set far ahead, still
    finds its sessions; a year the calendar cannot build has none (logged)."""
    import exchange_calendars
    import pandas

    try:
        calendar = exchange_calendars.get_calendar(name, start=f"{year}-01-01",
                                                   end=f"{year}-12-31")
    except Exception as exc:  # outside the calendar's bounds, or an unknown name
        logger.warning("exchange calendar %s has no sessions for %s: %r", name, year, exc)
        return {}
    schedule = calendar.schedule
    no_break = [pandas.NaT] * len(schedule)
    starts = schedule["break_start"] if "break_start" in schedule else no_break
    ends = schedule["break_end"] if "break_end" in schedule else no_break
    sessions = {}
    for day, opens, break_start, break_end, closes in zip(
        schedule.index, schedule["open"], starts, ends, schedule["close"], strict=True
    ):
        if pandas.isna(break_start):
            windows = ((_utc(opens), _utc(closes)),)
        else:
            windows = ((_utc(opens), _utc(break_start)), (_utc(break_end), _utc(closes)))
        sessions[day.date()] = windows
    return sessions
