"""Order intake's check, operators' edits and the kill switch."""

from datetime import date, time

import pytest

from omsproject.errors import InvalidInput
from sessions import services
from sessions.errors import TradingHalted, VenueClosed, VenueNotFound
from sessions.models import (
    SessionEvent,
    SessionEventType,
    SessionOverride,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)
from tests.sessions.conftest import at

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


# --- the kill switch ------------------------------------------------------------------------------


def test_halting_needs_a_reason(db):
    with pytest.raises(InvalidInput) as caught:
        services.trading_halt_set(halted=True, reason="  ", actor="op")
    assert "reason" in caught.value.details
    assert not TradingHalt.objects.filter(halted=True).exists()


def test_halt_and_resume_are_audited(db):
    services.trading_halt_set(halted=True, reason="fat finger", actor="op")
    services.trading_halt_set(halted=True, reason="fat finger", actor="op")  # no change
    halt = services.trading_halt_set(halted=False, reason="", actor="op2")

    assert not halt.halted
    assert list(TradingHaltEvent.objects.values_list("halted", "reason", "actor")) == [
        (True, "fat finger", "op"),
        (False, "", "op2"),
    ]
