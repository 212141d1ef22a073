"""Beat restarted across a session edge: exactly one logon at the open and one logout at the
close. Real `celery beat` processes and a default-queue worker run sessions.reconcile every
second; the old and the new beat overlap across each edge (the worst restart: two beats at
once) and the old one is killed with SIGKILL after the edge. At the close the test process
runs the reconcile too, as a third overlapping beat. The venue counts logon/logout requests,
so a repeated one would show."""

import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from orders import services as order_services
from orders.models import Order, OrderEvent, OrderStatus
from sessions.errors import VenueClosed
from sessions.models import SessionEvent, SessionEventResult, SessionEventType, VenueSession
from sessions.services import session_reconcile, session_update
from tests.faults.harness import print_numbers, wait_for
from tests.factories import order_terms
from venues.models import Venue

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

VENUE = "XEDGE"
EDGE_AHEAD = 2  # an edge is set this many whole seconds ahead, once the beats overlap


def _sleep_until(instant: datetime) -> None:
    delay = (instant - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _venue_stats(exchange) -> dict:
    return exchange.stats(VENUE)


def _edge_ahead() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=EDGE_AHEAD + 1)


def _wait_sending(beat, what: str) -> None:
    """Until the beat has sent a reconcile: booted, connected, on schedule. Edges are set
    after this, so a slow boot on a loaded machine cannot make the beats miss them."""
    wait_for(lambda: beat.process.poll() is not None or beat.sent("sessions.reconcile"),
             timeout=45, every=0.1, what=what)
    assert beat.process.poll() is None, beat.tail()


def test_beat_restarted_across_the_open_and_the_close_logs_on_once_and_off_once(
    fault_system, trader
):
    exchange, celery = fault_system.exchange, fault_system.celery
    now = datetime.now(UTC)
    if (now + timedelta(minutes=5)).date() != now.date():
        pytest.skip("the window would wrap past midnight UTC")
    Venue.objects.update_or_create(code=VENUE, defaults={"throttle_per_second": 10})
    # A window well ahead for now; its edges are moved close once the beats run.
    session_update(venue_code=VENUE, actor="tests", override=None, time_zone="UTC",
                   open_time=(now + timedelta(minutes=3)).time().replace(microsecond=0),
                   close_time=(now + timedelta(minutes=4)).time().replace(microsecond=0),
                   weekdays=[1, 2, 3, 4, 5, 6, 7], holidays=[])
    assert VenueSession.objects.get(pk=VENUE).state == "LOGGED_OUT"

    worker = celery.worker(queue="default", concurrency=4)
    beat_a = celery.beat()
    celery.wait_ready([worker])
    _wait_sending(beat_a, "beat A to send")

    # The open: the new beat B runs beside the old one A, across the edge; A is killed
    # with SIGKILL after it.
    beat_b = celery.beat()
    _wait_sending(beat_b, "beat B to send")
    open_at = _edge_ahead()
    session_update(venue_code=VENUE, actor="tests", open_time=open_at.time())
    # Before the open, the beats' reconciles change nothing.
    _sleep_until(open_at - timedelta(seconds=0.3))
    assert _venue_stats(exchange)["logons"] == 0
    _sleep_until(open_at + timedelta(seconds=1.5))
    assert beat_a.process.poll() is None, beat_a.tail()
    os.kill(beat_a.pid, signal.SIGKILL)
    beat_a.process.wait(timeout=10)
    wait_for(lambda: _venue_stats(exchange)["logons"] >= 1, timeout=10, what="the logon")
    logon = SessionEvent.objects.get(session_id=VENUE, type=SessionEventType.LOGON)
    logon_lag = (logon.acknowledged_at - open_at).total_seconds()
    wait_for(lambda: VenueSession.objects.get(pk=VENUE).state == "LOGGED_ON", timeout=5,
             what="LOGGED_ON recorded")

    # A DAY order accepted in the window (no dispatcher runs here: it waits in the queue)
    # expires at the close, once.
    day_order, _ = order_services.order_create(
        user=trader, account_code="ACC-1", client_order_id="edge-day", terms=order_terms(),
        venue_code=VENUE)

    # The close: beat C runs beside B across it, and this process reconciles too.
    beat_c = celery.beat()
    _wait_sending(beat_c, "beat C to send")
    close_at = _edge_ahead()
    session_update(venue_code=VENUE, actor="tests", close_time=close_at.time())
    reconciles_here = 0
    while datetime.now(UTC) < close_at + timedelta(seconds=1.5):
        session_reconcile(venue_code=VENUE, actor="tests:third-beat")
        reconciles_here += 1
        time.sleep(0.1)
    assert beat_b.process.poll() is None, beat_b.tail()
    os.kill(beat_b.pid, signal.SIGKILL)
    beat_b.process.wait(timeout=10)
    wait_for(lambda: _venue_stats(exchange)["logouts"] >= 1, timeout=10, what="the logout")
    # Beat C keeps running: a few more seconds of reconciles must change nothing.
    time.sleep(2.5)
    assert beat_c.process.poll() is None, beat_c.tail()

    # The beats really overlapped across each edge: the new one sent before it, the old
    # one after it.
    reconcile = "sessions.reconcile"
    overlap_open = (min(beat_b.sent(reconcile)) - open_at, max(beat_a.sent(reconcile)) - open_at)
    overlap_close = (min(beat_c.sent(reconcile)) - close_at,
                     max(beat_b.sent(reconcile)) - close_at)
    stats = _venue_stats(exchange)
    events = SessionEvent.objects.filter(session_id=VENUE).exclude(type__in=("CREATED", "UPDATED"))
    history = list(events.order_by("created_at").values_list("type", "result", "actor"))
    logout = events.get(type=SessionEventType.LOGOUT)
    logout_lag = (logout.acknowledged_at - close_at).total_seconds()
    day_order.refresh_from_db()
    expiries = OrderEvent.objects.filter(order=day_order, to_status=OrderStatus.EXPIRED).count()
    print_numbers("beat restarted across the edges", logons=stats["logons"],
                  logouts=stats["logouts"], history=history, logon_after_open_s=logon_lag,
                  logout_after_close_s=logout_lag, reconciles_from_test=reconciles_here,
                  day_order=day_order.status,
                  beats_overlap_open_s=[round(x.total_seconds(), 2) for x in overlap_open],
                  beats_overlap_close_s=[round(x.total_seconds(), 2) for x in overlap_close])
    for new_first, old_last in (overlap_open, overlap_close):
        assert new_first.total_seconds() < 0 < old_last.total_seconds()
    assert (stats["logons"], stats["logouts"]) == (1, 1), stats
    assert [(t, r) for t, r, _ in history] == [
        (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED),
        (SessionEventType.LOGOUT, SessionEventResult.ACKNOWLEDGED),
    ]
    assert VenueSession.objects.get(pk=VENUE).state == "LOGGED_OUT"
    # On time: beat runs every second (and a reconcile reads the clock when it runs).
    assert 0 <= logon_lag < 3 and 0 <= logout_lag < 3, (logon_lag, logout_lag)
    assert day_order.status == OrderStatus.EXPIRED and expiries == 1
    with pytest.raises(VenueClosed):
        order_services.order_create(user=trader, account_code="ACC-1",
                                    client_order_id="edge-late", terms=order_terms(),
                                    venue_code=VENUE)
    assert not Order.objects.filter(client_order_id="edge-late").exists()
