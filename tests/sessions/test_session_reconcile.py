"""session_reconcile decides what each venue's session should be, and records it: `desired`,
with a PENDING LOGON or LOGOUT event for the session's holder to carry out. It never talks to
a venue and never records the wire (`state`)."""

from datetime import time

import pytest

from sessions import selectors, services
from sessions.models import (
    SessionEvent,
    SessionEventResult,
    SessionEventType,
    SessionOverride,
    SessionState,
    VenueSession,
)
from sessions.services import ReconcileOutcome
from sessions.tasks import session_reconcile_task
from tests.sessions.conftest import (
    InThreads,
    at,
    holder_follows,
    session_of,
    session_row_locked,
    wait_for_lock_waiters,
)

pytestmark = pytest.mark.django_db

ON, OUT = SessionState.LOGGED_ON, SessionState.LOGGED_OUT
TUESDAY_BEFORE_OPEN = "2025-02-04T09:29:59-05:00"
TUESDAY_OPEN = "2025-02-04T09:30-05:00"
TUESDAY_MIDDAY = "2025-02-04T11:00-05:00"
TUESDAY_CLOSE = "2025-02-04T16:00-05:00"
TUESDAY_EVENING = "2025-02-04T16:30-05:00"


def desired_of(code: str = "XNYS") -> str:
    return session_of(code).desired


def logon_logout_history(code: str = "XNYS") -> list[tuple[str, str]]:
    return list(
        SessionEvent.objects.filter(
            session_id=code, type__in=[SessionEventType.LOGON, SessionEventType.LOGOUT]
        ).order_by("id").values_list("type", "result")
    )


def desired_at(clock, code: str, instant: str) -> str:
    """Reconcile at `instant`, the holder following as it would within a second."""
    clock.set(at(instant))
    services.session_reconcile()
    holder_follows(code)
    return desired_of(code)


# --- following the schedule --------------------------------------------------------------------


def test_before_the_open_the_session_should_stay_logged_out(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_BEFORE_OPEN))

    outcome = services.session_reconcile()

    assert outcome == [ReconcileOutcome(venue_code="XNYS", action=None, desired=OUT, state=OUT)]
    assert desired_of() == OUT
    assert logon_logout_history() == []
    assert not selectors.session_is_logged_on(venue_code="XNYS")


def test_at_the_open_a_logon_is_asked_for_and_the_wire_is_left_to_the_holder(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_OPEN))

    outcome = services.session_reconcile(actor="system:beat")

    assert outcome == [ReconcileOutcome(venue_code="XNYS", action=SessionEventType.LOGON,
                                        desired=ON, state=OUT)]
    session = session_of("XNYS")
    assert (session.desired, session.state) == (ON, OUT)
    assert session.desired_reason == "window open until 2025-02-04T21:00:00Z"
    logon = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGON)
    assert session.pending_event == logon
    assert (logon.result, logon.actor, logon.created_at) == (
        SessionEventResult.PENDING, "system:beat", at(TUESDAY_OPEN))
    assert (logon.sent_at, logon.acknowledged_at) == (None, None)
    assert "window open" in logon.reason
    # Nothing may be sent before the holder has recorded the venue's answer.
    assert not selectors.session_is_logged_on(venue_code="XNYS")

    assert holder_follows("XNYS") == ON
    assert selectors.session_is_logged_on(venue_code="XNYS")


def test_at_the_close_a_logout_is_asked_for_and_nothing_more_may_be_sent(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XNYS")

    clock.set(at(TUESDAY_CLOSE))
    [outcome] = services.session_reconcile()

    assert (outcome.action, outcome.desired, outcome.state) == (SessionEventType.LOGOUT, OUT, ON)
    session = session_of("XNYS")
    assert (session.desired, session.state, session.desired_reason) == (OUT, ON, "window closed")
    # The holder has not logged out yet, but the send gate is shut from this commit on.
    assert not selectors.session_is_logged_on(venue_code="XNYS")
    assert not selectors.session_gate_for_send(venue_code="XNYS").open
    logout = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGOUT)
    assert (logout.result, logout.created_at) == (SessionEventResult.PENDING, at(TUESDAY_CLOSE))

    assert holder_follows("XNYS") == OUT
    assert logon_logout_history() == [
        (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED),
        (SessionEventType.LOGOUT, SessionEventResult.ACKNOWLEDGED),
    ]


def test_weekends_and_holidays_never_ask_for_a_logon(make_venue, clock):
    make_venue("XNYS", holidays=["2025-12-25"])
    for instant in ("2025-02-08T11:00-05:00", "2025-02-09T11:00-05:00", "2025-12-25T11:00-05:00"):
        assert desired_at(clock, "XNYS", instant) == OUT
    assert logon_logout_history() == []
    assert desired_at(clock, "XNYS", "2025-12-26T11:00-05:00") == ON  # the day after


def test_an_overnight_window_stays_on_past_midnight_and_saturday_opens_none(make_venue, clock):
    make_venue("XOVN", time_zone="UTC", open_time=time(22), close_time=time(6))

    assert [
        desired_at(clock, "XOVN", instant)
        for instant in (
            "2025-02-07T21:59:59Z",  # Friday, before the open
            "2025-02-07T22:00Z",
            "2025-02-08T03:00Z",  # Saturday morning: still Friday's session
            "2025-02-08T05:59:59Z",
            "2025-02-08T06:00Z",
            "2025-02-08T22:00Z",  # Saturday evening: no session opens
            "2025-02-09T23:00Z",  # Sunday evening: none either
            "2025-02-10T22:00Z",  # Monday's
        )
    ] == [OUT, ON, ON, ON, OUT, OUT, OUT, ON]
    assert [t for t, _ in logon_logout_history("XOVN")] == ["LOGON", "LOGOUT", "LOGON"]


def test_dst_the_logon_is_at_0930_local_after_the_spring_change(make_venue, clock):
    make_venue("XNYS")
    # Monday after the change: 09:30 EDT is 13:30 UTC (it was 14:30 UTC the week before).
    assert desired_at(clock, "XNYS", "2025-03-10T13:29:59Z") == OUT
    assert desired_at(clock, "XNYS", "2025-03-10T13:30Z") == ON
    assert desired_at(clock, "XNYS", "2025-03-10T19:59:59Z") == ON
    assert desired_at(clock, "XNYS", "2025-03-10T20:00Z") == OUT  # 16:00 EDT


def test_dst_the_close_is_at_1600_local_after_the_autumn_change(make_venue, clock):
    make_venue("XNYS")
    assert desired_at(clock, "XNYS", "2025-11-03T20:30Z") == ON  # 15:30 EST
    assert desired_at(clock, "XNYS", "2025-11-03T21:00Z") == OUT  # 16:00 EST


# --- idempotence, lateness ------------------------------------------------------------------------


def test_a_second_run_asks_for_nothing(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))

    first = services.session_reconcile()
    second = services.session_reconcile()

    assert [o.action for o in first] == [SessionEventType.LOGON]
    assert [o.action for o in second] == [None]
    assert logon_logout_history() == [(SessionEventType.LOGON, SessionEventResult.PENDING)]


def test_a_run_after_the_holder_logged_on_asks_for_nothing(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XNYS")

    clock.set(at("2025-02-04T11:00:01-05:00"))
    assert [o.action for o in services.session_reconcile()] == [None]
    assert session_of("XNYS").pending_event is None


def test_the_first_run_after_the_close_asks_for_no_logon(make_venue, clock):
    # Beat was down all day: the 09:30 logon must not be asked for at 16:30.
    make_venue("XNYS")
    assert desired_at(clock, "XNYS", TUESDAY_EVENING) == OUT
    assert logon_logout_history() == []


def test_a_late_task_decides_for_the_time_it_runs_not_the_time_it_was_queued(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_EVENING))  # the 09:30 nudge is only now being run
    session_reconcile_task.apply()
    assert desired_of() == OUT
    assert logon_logout_history() == []


@pytest.mark.django_db(transaction=True)
def test_the_clock_is_read_once_the_row_is_locked(make_venue, clock):
    """A run that waits for the row (a send under way holds it) decides for when it gets
    it: a run started at 15:59:59 that gets the row at 16:00 asks for the logout."""
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XNYS")

    clock.set(at("2025-02-04T15:59:59-05:00"))
    with session_row_locked("XNYS"):
        run = InThreads(lambda: services.session_reconcile(venue_code="XNYS"))
        assert wait_for_lock_waiters(1)
        clock.set(at(TUESDAY_CLOSE))
    [[outcome]] = run.join()

    assert (outcome.action, desired_of()) == (SessionEventType.LOGOUT, OUT)
    logout = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGOUT)
    assert logout.created_at == at(TUESDAY_CLOSE)


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_decide_once(make_venue):
    make_venue("XNYS", override=SessionOverride.OPEN)  # open whatever the real time

    with session_row_locked("XNYS"):  # both runs meet at the row
        runs = InThreads(*[lambda: services.session_reconcile(venue_code="XNYS")] * 2)
        assert wait_for_lock_waiters(2)
    outcomes = [outcome for result in runs.join() for outcome in result]

    assert sorted(str(o.action) for o in outcomes) == ["LOGON", "None"]
    assert logon_logout_history() == [(SessionEventType.LOGON, SessionEventResult.PENDING)]
    assert desired_of() == ON


# --- what the holder has not done yet ----------------------------------------------------------


def test_a_logon_never_carried_out_is_abandoned_at_the_close(make_venue, clock):
    # The holder was down all day: by the close its logon is no longer wanted.
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()

    clock.set(at(TUESDAY_EVENING))
    services.session_reconcile()

    session = session_of("XNYS")
    assert (session.desired, session.state, session.pending_event) == (OUT, OUT, None)
    stuck = SessionEvent.objects.get(session_id="XNYS", type=SessionEventType.LOGON)
    assert stuck.result == SessionEventResult.ABANDONED
    assert stuck.data["abandoned_at"] == "2025-02-04T21:30:00Z"
    # Already logged out: no LOGOUT is left for the holder to carry out.
    assert logon_logout_history() == [(SessionEventType.LOGON, SessionEventResult.ABANDONED)]


def test_a_logout_called_off_before_the_holder_acted_leaves_nothing_pending(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XNYS")

    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.CLOSED)
    services.session_reconcile()
    services.session_update(venue_code="XNYS", actor="op", override=None)
    services.session_reconcile()  # within the holder's tick: it never saw the logout

    session = session_of("XNYS")
    assert (session.desired, session.state, session.pending_event) == (ON, ON, None)
    assert logon_logout_history() == [
        (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED),
        (SessionEventType.LOGOUT, SessionEventResult.ABANDONED),
    ]
    assert selectors.session_is_logged_on(venue_code="XNYS")


def test_a_superseded_request_is_abandoned_and_the_new_one_is_pending(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XNYS")
    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.CLOSED)
    services.session_reconcile()
    services.session_record_logging_off(venue_code="XNYS")  # the holder has begun

    services.session_update(venue_code="XNYS", actor="op", override=None)
    services.session_reconcile()

    session = session_of("XNYS")
    assert (session.desired, session.state) == (ON, SessionState.LOGGING_OFF)
    assert session.pending_event.type == SessionEventType.LOGON
    assert logon_logout_history() == [
        (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED),
        (SessionEventType.LOGOUT, SessionEventResult.ABANDONED),
        (SessionEventType.LOGON, SessionEventResult.PENDING),
    ]
    # The holder keeps the session up and says so: the pending logon is closed.
    services.session_record_logon(venue_code="XNYS")
    assert session_of("XNYS").state == ON
    assert logon_logout_history()[-1] == (SessionEventType.LOGON,
                                          SessionEventResult.ACKNOWLEDGED)


def test_reconcile_never_records_the_wire(make_venue, clock):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    services.session_record_connecting(venue_code="XNYS")

    clock.set(at(TUESDAY_CLOSE))
    services.session_reconcile()

    assert (desired_of(), session_of("XNYS").state) == (OUT, SessionState.LOGGING_ON)


def test_one_venue_failing_does_not_hold_up_another(make_venue, clock):
    make_venue("XAAA")
    make_venue("XBBB")
    # XAAA's row went bad behind the services' back (reconciled first, in code order).
    VenueSession.objects.filter(pk="XAAA").update(time_zone="Nowhere/Land")
    clock.set(at(TUESDAY_MIDDAY))

    outcomes = services.session_reconcile()

    assert [o.venue_code for o in outcomes] == ["XBBB"]
    assert (desired_of("XAAA"), desired_of("XBBB")) == (OUT, ON)
    with pytest.raises(Exception, match="Nowhere/Land"):
        services.session_reconcile(venue_code="XAAA")  # asked for by name: the error shows


# --- overrides and the halt ---------------------------------------------------------------------


def test_override_open_asks_for_a_logon_outside_the_window(make_venue, clock):
    make_venue("XNYS")
    clock.set(at("2025-02-08T11:00-05:00"))  # Saturday
    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.OPEN)

    services.session_reconcile()

    session = session_of("XNYS")
    assert (session.desired, session.desired_reason) == (ON, "override OPEN")


def test_override_closed_logs_out_in_the_window_and_null_follows_the_schedule_again(
    make_venue, clock
):
    make_venue("XNYS")
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XNYS")

    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.CLOSED)
    services.session_reconcile()
    assert (desired_of(), session_of("XNYS").desired_reason) == (OUT, "override CLOSED")
    assert holder_follows("XNYS") == OUT

    services.session_update(venue_code="XNYS", actor="op", override=None)
    services.session_reconcile()
    assert desired_of() == ON
    assert holder_follows("XNYS") == ON
    assert [t for t, _ in logon_logout_history()] == ["LOGON", "LOGOUT", "LOGON"]


def test_a_halt_keeps_every_session_logged_on(make_venue, clock):
    """The kill switch is not a logout: cancels must still reach the venues and fills come
    back. It stops new orders and replaces at the send gate instead."""
    make_venue("XAAA")
    make_venue("XBBB", override=SessionOverride.OPEN)
    clock.set(at(TUESDAY_MIDDAY))
    services.session_reconcile()
    holder_follows("XAAA")
    holder_follows("XBBB")

    services.trading_halt_set(halted=True, reason="runaway algo", actor="op")
    outcomes = services.session_reconcile()

    assert [o.action for o in outcomes] == [None, None]
    assert (desired_of("XAAA"), desired_of("XBBB")) == (ON, ON)
    assert selectors.session_is_logged_on(venue_code="XAAA")
    gate = selectors.session_gate_for_send(venue_code="XAAA")
    assert (gate.open, gate.halted) == (True, True)
    assert [t for t, _ in logon_logout_history("XAAA")] == ["LOGON"]

    services.trading_halt_set(halted=False, reason="", actor="op")
    assert [o.action for o in services.session_reconcile()] == [None, None]
    assert not selectors.session_gate_for_send(venue_code="XAAA").halted
