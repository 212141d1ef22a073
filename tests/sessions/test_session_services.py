"""Order intake's check, operators' edits and the kill switch."""

from contextlib import contextmanager
from datetime import date, time

import pytest
from django.db import transaction

from omsproject.errors import InvalidInput
from sessions import selectors, services
from sessions.errors import TradingHalted, VenueClosed, VenueNotFound
from sessions.models import (
    SessionEvent,
    SessionEventType,
    SessionOverride,
    SessionState,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)
from sessions.signals import trading_halt_changed
from tests.sessions.conftest import (
    InThreads,
    at,
    session_of,
    venue_create,
    wait_for_lock_waiters,
)

pytestmark = pytest.mark.django_db


# --- session_check_accepting ---------------------------------------------------------------------


def test_orders_are_accepted_inside_the_window(make_venue):
    make_venue("XNYS")
    services.session_check_accepting(venue_code="XNYS", now=at("2025-02-04T11:00-05:00"))


def test_orders_are_accepted_while_the_logon_is_still_on_its_way(make_venue, clock):
    # No reconcile has run yet: the window decides, not the logon.
    make_venue("XNYS")
    clock.set(at("2025-02-04T09:30:00.5-05:00"))
    services.session_check_accepting(venue_code="XNYS")


def test_outside_the_window_the_rejection_says_when_it_opens(make_venue, clock):
    make_venue("XNYS")
    clock.set(at("2025-03-07T17:00-05:00"))  # Friday evening, DST starts on Sunday

    with pytest.raises(VenueClosed) as caught:
        services.session_check_accepting(venue_code="XNYS")

    error = caught.value
    assert error.code == "venue_closed"
    assert error.status_code == 409
    assert "XNYS is closed" in error.message
    assert "2025-03-10T13:30:00Z" in error.message  # Monday 09:30 EDT
    assert error.details["next_open"] == "2025-03-10T13:30:00Z"


def test_override_closed_rejects_inside_the_window(make_venue):
    make_venue("XNYS", override=SessionOverride.CLOSED)
    with pytest.raises(VenueClosed, match="closed by an operator"):
        services.session_check_accepting(venue_code="XNYS", now=at("2025-02-04T11:00-05:00"))


def test_override_open_accepts_outside_the_window(make_venue):
    make_venue("XNYS", override=SessionOverride.OPEN)
    services.session_check_accepting(venue_code="XNYS", now=at("2025-02-08T11:00-05:00"))


def test_halt_rejects_even_a_forced_open_venue(make_venue):
    make_venue("XNYS", override=SessionOverride.OPEN)
    services.trading_halt_set(halted=True, reason="exchange outage", actor="op")

    with pytest.raises(TradingHalted, match="exchange outage") as caught:
        services.session_check_accepting(venue_code="XNYS", now=at("2025-02-04T11:00-05:00"))
    assert isinstance(caught.value, VenueClosed)
    assert caught.value.code == "trading_halted"


def test_unknown_venue_is_not_found(db):
    with pytest.raises(VenueNotFound):
        services.session_check_accepting(venue_code="NOPE")


# --- session_update ------------------------------------------------------------------------------


def test_update_changes_only_what_is_given_and_writes_history(make_venue):
    make_venue("XNYS")

    session = services.session_update(
        venue_code="XNYS",
        actor="alice",
        open_time=time(8, 0),
        holidays=["2025-12-25", date(2025, 7, 4)],
    )

    session.refresh_from_db()
    assert session.open_time == time(8, 0)
    assert session.close_time == time(16, 0)
    assert session.holidays == ["2025-07-04", "2025-12-25"]
    event = SessionEvent.objects.filter(session_id="XNYS").latest("id")
    assert event.type == SessionEventType.UPDATED
    assert event.actor == "alice"
    assert event.data["before"] == {"open_time": "09:30:00", "holidays": []}
    assert event.data["after"] == {
        "open_time": "08:00:00",
        "holidays": ["2025-07-04", "2025-12-25"],
    }


def test_an_update_that_changes_nothing_writes_nothing(make_venue):
    make_venue("XNYS")
    before = SessionEvent.objects.count()
    services.session_update(venue_code="XNYS", actor="alice", open_time=time(9, 30))
    assert SessionEvent.objects.count() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"open_time": time(16, 0)}, "close_time"),  # same as the close: an empty window
        ({"weekdays": [1, 8]}, "weekdays"),
        ({"weekdays": [0]}, "weekdays"),
        ({"holidays": ["2025-13-01"]}, "holidays"),
        ({"override": "MAYBE"}, "override"),
    ],
)
def test_invalid_edits_are_refused_and_change_nothing(make_venue, changes, field):
    make_venue("XNYS")
    before = VenueSession.objects.values().get(pk="XNYS")
    events = SessionEvent.objects.count()

    with pytest.raises(InvalidInput) as caught:
        services.session_update(venue_code="XNYS", actor="alice", **changes)

    assert field in caught.value.details
    assert VenueSession.objects.values().get(pk="XNYS") == before
    assert SessionEvent.objects.count() == events


def test_update_of_an_unknown_venue_is_not_found(db):
    with pytest.raises(VenueNotFound):
        services.session_update(venue_code="NOPE", actor="alice", override=None)


# --- new venues: the default session -------------------------------------------------------------


def test_a_new_venue_gets_the_demo_session_and_should_log_on_at_once(clock, db):
    clock.set(at("2025-02-08T15:42Z"))  # any time, even a Saturday

    venue_create("XNEW")
    services.session_reconcile()

    session = session_of("XNEW")
    assert (session.time_zone, session.weekdays) == ("UTC", [1, 2, 3, 4, 5, 6, 7])
    assert session.desired == SessionState.LOGGED_ON


def test_without_the_demo_a_new_venue_gets_new_york_hours(clock, db, settings):
    settings.OMS_DEMO_SESSION = False
    clock.set(at("2025-02-08T15:42Z"))  # Saturday

    venue_create("XNEW")
    services.session_reconcile()

    session = session_of("XNEW")
    assert (session.time_zone, session.open_time, session.close_time) == (
        "America/New_York", time(9, 30), time(16, 0),
    )
    assert session.weekdays == [1, 2, 3, 4, 5]
    assert session.desired == SessionState.LOGGED_OUT


def test_a_venue_without_a_session_gets_the_default_one_from_reconcile(clock, db):
    # A venue from before sessions existed (or whose row an operator removed in the shell).
    venue_create("XOLD")
    VenueSession.objects.filter(pk="XOLD").delete()
    clock.set(at("2025-02-04T11:00-05:00"))

    services.session_reconcile()

    session = session_of("XOLD")
    assert (session.time_zone, session.desired) == ("UTC", SessionState.LOGGED_ON)
    created = SessionEvent.objects.filter(session_id="XOLD", type=SessionEventType.CREATED)
    assert created.count() == 1


# --- the kill switch ------------------------------------------------------------------------------


@contextmanager
def halt_changes_heard():
    heard: list[dict] = []

    def listener(sender, **kwargs):
        heard.append({k: v for k, v in kwargs.items() if k != "signal"})

    trading_halt_changed.connect(listener)
    try:
        yield heard
    finally:
        trading_halt_changed.disconnect(listener)


def test_the_halt_row_exists_before_anyone_ever_halted(db):
    # Made by a migration: senders share-lock it, so even the first halt ever waits for
    # a send under way (see the race below).
    halt = TradingHalt.objects.get(pk=TradingHalt.SINGLETON_PK)
    assert (halt.halted, halt.changed_at) == (False, None)
    assert not TradingHaltEvent.objects.exists()


def test_halting_needs_a_reason(db):
    with pytest.raises(InvalidInput) as caught:
        services.trading_halt_set(halted=True, reason="  ", actor="op")
    assert "reason" in caught.value.details
    assert not TradingHalt.objects.filter(halted=True).exists()


def test_the_first_halt_halt_and_resume_are_audited_and_announced(db):
    with halt_changes_heard() as heard:
        services.trading_halt_set(halted=True, reason="fat finger", actor="op")
        services.trading_halt_set(halted=True, reason="fat finger", actor="op")  # no change
        halt = services.trading_halt_set(halted=False, reason="", actor="op2")
        services.trading_halt_set(halted=False, reason="", actor="op2")  # no change

    assert not halt.halted
    assert list(TradingHaltEvent.objects.values_list("halted", "reason", "actor")) == [
        (True, "fat finger", "op"),
        (False, "", "op2"),
    ]
    assert heard == [
        {"halted": True, "cancel_open_orders": False, "actor": "op"},
        {"halted": False, "cancel_open_orders": False, "actor": "op2"},
    ]


def test_halting_with_cancel_open_orders_is_announced_even_when_already_halted(db):
    services.trading_halt_set(halted=True, reason="outage", actor="op")
    with halt_changes_heard() as heard:
        services.trading_halt_set(halted=True, reason="outage", actor="op2",
                                  cancel_open_orders=True)
    assert [(h["halted"], h["cancel_open_orders"], h["actor"]) for h in heard] == [
        (True, True, "op2")]
    assert TradingHaltEvent.objects.count() == 2


def test_cancel_open_orders_only_with_a_halt(db):
    with halt_changes_heard() as heard, pytest.raises(InvalidInput) as caught:
        services.trading_halt_set(halted=False, reason="", actor="op", cancel_open_orders=True)
    assert "cancelOpenOrders" in caught.value.details
    assert heard == []
    assert not TradingHaltEvent.objects.exists()


def test_a_halt_keeps_sessions_as_they_are(make_venue):
    make_venue("XNYS", override=SessionOverride.OPEN)
    services.session_reconcile()
    services.session_record_logon(venue_code="XNYS")

    services.trading_halt_set(halted=True, reason="outage", actor="op")

    session = VenueSession.objects.get(pk="XNYS")
    assert (session.desired, session.state) == ("LOGGED_ON", "LOGGED_ON")
    assert selectors.session_gate_for_send(venue_code="XNYS").halted


@pytest.mark.django_db(transaction=True)
def test_the_first_halt_ever_waits_for_a_send_under_way(make_venue):
    """A sender holds its gate (a share lock on the session and halt rows) while it writes:
    a halt waits for that write, and every write after the halt sees it."""
    # The migration's row, as it is before anyone halted (an earlier transactional test's
    # flush may have removed it; that the migration makes it is pinned above).
    TradingHalt.objects.get_or_create(pk=TradingHalt.SINGLETON_PK)
    make_venue("XNYS", override=SessionOverride.OPEN)
    services.session_reconcile()
    services.session_record_logon(venue_code="XNYS")
    assert not TradingHaltEvent.objects.exists()

    with transaction.atomic():
        gate = selectors.session_gate_for_send(venue_code="XNYS")
        assert (gate.open, gate.halted) == (True, False)
        halting = InThreads(lambda: services.trading_halt_set(
            halted=True, reason="runaway algo", actor="op"))
        assert wait_for_lock_waiters(1)  # the halt waits for this write to commit
        assert not TradingHalt.objects.get().halted
    halting.join()

    assert selectors.session_gate_for_send(venue_code="XNYS").halted
