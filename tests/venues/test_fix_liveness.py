"""The session's life: a venue gone silent is found out by heartbeats and test requests and
reconnected with back-off; a lease lost is a connection dropped at once; a scheduled logout
lets nothing new out and waits, a bounded time, for answers to what was written."""

import time
from datetime import timedelta

import pytest

from django.db.models.functions import Now

from dispatch.drain import dispatch_drain
from orders.models import Order
from sessions.models import SessionEvent
from sessions.services import session_reconcile, session_update
from tests.tcpproxy import TcpProxy
from tests.venues.conftest import VENUE, fix_record, session_state, wait_until
from tests.venues.test_fix_session import new_order, send
from venues.models import FixSession
from venues.services import venue_update

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_silent_venue_is_dropped_and_reconnected_with_back_off(fix_venue, peer, holders):
    proxy = TcpProxy(("127.0.0.1", peer.port))
    proxy.start()
    venue_update(code=VENUE, actor="tests", fix_port=proxy.port)
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    send(new_order("c1"), "NEW")
    before = fix_record().next_sender_seq

    proxy.freeze()  # no FIN, no RST: only silence
    frozen_at = time.monotonic()
    wait_until(lambda: session_state() == "LOGGED_OUT", timeout=15, what="the drop")
    detected = time.monotonic() - frozen_at
    # HeartBtInt 1 s: a TestRequest after ~1.2 s of silence, given up after another ~1.2 s.
    assert detected < 8, detected
    dropped = SessionEvent.objects.filter(session_id=VENUE, type="LOGOUT").last()
    assert dropped.data.get("dropped") is True

    proxy.thaw()
    wait_until(lambda: session_state() == "LOGGED_ON", timeout=20, what="the reconnect")
    assert peer.logons == 2
    assert fix_record().next_sender_seq > before  # continued, not reset
    send(new_order("c2"), "NEW")


def test_a_lost_lease_drops_the_connection_at_once(fix_venue, peer, holders):
    running = holders()
    wait_until(lambda: peer.logged_on(), what="logon")
    # Someone else holds the lease now (an operator moved it, or our renewals were too late).
    FixSession.objects.filter(pk=VENUE).update(owner="elsewhere:1",
                                               lease_until=Now() + timedelta(seconds=60))

    wait_until(lambda: not peer.logged_on(), timeout=5, what="the connection dropped")
    assert VENUE not in running.holder.runners
    time.sleep(1.5)
    assert not peer.logged_on() and fix_record().owner == "elsewhere:1"  # not taken back


def test_a_scheduled_logout_waits_for_answers_in_flight_and_sends_nothing_new(
    fix_venue, peer, holders, settings
):
    settings.OMS_FIX_LOGOUT_WAIT_SECONDS = 3
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    in_flight = new_order("c1")
    peer.book.silent = True
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)
    wait_until(lambda: peer.messages("D"), what="the NewOrderSingle")

    session_update(venue_code=VENUE, actor="t", override="CLOSED")
    session_reconcile(venue_code=VENUE)
    closing_at = time.monotonic()
    wait_until(lambda: session_state() == "LOGGING_OFF", what="logging off")
    time.sleep(1)
    assert peer.logged_on()  # still waiting for the answer
    peer.book.silent = False
    booked = peer.book.order_for(peer.messages("D")[0][11])
    peer.send(peer.book._report(booked, booked["clOrdId"], "0", "0"))  # the answer, late
    wait_until(lambda: session_state() == "LOGGED_OUT", timeout=10, what="the logout")
    waited = time.monotonic() - closing_at
    assert 1 < waited < 3, waited  # after the answer, before the bound
    assert Order.objects.get(pk=in_flight.pk).status == "NEW"
    assert len(peer.messages("D")) == 1


def test_a_scheduled_logout_does_not_wait_forever(fix_venue, peer, holders, settings):
    settings.OMS_FIX_LOGOUT_WAIT_SECONDS = 1
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    new_order("c1")
    peer.book.silent = True
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)
    wait_until(lambda: peer.messages("D"), what="the NewOrderSingle")

    session_update(venue_code=VENUE, actor="t", override="CLOSED")
    session_reconcile(venue_code=VENUE)
    started = time.monotonic()
    wait_until(lambda: session_state() == "LOGGED_OUT", timeout=10, what="the logout")
    assert time.monotonic() - started < 4
