"""session_reconcile against the in-process venue: what the venue saw, and what we recorded."""

import threading
import time as wall_clock
from datetime import time

import pytest
from django.db import connection

from sessions import selectors, services
from venues.gateway import InProcessGateway
from sessions.models import (
    SessionEvent,
    SessionEventResult,
    SessionEventType,
    SessionOverride,
    SessionState,
    VenueSession,
)
from sessions.signals import session_window_closed
from tests.sessions.conftest import VenueFactory, at

pytestmark = pytest.mark.django_db

TUESDAY_BEFORE_OPEN = "2025-02-04T09:29:59-05:00"
TUESDAY_OPEN = "2025-02-04T09:30-05:00"
TUESDAY_MIDDAY = "2025-02-04T11:00-05:00"
TUESDAY_CLOSE = "2025-02-04T16:00-05:00"
TUESDAY_EVENING = "2025-02-04T16:30-05:00"


def state_of(code: str) -> str:
    return VenueSession.objects.get(pk=code).state


def logons(venue_side, code="XNYS") -> int:
    return venue_side.received(code).count(("LOGON", code))


def logouts(venue_side, code="XNYS") -> int:
    return venue_side.received(code).count(("LOGOUT", code))


# --- following the schedule --------------------------------------------------------------------


def test_nothing_is_sent_before_the_open(make_venue, clock, venue_side):
    make_venue("XNYS")
    clock.set(at(TUESDAY_BEFORE_OPEN))

    services.session_reconcile()

    assert venue_side.received() == []
    assert state_of("XNYS") == SessionState.LOGGED_OUT
    assert not selectors.session_is_logged_on(venue_code="XNYS")


def test_logs_on_at_the_open_and_records_the_acknowledgement(make_venue, clock, venue_side):
    make_venue("XNYS")
    clock.set(at(TUESDAY_OPEN))

    services.session_reconcile(actor="system:beat")

    assert venue_side.logged_on() == {"XNYS"}
    assert state_of("XNYS") == SessionState.LOGGED_ON
    assert selectors.session_is_logged_on(venue_code="XNYS")
    logon = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGON)
    assert logon.result == SessionEventResult.ACKNOWLEDGED
    assert logon.actor == "system:beat"
    assert logon.sent_at == at(TUESDAY_OPEN)
    assert logon.acknowledged_at == at(TUESDAY_OPEN)
    assert "window open" in logon.reason


def test_logs_out_at_the_close(make_venue, clock, venue_side):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()

    clock.set(at(TUESDAY_CLOSE))
    services.session_reconcile()

    assert venue_side.logged_on() == frozenset()
    assert venue_side.received("XNYS") == [("LOGON", "XNYS"), ("LOGOUT", "XNYS")]
    assert state_of("XNYS") == SessionState.LOGGED_OUT
    logout = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGOUT)
    assert logout.result == SessionEventResult.ACKNOWLEDGED
    assert logout.acknowledged_at == at(TUESDAY_CLOSE)


def test_weekend_and_holiday_send_nothing(make_venue, clock, venue_side):
    make_venue("XNYS", holidays=["2025-12-25"])
    for instant in ("2025-02-08T11:00-05:00", "2025-12-25T11:00-05:00"):
        clock.set(at(instant))
        services.session_reconcile()
    assert venue_side.received() == []


def test_overnight_window_stays_logged_on_past_midnight_and_off_saturday(
    make_venue, clock, venue_side
):
    make_venue("XOVN", time_zone="UTC", open_time=time(22), close_time=time(6))
    clock.set(at("2025-02-07T22:00Z"))  # Friday evening
    services.session_reconcile()
    clock.set(at("2025-02-08T03:00Z"))  # Saturday, still Friday's session
    services.session_reconcile()
    assert venue_side.received("XOVN") == [("LOGON", "XOVN")]

    clock.set(at("2025-02-08T06:00Z"))
    services.session_reconcile()
    clock.set(at("2025-02-08T22:00Z"))  # Saturday evening: no session opens
    services.session_reconcile()
    assert venue_side.received("XOVN") == [("LOGON", "XOVN"), ("LOGOUT", "XOVN")]
    assert state_of("XOVN") == SessionState.LOGGED_OUT


def test_dst_the_logon_happens_at_0930_local_after_the_spring_change(
    make_venue, clock, venue_side
):
    make_venue("XNYS")
    # Monday after the change, 09:30 EST would be 14:30 UTC: by then it must already be on.
    clock.set(at("2025-03-10T13:29:59Z"))
    services.session_reconcile()
    assert venue_side.received() == []
    clock.set(at("2025-03-10T13:30Z"))  # 09:30 EDT
    services.session_reconcile()
    assert venue_side.logged_on() == {"XNYS"}


# --- idempotence, lateness, restarts --------------------------------------------------------------


def test_a_second_run_sends_nothing(make_venue, clock, venue_side):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))

    first = services.session_reconcile()
    second = services.session_reconcile()

    assert logons(venue_side) == 1
    assert [o.action for o in first] == [SessionEventType.LOGON]
    assert [o.action for o in second] == [None]
    assert SessionEvent.objects.filter(type=SessionEventType.LOGON).count() == 1


def test_first_run_after_the_close_sends_no_logon(make_venue, clock, venue_side):
    # Beat was down all day: the 09:30 logon must not go out at 16:30.
    make_venue("XNYS")
    clock.set(at(TUESDAY_EVENING))

    services.session_reconcile()

    assert venue_side.received() == []
    assert state_of("XNYS") == SessionState.LOGGED_OUT


def test_the_clock_is_read_when_the_run_happens_not_when_it_was_scheduled(
    make_venue, clock, venue_side
):
    from sessions.tasks import session_reconcile_task

    make_venue("XNYS")
    clock.set(at(TUESDAY_EVENING))  # the 09:30 nudge is only now being run
    session_reconcile_task.apply()
    assert venue_side.received() == []


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even an except Exception."""


class DyingGateway(InProcessGateway):
    def _receive(self, venue_code, action):
        raise WorkerKilled


def test_a_logon_stuck_in_flight_past_the_close_ends_logged_out(
    make_venue, clock, venue_side
):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    with pytest.raises(WorkerKilled):
        services.session_reconcile(venue_code="XNYS", gateway=DyingGateway())
    assert state_of("XNYS") == SessionState.LOGGING_ON

    clock.set(at(TUESDAY_EVENING))
    services.session_reconcile()

    assert state_of("XNYS") == SessionState.LOGGED_OUT
    assert venue_side.received("XNYS") == [("LOGOUT", "XNYS")]
    stuck = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGON)
    assert stuck.result == SessionEventResult.ABANDONED


def test_after_a_crash_mid_logon_the_next_runs_converge_to_logged_on(
    make_venue, clock, venue_side, settings
):
    settings.OMS_SESSION_LEASE_SECONDS = 30
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    with pytest.raises(WorkerKilled):
        services.session_reconcile(venue_code="XNYS", gateway=DyingGateway())

    # While the dead sender's lease runs, nobody else talks to the venue...
    clock.set(at("2025-02-04T11:00:10-05:00"))
    services.session_reconcile()
    assert venue_side.received() == []
    # ...then the venue is taken over and logged on.
    clock.set(at("2025-02-04T11:00:31-05:00"))
    services.session_reconcile()
    services.session_reconcile()

    assert state_of("XNYS") == SessionState.LOGGED_ON
    assert venue_side.received("XNYS") == [("LOGON", "XNYS")]


def test_gateway_failure_is_recorded_then_retried_until_it_works(
    make_venue, clock, venue_side, flaky_gateway, settings
):
    settings.OMS_SESSION_RETRY_SECONDS = 5
    make_venue("XNYS")
    flaky_gateway.down = True
    clock.set(at(TUESDAY_MIDDAY))

    services.session_reconcile(gateway=flaky_gateway)

    assert state_of("XNYS") != SessionState.LOGGED_ON
    assert not selectors.session_can_send(venue_code="XNYS")
    failed = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGON)
    assert failed.result == SessionEventResult.FAILED
    assert "connection refused" in failed.data["error"]

    flaky_gateway.down = False
    clock.set(at("2025-02-04T11:00:05-05:00"))
    services.session_reconcile(gateway=flaky_gateway)

    assert state_of("XNYS") == SessionState.LOGGED_ON
    assert venue_side.logged_on() == {"XNYS"}
    results = list(
        SessionEvent.objects.filter(session_id="XNYS", type=SessionEventType.LOGON)
        .order_by("id")
        .values_list("result", flat=True)
    )
    assert results == [SessionEventResult.FAILED, SessionEventResult.ACKNOWLEDGED]


def test_a_failing_venue_is_not_hammered_every_second(
    make_venue, clock, venue_side, flaky_gateway, settings
):
    settings.OMS_SESSION_RETRY_SECONDS = 5
    make_venue("XNYS")
    flaky_gateway.down = True
    for second in range(5):
        clock.set(at(f"2025-02-04T11:00:0{second}-05:00"))
        services.session_reconcile(gateway=flaky_gateway)
    assert SessionEvent.objects.filter(type=SessionEventType.LOGON).count() == 1


def test_a_logout_that_fails_stops_sending_and_is_retried(
    make_venue, clock, venue_side, flaky_gateway, settings
):
    settings.OMS_SESSION_RETRY_SECONDS = 5
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile(gateway=flaky_gateway)
    flaky_gateway.down = True

    clock.set(at(TUESDAY_CLOSE))
    services.session_reconcile(gateway=flaky_gateway)
    assert not selectors.session_is_logged_on(venue_code="XNYS")

    flaky_gateway.down = False
    clock.set(at("2025-02-04T16:00:06-05:00"))
    services.session_reconcile(gateway=flaky_gateway)
    assert state_of("XNYS") == SessionState.LOGGED_OUT
    assert venue_side.logged_on() == frozenset()


def test_one_venue_failing_does_not_hold_up_another(make_venue, clock, venue_side):
    class HalfDownGateway(InProcessGateway):
        def _receive(self, venue_code, action):
            if venue_code == "XAAA":
                raise ConnectionError("no route to host")
            return super()._receive(venue_code, action)

    make_venue("XAAA")
    make_venue("XBBB")
    clock.set(at(TUESDAY_MIDDAY))

    services.session_reconcile(gateway=HalfDownGateway())

    assert venue_side.logged_on() == {"XBBB"}
    assert state_of("XBBB") == SessionState.LOGGED_ON


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_one_logon(make_venue, venue_side):
    class SlowGateway(InProcessGateway):
        def _receive(self, venue_code, action):
            wall_clock.sleep(0.3)  # both runs are in flight at once
            return super()._receive(venue_code, action)

    make_venue("XNYS", override=SessionOverride.OPEN)  # open whatever the real time
    errors = []

    def run():
        try:
            services.session_reconcile(venue_code="XNYS", gateway=SlowGateway())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert venue_side.received("XNYS") == [("LOGON", "XNYS")]
    assert state_of("XNYS") == SessionState.LOGGED_ON


# --- overrides and the halt ---------------------------------------------------------------------


def test_override_open_logs_on_outside_the_window(make_venue, clock, venue_side):
    make_venue("XNYS")
    clock.set(at("2025-02-08T11:00-05:00"))  # Saturday
    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.OPEN)

    services.session_reconcile()

    assert venue_side.logged_on() == {"XNYS"}


def test_override_closed_logs_out_inside_the_window_and_null_follows_the_schedule_again(
    make_venue, clock, venue_side
):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()

    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.CLOSED)
    services.session_reconcile()
    assert venue_side.logged_on() == frozenset()
    assert state_of("XNYS") == SessionState.LOGGED_OUT

    services.session_update(venue_code="XNYS", actor="op", override=None)
    services.session_reconcile()
    assert venue_side.logged_on() == {"XNYS"}
    assert venue_side.received("XNYS") == [
        ("LOGON", "XNYS"), ("LOGOUT", "XNYS"), ("LOGON", "XNYS"),
    ]


def test_halt_stops_sending_at_once_and_logs_every_venue_out(make_venue, clock, venue_side):
    make_venue("XAAA")
    make_venue("XBBB", override=SessionOverride.OPEN)
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    assert venue_side.logged_on() == {"XAAA", "XBBB"}

    services.trading_halt_set(halted=True, reason="runaway algo", actor="op")
    # Before reconcile has run, nothing may be sent any more.
    assert not selectors.session_can_send(venue_code="XAAA")
    assert selectors.session_is_logged_on(venue_code="XAAA")

    services.session_reconcile()
    assert venue_side.logged_on() == frozenset()

    services.trading_halt_set(halted=False, reason="", actor="op")
    services.session_reconcile()
    assert venue_side.logged_on() == {"XAAA", "XBBB"}
    assert selectors.session_can_send(venue_code="XAAA")


# --- new venues ---------------------------------------------------------------------------------


def test_a_new_venue_gets_the_demo_session_and_logs_on_at_once(venue_side, clock, db):
    clock.set(at("2025-02-08T15:42Z"))  # any time, even a Saturday

    VenueFactory(code="XNEW")
    services.session_reconcile()

    session = VenueSession.objects.get(pk="XNEW")
    assert session.time_zone == "UTC"
    assert session.weekdays == [1, 2, 3, 4, 5, 6, 7]
    assert venue_side.logged_on() == {"XNEW"}


def test_without_the_demo_a_new_venue_gets_new_york_hours(venue_side, clock, db, settings):
    settings.OMS_DEMO_SESSION = False
    clock.set(at("2025-02-08T15:42Z"))  # Saturday

    VenueFactory(code="XNEW")
    services.session_reconcile()

    session = VenueSession.objects.get(pk="XNEW")
    assert (session.time_zone, session.open_time, session.close_time) == (
        "America/New_York", time(9, 30), time(16, 0),
    )
    assert session.weekdays == [1, 2, 3, 4, 5]
    assert venue_side.received() == []
