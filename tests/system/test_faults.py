"""Faults in the running system, each during a burst with cancels and modifies: a
dispatcher stopped with SIGTERM, Redis killed and restarted, the line to the venue cut for
ten seconds. After recovery the books equal the venue's, nothing acted twice there, and the
venue never saw more than the limit in any sliding second. Run with -s for the numbers."""

import signal
import time
from datetime import datetime

import pytest

from dispatch.models import VenueRequest
from tests.system.books import check_books, check_wire, print_numbers, queue_is_drained
from tests.system.books import order_statuses, request_states
from tests.system.conftest import LIMIT, Beat
from tests.system.processes import wait_for
from tests.system.test_kills import VENUE, burst, change_at_once, logged_on
from tests.tcpproxy import TcpProxy
from venues.services import venue_update

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def received(system) -> int:
    return system.exchange.stats(VENUE)["received"]


def settle(system, orders, *, tick, timeout=90) -> float:
    return wait_for(lambda: queue_is_drained(VENUE), timeout=timeout, every=0.25, tick=tick,
                    what=lambda: f"the queue to drain: {request_states(VENUE)} "
                                 f"{order_statuses(o.pk for o in orders)}")


def checked(system) -> dict:
    books = check_books(venue_code=VENUE, book=system.exchange.book(VENUE))
    wire = check_wire(stats=system.exchange.stats(VENUE),
                      messages=system.exchange.messages(VENUE), limit=LIMIT)
    return {**books, **wire}


def test_a_dispatcher_stopped_with_sigterm_mid_burst_hands_over_its_work(
    system_factory, operator
):
    """SIGTERM is a warm shutdown: the claim under way commits, the holder writes it, and a
    new dispatcher claims the rest. Nothing is sent twice."""
    system = system_factory(latency_ms="20")
    system.venue(VENUE)
    system.oms.holder(VENUE)
    first = system.oms.dispatcher()
    system.oms.wait_ready([first])
    wait_for(logged_on, timeout=20, what="the logon")
    orders = burst(operator, 60)
    wait_for(lambda: received(system) >= 8, timeout=30, every=0.05, what="8 sends")

    stopping = time.monotonic()
    first.process.send_signal(signal.SIGTERM)
    first.process.wait(timeout=30)
    stop_seconds = time.monotonic() - stopping
    cancelled, modified = change_at_once(orders)
    second = system.oms.dispatcher()
    system.oms.wait_ready([second])
    settled = settle(system, orders, tick=Beat())

    numbers = checked(system)
    print_numbers("dispatcher SIGTERM mid-burst", exit_code=first.process.returncode,
                  warm_shutdown_s=round(stop_seconds, 2), settle_s=round(settled, 1),
                  cancelled=len(cancelled), modified=len(modified), **numbers)
    assert first.process.returncode == 0
    assert stop_seconds < 5 + 5  # a drain's budget, no longer
    assert numbers["duplicates"] == 0  # a graceful stop needs no resend


class Supervisor:
    """Beat's work, plus what a process supervisor's liveness probe does in production: a
    Celery worker can stop consuming after its Redis broker comes back (celery/celery#8091,
    #8030, #10205), so one that makes no progress for 20 s with work waiting is replaced."""

    STALL_S = 20.0

    def __init__(self, system, workers, beat):
        self.system, self.workers, self.beat = system, list(workers), beat
        self.restarts = 0
        self._answered, self._since = -1, time.monotonic()

    def __call__(self) -> None:
        self.beat()
        answered = VenueRequest.objects.filter(venue_id=VENUE, state="ANSWERED").count()
        if answered != self._answered:
            self._answered, self._since = answered, time.monotonic()
        elif time.monotonic() - self._since > self.STALL_S:
            for worker in self.workers:
                worker.kill()
            self.workers = [self.system.oms.dispatcher()]
            self.restarts += 1
            self._since = time.monotonic()


def test_redis_restarted_mid_burst_loses_nothing_and_the_limiter_cools_down(
    system_factory, operator, settings
):
    """kill -9 of Redis (no persistence): Celery's messages, the wake-ups and the limiter's
    log are gone. The holder polls the table; the sweeper re-nudges; the limiter grants
    nothing until one window plus the longest a send may take have passed since the last
    slot the lost Redis granted, so the venue never sees over the limit."""
    settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS = 2.0  # slots live 3 s: cool-down 4.002 s
    cooldown = (1000 + settings.OMS_THROTTLE_MARGIN_MS) / 1000 + 3.0
    system = system_factory(latency_ms="5")
    system.venue(VENUE)
    system.oms.holder(VENUE)
    first = system.oms.dispatcher()
    system.oms.wait_ready([first])
    wait_for(logged_on, timeout=20, what="the logon")
    orders = burst(operator, 60)
    wait_for(lambda: received(system) >= 15, timeout=30, every=0.02, what="15 sends")

    system.redis.kill()
    killed_at = time.time()
    # The last slot the lost Redis granted: what the new one must let age out.
    last_claim = max(VenueRequest.objects.filter(venue_id=VENUE, claimed_at__isnull=False)
                     .values_list("claimed_at", flat=True)).timestamp()
    cancelled, modified = change_at_once(orders)  # their nudges are lost
    time.sleep(1.0)
    system.redis.start()  # same port, empty
    restarted_at = time.time()
    beat = Beat()
    supervisor = Supervisor(system, [first], beat)
    settled = settle(system, orders, tick=supervisor, timeout=120)

    numbers = checked(system)
    claimed_after = VenueRequest.objects.filter(
        venue_id=VENUE, claimed_at__gt=datetime.fromtimestamp(restarted_at).astimezone())
    first_claim = min((r.sent_at for r in claimed_after), default=None)
    first_write_after = (first_claim.timestamp() - last_claim) if first_claim else None
    print_numbers("Redis kill -9 + restart", down_s=round(restarted_at - killed_at, 2),
                  first_write_after_the_last_old_claim_s=first_write_after,
                  cooldown_s=cooldown,
                  settle_s=round(settled, 1), sweeps=beat.sweeps,
                  worker_restarts=supervisor.restarts, cancelled=len(cancelled),
                  modified=len(modified), **numbers)
    # The limiter's restart cool-down held: nothing claimed on the new Redis was written
    # before a full cool-down had passed since the last slot the lost Redis granted (the
    # database's latest claim; dispatch/limiter.py), so no sliding second at the venue can
    # hold old and new sends together beyond the limit (checked() reads the venue's count).
    assert first_write_after is None or first_write_after >= cooldown - 0.05, first_write_after


def test_the_line_to_the_venue_cut_for_ten_seconds(system_factory, operator, settings):
    """The connection to the venue is cut (connects refused) for ten seconds mid-burst: the
    holder sees the session drop, reconnects with back-off, logs on once the line is back
    (sequence numbers continued), asks the venue about every open order, and sends the rest."""
    system = system_factory(latency_ms="20")
    proxy = TcpProxy(("127.0.0.1", system.exchange.fix_port))
    proxy.start()
    system.venue(VENUE)
    venue_update(code=VENUE, actor="tests", fix_port=proxy.port)
    holder = system.oms.holder(VENUE)
    system.oms.wait_ready([system.oms.dispatcher()])
    wait_for(logged_on, timeout=20, what="the logon")
    orders = burst(operator, 60)
    wait_for(lambda: received(system) >= 15, timeout=30, every=0.02, what="15 sends")
    sessions_before = system.exchange.stats(VENUE)["sessions"][0]

    proxy.cut()
    cut_at = time.monotonic()
    beat = Beat()
    while time.monotonic() - cut_at < 10:
        beat()
        time.sleep(0.2)
    dropped = not logged_on()
    cancelled, modified = change_at_once(orders)
    proxy.restore()
    settled = settle(system, orders, tick=beat)

    numbers = checked(system)
    session = system.exchange.stats(VENUE)["sessions"][0]
    print_numbers("the line to the venue cut 10 s", settle_s=round(settled, 1),
                  status_questions=VenueRequest.objects.filter(kind="STATUS").count(),
                  cancelled=len(cancelled), modified=len(modified), **numbers)
    assert dropped  # the holder saw it
    assert session["logons"] == sessions_before["logons"] + 1  # one logon brought it back
    assert holder.process.poll() is None
