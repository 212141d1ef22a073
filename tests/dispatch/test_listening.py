"""A drain that empties its venue's queue waits for the next order (dispatch/drain.py,
dispatch/nudge.py: dispatch_listen) instead of ending: intake's nudge wakes it with a token
rather than a Celery message, and nothing committed while it listens is left behind when it
stops."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from dispatch import drain as drain_module
from dispatch.models import VenueRequest
from dispatch.nudge import listening_key
from dispatch.sweeper import dispatch_sweep
from orders import services
from tests.dispatch.conftest import venue_live
from tests.factories import order_terms

pytestmark = pytest.mark.django_db(transaction=True)

VENUE = "XMOCK"
ONE = order_terms(quantity=Decimal(1))


def new_order(user, client_order_id: str) -> None:
    services.order_create(user=user, account_code="ACC-1", client_order_id=client_order_id,
                          venue_code=VENUE, terms=ONE)


def claimed(client_order_id: str) -> bool:
    return VenueRequest.objects.filter(order__client_order_id=client_order_id,
                                       claimed_at__isnull=False).exists()


def until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class DrainThread:
    """A drain message being worked on, on a thread and database connection of its own."""

    def __init__(self, **kwargs):
        self.result = None
        self.error: BaseException | None = None

        def run():
            try:
                self.result = drain_module.dispatch_drain_turn(venue_code=VENUE, **kwargs)
            except BaseException as exc:
                self.error = exc
            finally:
                connection.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(timeout=30)
        assert not self.thread.is_alive() and self.error is None, self.error
        return self.result


def test_a_trickle_is_claimed_by_one_waiting_drain_without_a_message_an_order(
    trader, limiter_redis
):
    venue_live(VENUE, limit=100)
    drain = DrainThread(idle_seconds=1.0)
    assert until(lambda: limiter_redis.exists(listening_key(VENUE)))

    delays = []
    for n in range(5):
        start = time.monotonic()
        new_order(trader, f"t-{n}")  # intake nudges on commit
        assert until(lambda n=n: claimed(f"t-{n}"))
        delays.append(time.monotonic() - start)
        assert limiter_redis.llen("dispatch") == 0  # woken by a token, not a Celery message
        time.sleep(0.2)

    result = drain.join()  # idle for a second after the last: it ends
    assert (result.claimed, result.stopped) == (5, "empty")
    assert max(delays) < 0.5, delays  # not the sweeper's 2 s, nor a wait's full second
    assert not limiter_redis.exists(listening_key(VENUE))

    new_order(trader, "after")  # nobody listens now: intake sends a drain message again
    assert limiter_redis.llen("dispatch") == 1


def test_an_order_whose_nudge_found_the_drain_still_listening_is_claimed_as_it_stops(
    trader, limiter_redis, monkeypatch
):
    venue_live(VENUE, limit=100)
    real_unlisten = drain_module.dispatch_unlisten

    def order_then_unlisten(*, venue_code):
        # Committed after the drain's last claim and last wait, its nudge seeing the drain
        # listening: no message goes out, only a token nobody will read.
        new_order(trader, "late")
        assert limiter_redis.llen("dispatch") == 0
        real_unlisten(venue_code=venue_code)

    monkeypatch.setattr(drain_module, "dispatch_unlisten", order_then_unlisten)
    result = drain_module.dispatch_drain_turn(venue_code=VENUE, idle_seconds=0.2)

    assert claimed("late")  # the drain's last look, after it stopped listening
    assert result.claimed == 1
    # It claimed after it stopped listening, so more may have come: it hands over.
    assert result.stopped == "budget" and limiter_redis.llen("dispatch") == 1


def test_a_nudge_from_elsewhere_than_intake_wakes_a_waiting_drain_at_once(
    trader, limiter_redis, monkeypatch
):
    """Work queued by others (a re-queued request, the sweeper finding what a lost nudge
    left) wakes a listening drain too, not only at the end of its next second of waiting."""
    from dispatch.nudge import dispatch_nudge

    venue_live(VENUE, limit=100)
    drain = DrainThread(idle_seconds=3.0)
    assert until(lambda: limiter_redis.exists(listening_key(VENUE)))
    time.sleep(0.05)  # its wait (a second at most) has begun
    with monkeypatch.context() as patch:
        patch.setattr("dispatch.queue.dispatch_nudge", lambda **kwargs: None)
        new_order(trader, "quiet")  # queued without intake's nudge
    started = time.monotonic()
    try:
        dispatch_nudge(venue_code=VENUE, coalesce=False)  # as the sweeper nudges
        assert until(lambda: claimed("quiet"))
        assert time.monotonic() - started < 0.4
    finally:
        drain.join()


def test_the_sweeper_still_nudges_when_a_dead_drain_seems_to_listen(trader, limiter_redis):
    venue_live(VENUE, limit=100)
    limiter_redis.set(listening_key(VENUE), 1, px=10_000)  # its drain's process died
    new_order(trader, "stranded")
    assert limiter_redis.llen("dispatch") == 0  # intake's nudge went to the dead listener

    dispatch_sweep()
    assert limiter_redis.llen("dispatch") == 1  # beat's sweep sends a message regardless
    drain_module.dispatch_drain_turn(venue_code=VENUE, idle_seconds=0)
    assert claimed("stranded")


def test_a_waiting_drain_hands_over_at_its_budget(trader, limiter_redis, monkeypatch):
    venue_live(VENUE, limit=100)
    monkeypatch.setattr(drain_module, "DRAIN_BUDGET_SECONDS", 0.6)
    drain = DrainThread(idle_seconds=5.0)  # would wait longer than its budget
    assert until(lambda: limiter_redis.exists(listening_key(VENUE)))
    new_order(trader, "in-budget")
    assert until(lambda: claimed("in-budget"))

    result = drain.join()
    assert (result.claimed, result.stopped) == (1, "budget")
    assert limiter_redis.llen("dispatch") == 1  # a fresh message, behind other venues'


def test_with_no_idle_time_set_a_drain_ends_as_soon_as_the_queue_is_empty(
    trader, limiter_redis, settings, monkeypatch
):
    settings.OMS_DISPATCH_DRAIN_IDLE_SECONDS = 0  # drains as before: a message an order
    venue_live(VENUE, limit=100)
    new_order(trader, "only")
    listened = []
    real_listen = drain_module.dispatch_listen
    monkeypatch.setattr(drain_module, "dispatch_listen",
                        lambda **kwargs: listened.append(kwargs) or real_listen(**kwargs))

    started = time.monotonic()
    result = drain_module.dispatch_drain_turn(venue_code=VENUE)

    assert (result.claimed, result.stopped) == (1, "empty") and claimed("only")
    assert time.monotonic() - started < 0.5 and not listened
    before = limiter_redis.llen("dispatch")
    new_order(trader, "next")  # nobody listens: intake sends a drain message
    assert limiter_redis.llen("dispatch") == before + 1
