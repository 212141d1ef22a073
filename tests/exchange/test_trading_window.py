"""The trading window in wall time: daily, overnight, across DST changes, and overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from exchange.trading_window import TradingHours, TradingWindow


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NEW_YORK = TradingWindow("America/New_York", time(9, 30), time(16, 0))


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-03-06 14:29:59.999999", False),  # 09:29:59.999999 EST
        ("2026-03-06 14:30:00", True),  # the open itself is inside
        ("2026-03-06 20:59:59.999999", True),
        ("2026-03-06 21:00:00", False),  # the close itself is outside
        # After the spring-forward (2026-03-08) the same wall times are an hour earlier in UTC.
        ("2026-03-09 13:30:00", True),
        ("2026-03-09 13:29:59", False),
        ("2026-03-09 19:59:59", True),
        ("2026-03-09 20:00:00", False),
    ],
)
def test_a_day_window_is_wall_time_in_its_zone(moment: str, is_open: bool) -> None:
    assert NEW_YORK.is_open(utc(moment)) is is_open


def test_next_open_and_close_follow_dst() -> None:
    friday_evening = utc("2026-03-06 22:00:00")
    assert NEW_YORK.next_open(friday_evening) == utc("2026-03-07 14:30:00")  # Saturday, EST
    sunday_evening = utc("2026-03-08 22:00:00")
    assert NEW_YORK.next_open(sunday_evening) == utc("2026-03-09 13:30:00")  # Monday, EDT
    assert NEW_YORK.next_close(utc("2026-03-09 14:00:00")) == utc("2026-03-09 20:00:00")
    # Strictly after: at the close instant the next close is tomorrow's.
    assert NEW_YORK.next_close(utc("2026-03-09 20:00:00")) == utc("2026-03-10 20:00:00")


TOKYO_NIGHT = TradingWindow("Asia/Tokyo", time(22, 0), time(4, 0))  # overnight, no DST


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-06-01 12:59:59", False),  # 21:59:59 JST
        ("2026-06-01 13:00:00", True),  # 22:00 JST
        ("2026-06-01 15:00:00", True),  # 00:00 JST the next day: still the same session
        ("2026-06-01 18:59:59", True),  # 03:59:59 JST
        ("2026-06-01 19:00:00", False),  # 04:00 JST
    ],
)
def test_an_overnight_window_runs_past_midnight(moment: str, is_open: bool) -> None:
    assert TOKYO_NIGHT.is_open(utc(moment)) is is_open


def test_overnight_next_close_is_the_next_morning() -> None:
    assert TOKYO_NIGHT.next_close(utc("2026-06-01 14:00:00")) == utc("2026-06-01 19:00:00")
    assert TOKYO_NIGHT.next_open(utc("2026-06-01 14:00:00")) == utc("2026-06-02 13:00:00")


def test_a_wall_time_in_the_spring_forward_gap_is_shifted_by_the_gap() -> None:
    # 02:30 does not exist in New York on 2026-03-08; zoneinfo reads it as 03:30 EDT.
    window = TradingWindow("America/New_York", time(2, 30), time(12, 0))
    assert window.next_open(utc("2026-03-08 05:00:00")) == utc("2026-03-08 07:30:00")
    assert not window.is_open(utc("2026-03-08 07:15:00"))  # 03:15 EDT
    assert window.is_open(utc("2026-03-08 07:30:00"))


def test_a_repeated_wall_time_happens_once_at_its_first_occurrence() -> None:
    # 01:30 happens twice in New York on 2026-11-01 (EDT, then EST an hour later).
    window = TradingWindow("America/New_York", time(20, 0), time(1, 30))  # overnight
    first = utc("2026-11-01 05:30:00")  # 01:30 EDT
    assert window.next_close(utc("2026-11-01 05:00:00")) == first
    assert not window.is_open(first)
    # 01:00 EST comes after it on the wall clock; the session must not come back.
    assert not window.is_open(utc("2026-11-01 06:00:00"))
    assert not window.is_open(utc("2026-11-01 06:45:00"))
    assert window.next_open(first) == utc("2026-11-02 01:00:00")  # 20:00 EST


def test_the_demo_default_closes_for_one_second_a_day() -> None:
    window = TradingWindow("UTC", time(0, 0, 0), time(23, 59, 59))
    assert window.is_open(utc("2026-06-01 23:59:58.999999"))
    assert not window.is_open(utc("2026-06-01 23:59:59"))
    assert window.is_open(utc("2026-06-02 00:00:00"))


def test_close_passed_answers_once_per_close_however_late_it_is_asked() -> None:
    hours = TradingHours(NEW_YORK, utc("2026-03-09 14:00:00"))
    assert not hours.close_passed(utc("2026-03-09 19:59:59.999999"))
    assert hours.close_passed(utc("2026-03-09 20:00:00"))
    assert not hours.close_passed(utc("2026-03-09 20:00:01"))
    # Asked only two days later: one close to act on, not two.
    assert hours.close_passed(utc("2026-03-11 23:00:00"))
    assert not hours.close_passed(utc("2026-03-11 23:00:01"))


def test_manual_close_lasts_until_the_next_scheduled_open() -> None:
    hours = TradingHours(NEW_YORK, utc("2026-03-09 14:00:00"))
    hours.close_now(utc("2026-03-09 15:00:00"))
    assert not hours.is_open(utc("2026-03-09 15:00:00"))
    assert not hours.is_open(utc("2026-03-10 13:29:59"))
    assert hours.is_open(utc("2026-03-10 13:30:00"))


def test_manual_open_outside_the_window_lasts_until_the_next_scheduled_close() -> None:
    hours = TradingHours(NEW_YORK, utc("2026-03-09 22:00:00"))
    assert not hours.is_open(utc("2026-03-09 22:00:00"))
    hours.open_now(utc("2026-03-09 22:00:00"))
    assert hours.is_open(utc("2026-03-09 22:00:00"))
    assert hours.is_open(utc("2026-03-10 19:59:59"))
    assert not hours.is_open(utc("2026-03-10 20:00:00"))


def test_manual_open_inside_the_window_undoes_a_manual_close() -> None:
    hours = TradingHours(NEW_YORK, utc("2026-03-09 14:00:00"))
    hours.close_now(utc("2026-03-09 15:00:00"))
    hours.open_now(utc("2026-03-09 15:30:00"))
    assert hours.is_open(utc("2026-03-09 15:30:00"))
    assert not hours.is_open(utc("2026-03-09 20:00:00"))
