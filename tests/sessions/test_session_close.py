"""session_window_closed: the hook where orders expires DAY orders at the close. Announced
once per close, late if beat was down, whatever the session's logon state."""

from contextlib import contextmanager

import pytest

from sessions import services
from sessions.models import SessionOverride, SessionState, VenueSession
from sessions.signals import session_window_closed
from tests.sessions.conftest import at, holder_follows, session_of

pytestmark = pytest.mark.django_db

MONDAY_CLOSE = at("2025-02-03T16:00-05:00")
TUESDAY_CLOSE = at("2025-02-04T16:00-05:00")


@contextmanager
def closes_heard():
    heard: list[tuple[str, object]] = []

    def listener(sender, *, venue_code, closed_at, **kwargs):
        heard.append((venue_code, closed_at))

    session_window_closed.connect(listener)
    try:
        yield heard
    finally:
        session_window_closed.disconnect(listener)


@pytest.fixture
def xnys_after_monday(make_venue, clock):
    """XNYS, reconciled (and logged on) on Tuesday morning: Monday's close is announced."""
    venue = make_venue("XNYS")
    clock.set(at("2025-02-04T11:00-05:00"))
    services.session_reconcile()
    holder_follows("XNYS")
    return venue


def test_the_first_run_announces_the_last_close_it_has_not_seen(make_venue, clock):
    make_venue("XNYS")
    clock.set(at("2025-02-04T11:00-05:00"))
    with closes_heard() as heard:
        services.session_reconcile()
        services.session_reconcile()
    assert heard == [("XNYS", MONDAY_CLOSE)]
    assert session_of("XNYS").close_announced_at == MONDAY_CLOSE


def test_each_close_is_announced_once_at_the_close(xnys_after_monday, clock):
    with closes_heard() as heard:
        clock.set(at("2025-02-04T15:59:59-05:00"))
        services.session_reconcile()
        assert heard == []
        clock.set(TUESDAY_CLOSE)
        services.session_reconcile()
        clock.set(at("2025-02-04T16:00:01-05:00"))
        services.session_reconcile()
    assert heard == [("XNYS", TUESDAY_CLOSE)]


def test_a_close_missed_while_beat_was_down_is_announced_late(xnys_after_monday, clock):
    with closes_heard() as heard:
        clock.set(at("2025-02-04T18:00-05:00"))
        services.session_reconcile()
    assert heard == [("XNYS", TUESDAY_CLOSE)]


def test_beat_down_over_several_closes_announces_the_latest_once(xnys_after_monday, clock):
    with closes_heard() as heard:
        clock.set(at("2025-02-07T11:00-05:00"))  # Friday: Tuesday's to Thursday's missed
        services.session_reconcile()
        services.session_reconcile()
    assert heard == [("XNYS", at("2025-02-06T16:00-05:00"))]


def test_the_close_is_announced_when_an_override_already_logged_out(xnys_after_monday, clock):
    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.CLOSED)
    clock.set(at("2025-02-04T15:00-05:00"))
    services.session_reconcile()
    assert holder_follows("XNYS") == SessionState.LOGGED_OUT

    with closes_heard() as heard:
        clock.set(TUESDAY_CLOSE)
        services.session_reconcile()
    assert heard == [("XNYS", TUESDAY_CLOSE)]


def test_the_close_is_announced_when_forced_open_through_it(xnys_after_monday, clock):
    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.OPEN)
    with closes_heard() as heard:
        clock.set(TUESDAY_CLOSE)
        services.session_reconcile()
    assert heard == [("XNYS", TUESDAY_CLOSE)]
    assert session_of("XNYS").desired == SessionState.LOGGED_ON  # still forced open


def test_a_halt_mid_window_is_not_a_close(xnys_after_monday, clock):
    services.trading_halt_set(halted=True, reason="outage", actor="op")
    with closes_heard() as heard:
        clock.set(at("2025-02-04T12:00-05:00"))
        services.session_reconcile()
    assert heard == []
    assert session_of("XNYS").desired == SessionState.LOGGED_ON


def test_a_failing_receiver_gets_the_close_again_and_does_not_stop_the_logout(
    xnys_after_monday, clock
):
    calls = []

    def flaky_receiver(sender, *, venue_code, closed_at, **kwargs):
        calls.append(closed_at)
        if len(calls) == 1:
            raise RuntimeError("orders table busy")

    session_window_closed.connect(flaky_receiver)
    try:
        clock.set(TUESDAY_CLOSE)
        services.session_reconcile()  # the error is logged, the logout is still wanted
        assert session_of("XNYS").desired == SessionState.LOGGED_OUT
        assert session_of("XNYS").close_announced_at == MONDAY_CLOSE  # rolled back
        clock.set(at("2025-02-04T16:00:01-05:00"))
        services.session_reconcile()
        services.session_reconcile()
    finally:
        session_window_closed.disconnect(flaky_receiver)
    assert calls == [TUESDAY_CLOSE, TUESDAY_CLOSE]
    assert VenueSession.objects.get(pk="XNYS").close_announced_at == TUESDAY_CLOSE
