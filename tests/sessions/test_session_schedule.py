"""The schedule arithmetic alone: no database, instants given explicitly."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sessions.schedule import Schedule, last_close, schedule_status, window_on
from tests.sessions.conftest import at

NY = ZoneInfo("America/New_York")


def nyse(**changes) -> Schedule:
    values = {
        "time_zone": "America/New_York",
        "open_time": time(9, 30),
        "close_time": time(16, 0),
        "weekdays": frozenset({1, 2, 3, 4, 5}),
        "holidays": frozenset(),
    }
    values.update(changes)
    return Schedule(**values)


def overnight(**changes) -> Schedule:
    """22:00-06:00 UTC, opening Monday to Friday."""
    values = {
        "time_zone": "UTC",
        "open_time": time(22, 0),
        "close_time": time(6, 0),
        "weekdays": frozenset({1, 2, 3, 4, 5}),
    }
    values.update(changes)
    return Schedule(**values)


# --- a normal day -------------------------------------------------------------------------------


def test_open_during_the_window_with_its_bounds():
    status = schedule_status(nyse(), at("2025-02-04T11:00-05:00"))  # a Tuesday

    assert status.is_open
    assert status.window.open_at == at("2025-02-04T09:30-05:00")
    assert status.window.close_at == at("2025-02-04T16:00-05:00")
    assert status.next_close == at("2025-02-04T16:00-05:00")
    assert status.next_open == at("2025-02-05T09:30-05:00")


def test_closed_before_the_open_says_when_it_opens_today():
    status = schedule_status(nyse(), at("2025-02-04T09:29:59-05:00"))

    assert not status.is_open
    assert status.window is None
    assert status.next_open == at("2025-02-04T09:30-05:00")
    assert status.next_close == at("2025-02-04T16:00-05:00")


def test_open_at_the_opening_instant_and_closed_at_the_closing_one():
    assert schedule_status(nyse(), at("2025-02-04T09:30-05:00")).is_open
    at_close = schedule_status(nyse(), at("2025-02-04T16:00-05:00"))
    assert not at_close.is_open
    assert at_close.next_open == at("2025-02-05T09:30-05:00")


def test_instants_come_back_in_utc():
    status = schedule_status(nyse(), at("2025-02-04T11:00-05:00"))
    assert status.next_close.utcoffset().total_seconds() == 0
    assert status.next_close == datetime(2025, 2, 4, 21, 0, tzinfo=UTC)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        schedule_status(nyse(), datetime(2025, 2, 4, 11, 0))


# --- weekends and holidays -------------------------------------------------------------------


def test_weekend_is_closed_and_the_next_open_is_monday():
    status = schedule_status(nyse(), at("2025-02-08T12:00-05:00"))  # Saturday

    assert not status.is_open
    assert status.next_open == at("2025-02-10T09:30-05:00")


def test_friday_after_the_close_waits_for_monday():
    status = schedule_status(nyse(), at("2025-02-07T16:30-05:00"))
    assert not status.is_open
    assert status.next_open == at("2025-02-10T09:30-05:00")


def test_holiday_is_closed_all_day_and_the_next_trading_day_opens():
    schedule = nyse(holidays=frozenset({date(2025, 12, 25)}))  # a Thursday

    status = schedule_status(schedule, at("2025-12-25T11:00-05:00"))

    assert not status.is_open
    assert status.next_open == at("2025-12-26T09:30-05:00")
    # and the day before says the same: the holiday is skipped
    assert schedule_status(schedule, at("2025-12-24T17:00-05:00")).next_open == at(
        "2025-12-26T09:30-05:00"
    )


def test_holidays_before_a_weekend_are_skipped_together():
    schedule = nyse(holidays=frozenset({date(2025, 4, 18)}))  # Good Friday
    status = schedule_status(schedule, at("2025-04-17T16:30-04:00"))
    assert status.next_open == at("2025-04-21T09:30-04:00")


# --- overnight windows ---------------------------------------------------------------------------


def test_overnight_window_is_open_before_and_after_midnight():
    before_midnight = schedule_status(overnight(), at("2025-02-04T23:00Z"))  # Tuesday
    after_midnight = schedule_status(overnight(), at("2025-02-05T03:00Z"))

    assert before_midnight.is_open and after_midnight.is_open
    assert before_midnight.window == after_midnight.window
    assert after_midnight.window.open_at == at("2025-02-04T22:00Z")
    assert after_midnight.window.close_at == at("2025-02-05T06:00Z")


def test_part_after_midnight_belongs_to_the_session_that_opened_the_day_before():
    status = schedule_status(overnight(), at("2025-02-05T03:00Z"))
    assert status.window.session_date == date(2025, 2, 4)


def test_overnight_window_closes_in_the_morning_and_reopens_in_the_evening():
    status = schedule_status(overnight(), at("2025-02-05T06:00Z"))
    assert not status.is_open
    assert status.next_open == at("2025-02-05T22:00Z")
    assert status.next_close == at("2025-02-06T06:00Z")


def test_friday_night_window_runs_into_saturday_morning_then_waits_for_monday():
    saturday_early = schedule_status(overnight(), at("2025-02-08T05:59:59Z"))
    assert saturday_early.is_open
    assert saturday_early.window.session_date == date(2025, 2, 7)  # Friday's session

    saturday_later = schedule_status(overnight(), at("2025-02-08T06:00Z"))
    assert not saturday_later.is_open
    assert saturday_later.next_open == at("2025-02-10T22:00Z")


def test_monday_small_hours_are_closed_when_sunday_does_not_trade():
    status = schedule_status(overnight(), at("2025-02-10T03:00Z"))
    assert not status.is_open
    assert status.next_open == at("2025-02-10T22:00Z")


def test_holiday_on_the_opening_date_cancels_that_night_only():
    schedule = overnight(holidays=frozenset({date(2025, 2, 4)}))  # Tuesday
    # Monday night's session still runs into the holiday morning...
    assert schedule_status(schedule, at("2025-02-04T03:00Z")).is_open
    # ...but nothing opens on the holiday evening.
    status = schedule_status(schedule, at("2025-02-04T23:00Z"))
    assert not status.is_open
    assert status.next_open == at("2025-02-05T22:00Z")


# --- daylight saving time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "utc_before", "utc_after"),
    [
        # US spring forward (Sunday 9 March 2025): EST -> EDT
        (date(2025, 3, 7), date(2025, 3, 10), "14:30", "13:30"),
        # US fall back (Sunday 2 November 2025): EDT -> EST
        (date(2025, 10, 31), date(2025, 11, 3), "13:30", "14:30"),
    ],
)
def test_new_york_open_stays_0930_local_while_utc_moves_an_hour(
    before, after, utc_before, utc_after
):
    schedule = nyse()
    for day, utc_open in ((before, utc_before), (after, utc_after)):
        window = window_on(schedule, day)
        assert window.open_at.astimezone(NY).time() == time(9, 30)
        assert window.close_at.astimezone(NY).time() == time(16, 0)
        assert window.open_at.strftime("%H:%M") == utc_open
        assert window.open_at.tzinfo == UTC


def test_next_open_across_the_spring_change_is_0930_daylight_time():
    # Friday evening before the change: the next open is Monday 09:30 EDT = 13:30 UTC.
    status = schedule_status(nyse(), at("2025-03-07T17:00-05:00"))
    assert status.next_open == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)


def test_london_open_stays_0800_local_across_british_summer_time():
    london = Schedule(
        time_zone="Europe/London",
        open_time=time(8, 0),
        close_time=time(16, 30),
        weekdays=frozenset({1, 2, 3, 4, 5}),
    )
    friday = window_on(london, date(2025, 3, 28))
    monday = window_on(london, date(2025, 3, 31))  # clocks went forward on 30 March
    assert friday.open_at == datetime(2025, 3, 28, 8, 0, tzinfo=UTC)
    assert monday.open_at == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)


def test_overnight_window_over_the_spring_change_is_an_hour_shorter():
    schedule = Schedule(
        time_zone="America/New_York",
        open_time=time(22, 0),
        close_time=time(6, 0),
        weekdays=frozenset({6}),
    )
    window = window_on(schedule, date(2025, 3, 8))  # Saturday night into the change
    assert window.open_at == at("2025-03-08T22:00-05:00")
    assert window.close_at == at("2025-03-09T06:00-04:00")
    assert window.close_at - window.open_at == datetime(1, 1, 1, 7) - datetime(1, 1, 1, 0)


def test_nonexistent_open_moves_forward_by_the_gap():
    # 02:30 does not exist in New York on 9 March 2025: it opens at 03:30 EDT.
    schedule = nyse(open_time=time(2, 30), close_time=time(4, 0), weekdays=frozenset({7}))
    window = window_on(schedule, date(2025, 3, 9))
    assert window.open_at == at("2025-03-09T03:30-04:00")
    assert window.close_at == at("2025-03-09T04:00-04:00")


def test_ambiguous_open_means_its_first_occurrence():
    # 01:30 happens twice in New York on 2 November 2025: the first, still EDT.
    schedule = nyse(open_time=time(1, 30), close_time=time(4, 0), weekdays=frozenset({7}))
    window = window_on(schedule, date(2025, 11, 2))
    assert window.open_at == at("2025-11-02T01:30-04:00")
    assert window.close_at == at("2025-11-02T04:00-05:00")


def test_a_window_inside_the_spring_gap_moves_forward_whole():
    schedule = nyse(open_time=time(2, 10), close_time=time(2, 50), weekdays=frozenset({7}))
    window = window_on(schedule, date(2025, 3, 9))
    assert window.open_at == at("2025-03-09T03:10-04:00")
    assert window.close_at == at("2025-03-09T03:50-04:00")


def test_a_day_whose_shifted_open_passes_its_close_has_no_window():
    # 02:30 becomes 03:30 EDT, after the 03:15 close: nothing to trade that night.
    schedule = nyse(open_time=time(2, 30), close_time=time(3, 15), weekdays=frozenset({7}))
    assert window_on(schedule, date(2025, 3, 9)) is None
    assert window_on(schedule, date(2025, 3, 16)) is not None


# --- bounded search ------------------------------------------------------------------------------


def test_a_schedule_that_never_opens_answers_none():
    status = schedule_status(nyse(weekdays=frozenset()), at("2025-02-04T11:00-05:00"))
    assert (status.is_open, status.next_open, status.next_close) == (False, None, None)


def test_a_year_of_holidays_answers_none_rather_than_searching_forever():
    start = date(2025, 1, 1)
    holidays = frozenset(date.fromordinal(start.toordinal() + i) for i in range(400))
    status = schedule_status(nyse(holidays=holidays), at("2025-01-01T12:00-05:00"))
    assert status.next_open is None


# --- the last close ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-02-04T11:00-05:00", "2025-02-03T16:00-05:00"),  # Tuesday midday: Monday's
        ("2025-02-04T16:00-05:00", "2025-02-04T16:00-05:00"),  # at the close itself
        ("2025-02-08T12:00-05:00", "2025-02-07T16:00-05:00"),  # Saturday: Friday's
        ("2025-03-10T13:00Z", "2025-03-07T16:00-05:00"),  # Monday before the open, after DST
    ],
)
def test_last_close(now, expected):
    assert last_close(nyse(), at(now)) == at(expected)


def test_last_close_of_an_overnight_window_is_in_the_morning():
    assert last_close(overnight(), at("2025-02-08T07:00Z")) == at("2025-02-08T06:00Z")
    assert last_close(overnight(), at("2025-02-05T03:00Z")) == at("2025-02-04T06:00Z")


def test_no_last_close_for_a_schedule_that_never_opens():
    assert last_close(nyse(weekdays=frozenset()), at("2025-02-04T11:00-05:00")) is None
