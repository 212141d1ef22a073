"""What the process holding a venue's FIX session records (sessions/services/holder.py): the
session's `state`, and its LOGON / LOGOUT history, closing the request reconcile opened."""

import pytest

from sessions import selectors, services
from sessions.models import SessionEvent, SessionEventResult, SessionEventType, SessionState
from tests.sessions.conftest import at, session_of

pytestmark = pytest.mark.django_db

ON, OUT = SessionState.LOGGED_ON, SessionState.LOGGED_OUT
MIDDAY = "2025-02-04T11:00-05:00"


@pytest.fixture
def xnys_wanted_on(make_venue, clock):
    """XNYS in its window: reconcile has asked for a logon the holder has not made yet."""
    make_venue("XNYS")
    clock.set(at(MIDDAY))
    services.session_reconcile()
    return session_of("XNYS")


def history() -> list[tuple]:
    return list(
        SessionEvent.objects.filter(
            session_id="XNYS", type__in=[SessionEventType.LOGON, SessionEventType.LOGOUT]
        ).order_by("id").values_list("type", "result", "actor")
    )


def test_a_logon_closes_the_pending_request_and_the_session_is_up(xnys_wanted_on, clock):
    services.session_record_connecting(venue_code="XNYS")
    assert session_of("XNYS").state == SessionState.LOGGING_ON
    assert not selectors.session_is_logged_on(venue_code="XNYS")

    answered = clock.set(at("2025-02-04T11:00:00.8-05:00"))
    services.session_record_logon(venue_code="XNYS", at=answered)

    session = session_of("XNYS")
    assert (session.state, session.state_changed_at, session.pending_event) == (
        ON, answered, None)
    logon = SessionEvent.objects.get(pk=xnys_wanted_on.pending_event_id)
    assert (logon.type, logon.result, logon.actor) == (
        SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED, "system:reconcile")
    assert (logon.sent_at, logon.acknowledged_at) == (at(MIDDAY), answered)
    assert selectors.session_is_logged_on(venue_code="XNYS")
    assert session.desired == ON  # the holder records the wire, never the wish


def test_records_are_idempotent(xnys_wanted_on):
    services.session_record_logon(venue_code="XNYS")
    services.session_record_logon(venue_code="XNYS")
    services.session_record_connecting(venue_code="XNYS")  # a late callback: still up
    assert session_of("XNYS").state == ON

    services.session_record_logged_off(venue_code="XNYS", asked=False)
    services.session_record_logged_off(venue_code="XNYS", asked=False)
    services.session_record_logged_off(venue_code="XNYS")
    services.session_record_logging_off(venue_code="XNYS")  # not up: nothing to wind down

    assert session_of("XNYS").state == OUT
    assert [(t, r) for t, r, _ in history()] == [
        (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED),
        (SessionEventType.LOGOUT, SessionEventResult.ACKNOWLEDGED),
    ]


def test_an_unexpected_logout_is_recorded_as_dropped_and_the_wish_stays_on(
    xnys_wanted_on, clock
):
    services.session_record_logon(venue_code="XNYS")
    dropped_at = clock.set(at("2025-02-04T12:00-05:00"))

    services.session_record_logged_off(
        venue_code="XNYS", asked=False, reason="the venue or the network ended the session")

    session = session_of("XNYS")
    assert (session.state, session.desired) == (OUT, ON)  # so the holder reconnects
    assert not selectors.session_is_logged_on(venue_code="XNYS")
    drop = SessionEvent.objects.filter(session_id="XNYS").latest("id")
    assert (drop.type, drop.result, drop.actor) == (
        SessionEventType.LOGOUT, SessionEventResult.ACKNOWLEDGED, "system:fix")
    assert drop.data == {"dropped": True,
                         "reason": "the venue or the network ended the session"}
    assert drop.acknowledged_at == dropped_at

    services.session_record_logon(venue_code="XNYS")  # the reconnect, nobody asked for it
    assert session_of("XNYS").state == ON
    assert history()[-1] == (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED,
                             "system:fix")


def test_a_drop_while_logging_on_leaves_the_logon_to_do(xnys_wanted_on):
    services.session_record_connecting(venue_code="XNYS")

    services.session_record_logged_off(venue_code="XNYS", asked=False, reason="refused")

    session = session_of("XNYS")
    assert session.state == OUT
    assert session.pending_event.type == SessionEventType.LOGON
    assert session.pending_event.result == SessionEventResult.PENDING


def test_a_scheduled_logout_is_wound_down_then_closes_the_pending_request(
    xnys_wanted_on, clock
):
    services.session_record_logon(venue_code="XNYS")
    clock.set(at("2025-02-04T16:00-05:00"))
    services.session_reconcile()
    logout_id = session_of("XNYS").pending_event_id

    services.session_record_logging_off(venue_code="XNYS")
    assert session_of("XNYS").state == SessionState.LOGGING_OFF
    services.session_record_logged_off(venue_code="XNYS")

    session = session_of("XNYS")
    assert (session.state, session.pending_event) == (OUT, None)
    logout = SessionEvent.objects.get(pk=logout_id)
    assert (logout.type, logout.result) == (SessionEventType.LOGOUT,
                                            SessionEventResult.ACKNOWLEDGED)


def test_a_drop_during_a_scheduled_logout_still_closes_the_logout(xnys_wanted_on, clock):
    # The venue hung up while we waited for answers before our Logout: we are out, as
    # wanted, and nothing is left pending for the holder.
    services.session_record_logon(venue_code="XNYS")
    clock.set(at("2025-02-04T16:00-05:00"))
    services.session_reconcile()
    logout_id = session_of("XNYS").pending_event_id
    services.session_record_logging_off(venue_code="XNYS")

    services.session_record_logged_off(venue_code="XNYS", asked=False, reason="hung up")

    session = session_of("XNYS")
    assert (session.state, session.pending_event) == (OUT, None)
    logout = SessionEvent.objects.get(pk=logout_id)
    assert logout.result == SessionEventResult.ACKNOWLEDGED
    assert logout.data["dropped"] is True
    assert [t for t, _, _ in history()] == ["LOGON", "LOGOUT"]
