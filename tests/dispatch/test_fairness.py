"""Fair dispatch between venues, and a Celery `dispatch` queue that stays bounded, under a
backlog that lasts: a real Celery worker in this process (threads, as the dispatcher runs),
its broker the test Redis, two venues answered in this process (tests/venues/inproc.py),
beat's sweeper every two seconds.

Venue A holds a backlog of thousands at a low limit and keeps receiving orders; venue B gets
a trickle. B's orders must not wait behind A's backlog, and however long A's lasts, the
broker holds only a few drain messages (nudges) a venue.

Run with -s to see the measured numbers."""

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from decimal import Decimal
from statistics import median

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from dispatch import drain as drain_module
from dispatch.models import RequestKind, VenueRequest
from dispatch.nudge import dispatch_nudge, dispatch_nudge_again_take, dispatch_nudge_taken
from dispatch.sweeper import dispatch_sweep
from omsproject.celery import app
from orders import services
from sessions.services import session_record_logged_off
from tests.dispatch.conftest import venue_live
from tests.factories import order_terms
from tests.venues.inproc import InProcessVenue

pytestmark = pytest.mark.django_db(transaction=True)

A, B = "XSLOW", "XFAST"
A_LIMIT, B_LIMIT = 20, 200
BACKLOG = 2000  # 100 s of A's sends: it lasts the whole test
THREADS = 8  # the dispatcher's --concurrency (Procfile, docker-compose.yml)
SWEEP_EVERY = 2.0  # beat's schedule for dispatch.sweep (settings.CELERY_BEAT_SCHEDULE)
ONE = order_terms(quantity=Decimal(1))


class Every:
    """Call `action` every `seconds` on a thread of its own (its own database connection)
    until stopped."""

    def __init__(self, seconds: float, action: Callable[[], None]):
        self._stop = threading.Event()
        self._errors: list[BaseException] = []

        def run():
            try:
                while not self._stop.is_set():
                    action()
                    self._stop.wait(seconds)
            except BaseException as exc:  # reported by stop()
                self._errors.append(exc)
            finally:
                connection.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._errors, self._errors


@contextmanager
def drains_counted(monkeypatch):
    """How many drains of each venue claim at once, at most (a drain message that finds one
    running leaves without claiming: dispatch/drain.py)."""
    running: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()
    real = drain_module.dispatch_drain

    def counted(*, venue_code: str, **kwargs):
        with lock:
            running[venue_code] = running.get(venue_code, 0) + 1
            most[venue_code] = max(most.get(venue_code, 0), running[venue_code])
        try:
            return real(venue_code=venue_code, **kwargs)
        finally:
            with lock:
                running[venue_code] -= 1

    with monkeypatch.context() as patch:
        patch.setattr(drain_module, "dispatch_drain", counted)
        yield most


def new_order(user, venue: str, client_order_id: str) -> None:
    services.order_create(user=user, account_code="ACC-1", client_order_id=client_order_id,
                          venue_code=venue, terms=ONE)


def test_a_backlogged_venue_delays_no_other_and_the_dispatch_queue_stays_bounded(
    trader, limiter_redis, monkeypatch
):
    venue_live(A, limit=A_LIMIT)
    venue_live(B, limit=B_LIMIT)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # A's backlog, through intake (each order commits and nudges dispatch on commit) before
    # any dispatcher runs: the nudges it sent are waiting in the broker.
    for chunk in range(BACKLOG // 500):
        outcomes = services.orders_create_batch(user=trader, requests=[
            services.OrderRequest(account_code="ACC-1", client_order_id=f"a-{chunk}-{n}",
                                  venue_code=A, routing=None, terms=ONE)
            for n in range(500)])
        assert all(outcome.error is None for outcome in outcomes)
    waiting_before_any_worker = broker.llen("dispatch")

    venues = [InProcessVenue(A), InProcessVenue(B)]
    queue_lengths: list[int] = []
    with drains_counted(monkeypatch) as most_drains, start_worker(
        app, pool="threads", concurrency=THREADS, perform_ping_check=False,
        queues=["dispatch"], loglevel="WARNING", shutdown_timeout=30,
    ):
        helpers = [
            Every(0.02, lambda: [venue.pump() for venue in venues]),  # the FIX holders
            Every(SWEEP_EVERY, dispatch_sweep),  # beat
            Every(0.05, lambda: queue_lengths.append(broker.llen("dispatch"))),
        ]
        # Long enough for A's drain to hand over twice, and for seven sweeps.
        watch = 3 * drain_module.DRAIN_BUDGET_SECONDS - 1
        started = time.monotonic()
        tick = b_sent = 0
        while time.monotonic() - started < watch:
            new_order(trader, A, f"a-more-{tick}")  # A keeps receiving orders: ~10/s
            if tick % 5 == 0:
                new_order(trader, B, f"b-{tick}")  # B a trickle: ~2/s
                b_sent += 1
            tick += 1
            time.sleep(0.1)
        deadline = time.monotonic() + 2
        while VenueRequest.objects.filter(venue_id=B, claimed_at__isnull=True).exists() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        for helper in helpers:
            helper.stop()
        session_record_logged_off(venue_code=A)  # A's drain ends at its next claim
        session_record_logged_off(venue_code=B)

    b_requests = list(VenueRequest.objects.filter(venue_id=B, kind=RequestKind.NEW))
    unclaimed = [r.pk for r in b_requests if r.claimed_at is None]
    delays = sorted((r.claimed_at - r.queued_at).total_seconds() for r in b_requests
                    if r.claimed_at is not None)
    a_claimed = VenueRequest.objects.filter(venue_id=A, claimed_at__isnull=False).count()
    a_left = VenueRequest.objects.filter(venue_id=A, state="QUEUED").count()
    print(f"\nA={A} L={A_LIMIT}/s backlog {BACKLOG} + 10/s, B={B} 2/s, {THREADS} worker "
          f"threads, {elapsed:.1f}s: broker 'dispatch' held {waiting_before_any_worker} "
          f"message(s) before the worker started, at most {max(queue_lengths)} while it ran "
          f"(last {queue_lengths[-5:]}); drains running at once at most {most_drains}; "
          f"B's orders: {len(delays)} claimed after p50 {median(delays or [0]) * 1000:.0f} "
          f"ms, max {max(delays or [0]) * 1000:.0f} ms, {len(unclaimed)} never; A claimed "
          f"{a_claimed} "
          f"({a_claimed / elapsed:.1f}/s), {a_left} still queued")

    # (1) B is not behind A's backlog: each of its orders is claimed within a fraction of
    # one drain's budget, however long A's backlog is.
    assert not unclaimed and len(delays) == b_sent >= 10
    assert max(delays) < 1.0, delays[-5:]
    # A backlogged venue's drains hold one worker thread, not all of them.
    assert most_drains[A] == 1 and most_drains[B] == 1, most_drains
    # (2) The broker's dispatch queue stays bounded: at most one drain message waiting a
    # venue, before the worker ran and all the while A's backlog lasted.
    assert waiting_before_any_worker <= 2
    assert max(queue_lengths) <= 2, queue_lengths
    assert a_left > 0  # ...and it did last
    # A still sends at its limit all the while.
    assert a_claimed >= 0.8 * A_LIMIT * (elapsed - 1), a_claimed


# --- the mechanisms, one at a time -----------------------------------------------------------


def test_however_many_nudges_one_drain_message_waits_a_venue(limiter_redis):
    for _ in range(50):
        dispatch_nudge(venue_code=A, coalesce=False)  # as the sweeper and hand-overs nudge
        dispatch_nudge(venue_code=B)  # as intake nudges
    assert limiter_redis.llen("dispatch") == 2

    dispatch_nudge_taken(venue_code=A)  # A's drain started: the next nudge sends another
    dispatch_nudge(venue_code=A, coalesce=False)
    dispatch_nudge(venue_code=B, coalesce=False)
    assert limiter_redis.llen("dispatch") == 3


def test_the_sweeper_nudges_a_venue_once_however_long_its_queue(trader, limiter_redis,
                                                                monkeypatch):
    venue_live(A, limit=A_LIMIT)
    for n in range(5):
        new_order(trader, A, f"s-{n}")
    nudged = []
    monkeypatch.setattr("dispatch.sweeper.dispatch_nudge",
                        lambda *, venue_code, coalesce: nudged.append(venue_code))

    assert dispatch_sweep()["nudged"] == [A]
    assert nudged == [A]


def test_a_drain_that_finds_one_running_leaves_and_the_running_one_looks_again(
    trader, limiter_redis, monkeypatch
):
    venue_live(A, limit=A_LIMIT)
    inside, release, done = threading.Event(), threading.Event(), threading.Event()

    def long_drain(**kwargs):  # a drain busy with a backlog, until released
        inside.set()
        release.wait(10)
        return drain_module.DrainResult(0, "empty")

    def running():  # a drain message being worked on, on a thread and connection of its own
        try:
            drain_module.dispatch_drain_turn(venue_code=A)
        finally:
            connection.close()
            done.set()

    with monkeypatch.context() as patch:
        patch.setattr(drain_module, "dispatch_drain", long_drain)
        threading.Thread(target=running, daemon=True).start()
        assert inside.wait(10)
        new_order(trader, A, "late")  # committed while it runs: intake nudges, a message
        assert limiter_redis.llen("dispatch") == 1

        # That message's drain finds the turn taken: it leaves at once, claiming nothing.
        assert drain_module.dispatch_drain_turn(venue_code=A) is None
        assert VenueRequest.objects.get(venue_id=A).state == "QUEUED"

        # The running drain, letting go of the turn, finds the mark and nudges once.
        release.set()
        assert done.wait(10)
        assert limiter_redis.llen("dispatch") == 2
        assert dispatch_nudge_again_take(venue_code=A) is False  # taken by it

    result = drain_module.dispatch_drain_turn(venue_code=A)  # that nudge's drain: turn free
    assert (result.claimed, result.stopped) == (1, "empty")
