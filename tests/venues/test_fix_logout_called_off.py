"""A scheduled logout called off while the holder still waits for answers in flight: the
session stays up, is recorded up again, and orders flow without a new logon."""

import time

import pytest

from dispatch.drain import dispatch_drain
from sessions.models import SessionEvent, VenueSession
from sessions.services import session_reconcile, session_update
from tests.venues.conftest import VENUE, session_state, wait_until
from tests.venues.test_fix_session import new_order, send

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_logout_called_off_while_winding_down_keeps_the_session_up(
    fix_venue, peer, holders, settings
):
    settings.OMS_FIX_LOGOUT_WAIT_SECONDS = 10
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    in_flight = new_order("c1")
    peer.book.silent = True
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)
    wait_until(lambda: peer.messages("D"), what="the NewOrderSingle")
    session_update(venue_code=VENUE, actor="t", override="CLOSED")
    session_reconcile(venue_code=VENUE)
    wait_until(lambda: session_state() == "LOGGING_OFF", what="logging off")

    session_update(venue_code=VENUE, actor="t", override="OPEN")  # changed their mind
    session_reconcile(venue_code=VENUE)

    wait_until(lambda: session_state() == "LOGGED_ON", timeout=5, what="recorded up again")
    assert peer.logged_on() and peer.logons == 1
    session = VenueSession.objects.get(pk=VENUE)
    assert session.pending_event is None
    assert SessionEvent.objects.filter(session_id=VENUE, result="PENDING").count() == 0
    peer.book.silent = False
    send(new_order("c2"), "NEW")  # the gate is open again
    time.sleep(0.2)
    assert len(peer.messages("D")) == 2
    assert in_flight.client_order_id == peer.messages("D")[0][526]
