"""session_window_closed: the hook where orders expires DAY orders at the close."""

from contextlib import contextmanager

import pytest

from sessions import services
from sessions.models import SessionOverride
from sessions.signals import session_window_closed
from tests.sessions.conftest import at

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
    """XNYS, reconciled once on Tuesday morning: Monday's close is already announced."""
    venue = make_venue("XNYS")
    clock.set(at("2025-02-04T11:00-05:00"))
    services.session_reconcile()
    return venue


def test_the_first_run_announces_the_last_close_it_has_not_seen(make_venue, clock):
    make_venue("XNYS")
    clock.set(at("2025-02-04T11:00-05:00"))
    with closes_heard() as heard:
        services.session_reconcile()
        services.session_reconcile()
    assert heard == [("XNYS", MONDAY_CLOSE)]


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


def test_the_close_is_announced_when_already_logged_out_by_an_override(
    xnys_after_monday, clock, venue_side
):
    services.session_update(venue_code="XNYS", actor="op", override=SessionOverride.CLOSED)
    clock.set(at("2025-02-04T15:00-05:00"))
    services.session_reconcile()
    assert venue_side.logged_on() == frozenset()

    with closes_heard() as heard:
        clock.set(TUESDAY_CLOSE)
        services.session_reconcile()
    assert heard == [("XNYS", TUESDAY_CLOSE)]


def test_a_halt_mid_window_is_not_a_close(xnys_after_monday, clock, venue_side):
    services.trading_halt_set(halted=True, reason="outage", actor="op")
    with closes_heard() as heard:
        clock.set(at("2025-02-04T12:00-05:00"))
        services.session_reconcile()
    assert venue_side.logged_on() == frozenset()
    assert heard == []


def test_a_failing_receiver_gets_the_close_again_and_does_not_stop_the_logout(
    xnys_after_monday, clock, venue_side
):
    calls = []

    def flaky_receiver(sender, *, venue_code, closed_at, **kwargs):
        calls.append(closed_at)
        if len(calls) == 1:
            raise RuntimeError("orders table busy")

    session_window_closed.connect(flaky_receiver)
    try:
        clock.set(TUESDAY_CLOSE)
        services.session_reconcile()  # the error is logged, the venue still logs out
        assert venue_side.logged_on() == frozenset()
        clock.set(at("2025-02-04T16:00:01-05:00"))
        services.session_reconcile()
        services.session_reconcile()
    finally:
        session_window_closed.disconnect(flaky_receiver)
    assert calls == [TUESDAY_CLOSE, TUESDAY_CLOSE]
