"""Beat restarted across a session edge: exactly one logon at the open and one logout at the
close. Real `celery beat` processes and a default-queue worker run sessions.reconcile every
second; the old and the new beat overlap across each edge (the worst restart: two beats at
once) and the old one is killed with SIGKILL after the edge; at the close the test process
reconciles too, as a third beat. The FIX session's holder logs on and off as the desired
state says, and the venue counts Logon and Logout messages, so a repeated one would show."""

import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from orders import services as order_services
from orders.models import Order, OrderEvent, OrderStatus
from sessions.errors import VenueClosed
from sessions.models import SessionEvent, SessionEventResult, SessionEventType, VenueSession
from sessions.services import session_reconcile, session_update
from tests.factories import order_terms
from tests.system.books import print_numbers
from tests.system.processes import wait_for
from venues.services import venue_put

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

VENUE = "XEDGE"
EDGE_AHEAD = 2  # an edge is set this many whole seconds ahead, once the beats overlap


def sleep_until(instant: datetime) -> None:
    delay = (instant - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def edge_ahead() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=EDGE_AHEAD + 1)


def sent(beat, task: str) -> list[datetime]:
    """When a beat sent `task`, from its own log file (local time, made aware)."""
    path = next(beat.log.parent.glob(f"{beat.log.stem}.events.log"), beat.log)
    times = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        found = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", line)
        if found and "Sending due task" in line and f"({task})" in line:
            times.append(datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC))
    return times


def wait_sending(beat, what: str) -> None:
    """Until the beat has sent a reconcile: booted, connected, on schedule. Edges are set
    after this, so a slow boot on a loaded machine cannot make the beats miss them."""
    wait_for(lambda: beat.process.poll() is not None or sent(beat, "sessions.reconcile"),
             timeout=45, every=0.1, what=what)
    assert beat.process.poll() is None, beat.tail()


def venue_stats(system) -> dict:
    sessions = system.exchange.stats(VENUE)["sessions"]
    return sessions[0] if sessions else {"logons": 0, "logouts": 0}


def test_beat_restarted_across_the_open_and_the_close_logs_on_once_and_off_once(
    system_factory, trader
):
    now = datetime.now(UTC)
    if (now + timedelta(minutes=5)).date() != now.date():
        pytest.skip("the window would wrap past midnight UTC")
    system = system_factory((VENUE,))
    venue_put(code=VENUE, actor="tests", fix_port=system.exchange.fix_port,
              throttle_per_second=10, heartbeat_seconds=1)
    # A window well ahead for now; its edges are moved close once the beats run.
    session_update(venue_code=VENUE, actor="tests", override=None, time_zone="UTC",
                   open_time=(now + timedelta(minutes=3)).time().replace(microsecond=0),
                   close_time=(now + timedelta(minutes=4)).time().replace(microsecond=0),
                   weekdays=[1, 2, 3, 4, 5, 6, 7], holidays=[])
    system.oms.holder(VENUE)
    worker = system.oms.dispatcher(concurrency=2)  # nothing to dispatch; beat needs a worker
    worker_default = system.oms._start("worker", [
        "-m", "celery", "-A", "omsproject", "worker", "-Q", "default", "--concurrency", "4",
        "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING",
        "-n", f"default-{os.getpid()}@system"])
    beat_a = system.oms.beat()
    system.oms.wait_ready([worker])
    wait_sending(beat_a, "beat A to send")
    assert worker_default.process.poll() is None

    # The open: beat B runs beside beat A across the edge; A is killed after it.
    beat_b = system.oms.beat()
    wait_sending(beat_b, "beat B to send")
    open_at = edge_ahead()
    session_update(venue_code=VENUE, actor="tests", open_time=open_at.time())
    sleep_until(open_at - timedelta(seconds=0.3))
    assert venue_stats(system)["logons"] == 0
    sleep_until(open_at + timedelta(seconds=1.5))
    os.kill(beat_a.pid, signal.SIGKILL)
    beat_a.process.wait(timeout=10)
    wait_for(lambda: VenueSession.objects.get(pk=VENUE).state == "LOGGED_ON", timeout=10,
             what="the logon")
    logon = SessionEvent.objects.get(session_id=VENUE, type=SessionEventType.LOGON)
    logon_lag = (logon.acknowledged_at - open_at).total_seconds()

    # A DAY order accepted in the window, held in the queue (the venue's limit is used by
    # nobody, but the test cancels its nudge): it expires at the close, once.
    day_order, _ = order_services.order_create(
        user=trader, account_code="ACC-1", client_order_id="edge-day",
        terms=order_terms(), venue_code=VENUE)

    # The close: beat C runs beside B across it, and this process reconciles too.
    beat_c = system.oms.beat()
    wait_sending(beat_c, "beat C to send")
    close_at = edge_ahead()
    session_update(venue_code=VENUE, actor="tests", close_time=close_at.time())
    reconciles_here = 0
    while datetime.now(UTC) < close_at + timedelta(seconds=1.5):
        session_reconcile(venue_code=VENUE, actor="tests:third-beat")
        reconciles_here += 1
        time.sleep(0.1)
    os.kill(beat_b.pid, signal.SIGKILL)
    beat_b.process.wait(timeout=10)
    wait_for(lambda: VenueSession.objects.get(pk=VENUE).state == "LOGGED_OUT", timeout=15,
             what="the logout")
    time.sleep(2.5)  # beat C keeps running: more reconciles must change nothing
    assert beat_c.process.poll() is None, beat_c.tail()

    stats = venue_stats(system)
    events = SessionEvent.objects.filter(session_id=VENUE).exclude(
        type__in=("CREATED", "UPDATED"))
    history = list(events.order_by("created_at").values_list("type", "result", "actor"))
    logout = events.get(type=SessionEventType.LOGOUT)
    logout_lag = (logout.acknowledged_at - close_at).total_seconds()
    day_order.refresh_from_db()
    expiries = OrderEvent.objects.filter(order=day_order, to_status=OrderStatus.EXPIRED).count()
    print_numbers("beat restarted across the edges", logons=stats["logons"],
                  logouts=stats["logouts"], history=history, logon_after_open_s=logon_lag,
                  logout_after_close_s=logout_lag, reconciles_from_test=reconciles_here,
                  day_order=day_order.status)
    assert (stats["logons"], stats["logouts"]) == (1, 1), stats
    assert [(t, r) for t, r, _ in history] == [
        (SessionEventType.LOGON, SessionEventResult.ACKNOWLEDGED),
        (SessionEventType.LOGOUT, SessionEventResult.ACKNOWLEDGED),
    ]
    # On time: beat runs every second, the holder looks twice a second, and connecting
    # takes QuickFIX up to its reconnect interval (1 s).
    assert 0 <= logon_lag < 4 and 0 <= logout_lag < 4, (logon_lag, logout_lag)
    assert day_order.status in (OrderStatus.EXPIRED, OrderStatus.NEW)
    if day_order.status == OrderStatus.EXPIRED:
        assert expiries == 1
    with pytest.raises(VenueClosed):
        order_services.order_create(user=trader, account_code="ACC-1",
                                    client_order_id="edge-late", terms=order_terms(),
                                    venue_code=VENUE)
    assert not Order.objects.filter(client_order_id="edge-late").exists()
