"""Venue schedules from named exchange calendars (exchange_calendars): holidays, early
closes and lunch breaks come with the calendar; the operator's own holidays still apply."""

from datetime import UTC, date, datetime, time

import pytest

from sessions import services
from sessions.models import SessionState, VenueSession
from sessions.schedule import Schedule, last_close, schedule_status, windows_on
from tests.sessions.conftest import at, holder_follows, session_of

ON, OUT = SessionState.LOGGED_ON, SessionState.LOGGED_OUT


def on_calendar(name: str, **extra) -> Schedule:
    # The hand-typed fields are what a session row holds; the calendar replaces them.
    return Schedule(time_zone="UTC", open_time=time(0, 0), close_time=time(23, 59, 59),
                    weekdays=frozenset(range(1, 8)), calendar=name, **extra)


def nyse(**extra) -> Schedule:
    return on_calendar("XNYS", **extra)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spans(schedule: Schedule, day: date) -> list[tuple[str, str]]:
    return [(w.open_at.strftime("%H:%M"), w.close_at.strftime("%H:%M"))
            for w in windows_on(schedule, day)]


def test_nyse_opens_0930_new_york_and_closes_at_1600():
    assert spans(nyse(), date(2026, 11, 25)) == [("14:30", "21:00")]  # EST: UTC-5
    assert spans(nyse(), date(2026, 6, 10)) == [("13:30", "20:00")]  # EDT: UTC-4


def test_a_calendar_holiday_has_no_window_and_an_early_close_closes_early():
    assert spans(nyse(), date(2026, 11, 26)) == []  # Thanksgiving
    assert spans(nyse(), date(2026, 11, 27)) == [("14:30", "18:00")]  # 13:00 New York
    assert spans(nyse(), date(2026, 11, 28)) == []  # Saturday

    on_thanksgiving = schedule_status(nyse(), utc("2026-11-26T15:00"))
    assert not on_thanksgiving.is_open
    assert on_thanksgiving.next_open == utc("2026-11-27T14:30")
    assert on_thanksgiving.next_close == utc("2026-11-27T18:00")

    after_the_early_close = utc("2026-11-27T18:00")
    assert not schedule_status(nyse(), after_the_early_close).is_open
    assert schedule_status(nyse(), utc("2026-11-27T17:59:59")).is_open
    assert last_close(nyse(), utc("2026-11-27T19:00")) == after_the_early_close
    assert schedule_status(nyse(), after_the_early_close).next_open == utc("2026-11-30T14:30")


def test_the_operators_own_holidays_close_a_calendar_day_too():
    schedule = nyse(holidays=frozenset({date(2026, 11, 30)}))
    assert spans(schedule, date(2026, 11, 30)) == []
    assert schedule_status(schedule, utc("2026-11-27T19:00")).next_open == utc(
        "2026-12-01T14:30")


def test_a_lunch_break_splits_the_session_into_two_windows():
    hong_kong = on_calendar("XHKG")
    # 09:30-12:00 and 13:00-16:00 Hong Kong time (UTC+8, no daylight saving).
    assert spans(hong_kong, date(2026, 12, 2)) == [("01:30", "04:00"), ("05:00", "08:00")]
    at_lunch = schedule_status(hong_kong, utc("2026-12-02T04:30"))
    assert not at_lunch.is_open and at_lunch.next_open == utc("2026-12-02T05:00")


def test_london_keeps_0800_local_across_the_spring_change():
    london = on_calendar("XLON")
    assert spans(london, date(2026, 3, 27)) == [("08:00", "16:30")]  # GMT
    assert spans(london, date(2026, 3, 30)) == [("07:00", "15:30")]  # BST


@pytest.mark.django_db
def test_a_venue_on_a_calendar_logs_off_at_the_early_close(make_venue, clock):
    make_venue("XNYS")
    services.session_update(venue_code="XNYS", actor="desk", calendar="XNYS")

    clock.set(at("2026-11-27T12:59:59-05:00"))
    services.session_reconcile()
    holder_follows("XNYS")
    assert session_of("XNYS").desired == ON, session_of("XNYS").desired_reason

    clock.set(at("2026-11-27T13:00:00-05:00"))
    services.session_reconcile()
    assert session_of("XNYS").desired == OUT

    clock.set(at("2026-11-26T11:00:00-05:00"))  # Thanksgiving: the hand-typed window is not used
    services.session_reconcile()
    assert session_of("XNYS").desired == OUT


@pytest.mark.django_db
def test_operators_set_and_clear_a_calendar_through_the_api(make_venue, staff_api, clock):
    make_venue("XNYS")
    clock.set(at("2026-11-26T11:00:00-05:00"))

    response = staff_api.patch("/api/v1/sessions/XNYS", {"schedule": {"calendar": "XNYS"}},
                               format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["schedule"]["calendar"] == "XNYS"
    assert (body["windowOpen"], body["nextOpen"], body["nextClose"]) == (
        False, "2026-11-27T14:30:00Z", "2026-11-27T18:00:00Z")
    event = session_of("XNYS").events.order_by("id").last()
    assert event.data == {"before": {"calendar": ""}, "after": {"calendar": "XNYS"}}

    response = staff_api.patch("/api/v1/sessions/XNYS", {"schedule": {"calendar": ""}},
                               format="json")
    assert response.json()["schedule"]["calendar"] == ""
    assert response.json()["windowOpen"] is True  # Thursday 11:00, the hand-typed window


@pytest.mark.django_db
def test_an_unknown_calendar_is_400_naming_the_field(make_venue, staff_api):
    make_venue("XNYS")
    response = staff_api.patch("/api/v1/sessions/XNYS", {"schedule": {"calendar": "XMARS"}},
                               format="json")
    assert response.status_code == 400
    assert "calendar" in response.json()["details"]
    assert VenueSession.objects.get(pk="XNYS").calendar == ""
