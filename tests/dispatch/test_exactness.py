"""Invariant 1 as the venue sees it: several dispatcher PROCESSES drain one venue's backlog
and the mock exchange counts every sliding second. No window may hold more than the limit,
and under a backlog the limit is used (>= 95%). PostgreSQL, Redis and the exchange are real.

Run with -s to see the measured numbers."""

import time
from collections import Counter
from datetime import datetime

import pytest

from bench.windows import most_in_any_window, sleep_until_fraction_of_second
from dispatch import services as dispatch_services
from dispatch.models import RequestState, VenueRequest
from dispatch.nudge import dispatch_nudge
from orders.models import Order, OrderStatus
from tests.dispatch.conftest import venue_live
from tests.dispatch.workers import (  # noqa: F401  (dispatch_workers is a fixture)
    all_answered,
    book_ids,
    dispatch_workers,
    nudges_held,
    queue_orders,
    requests_by_state,
    wait_until,
)
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

SECOND_NS = 1_000_000_000
HALF_SECOND_NS = SECOND_NS // 2
WORKERS, THREADS = 3, 4
NUDGES = WORKERS * THREADS  # one drain per worker thread: every thread takes part


def _wire_profile(messages: list[dict], limit: int) -> dict:
    """What the venue's own log says: the busiest sliding second, the rate sustained, the
    calendar seconds."""
    times = sorted(m["receivedMonotonicNs"] for m in messages)
    busiest = most_in_any_window(times, SECOND_NS)
    first, last = times[0], times[-1]
    # The steady part leaves out the first and the last 0.5 s.
    steady = [t for t in times if first + HALF_SECOND_NS <= t <= last - HALF_SECOND_NS]
    steady_rate = (
        (len(steady) - 1) / ((steady[-1] - steady[0]) / SECOND_NS) if len(steady) > 1 else 0.0
    )
    # Sustained rate whatever the shape of the first burst (which a sliding window repeats
    # once per window): how long the message L places later came after each message of the
    # steady part. L over the mean of that is the rate; 1 s + a round trip is the best possible.
    spans = [
        times[i + limit] - times[i]
        for i in range(len(times) - limit)
        if times[i] >= first + HALF_SECOND_NS and times[i + limit] <= last - HALF_SECOND_NS
    ]
    mean_span = sum(spans) / len(spans) if spans else 0
    calendar = Counter(
        datetime.fromisoformat(m["receivedAt"].replace("Z", "+00:00")).replace(microsecond=0)
        for m in messages
    )
    return {
        "count": len(times),
        "busiest": busiest,
        "seconds": (last - first) / SECOND_NS,
        "overall_rate": (len(times) - 1) / ((last - first) / SECOND_NS),
        "steady_rate": steady_rate,
        "sustained_rate": limit / (mean_span / SECOND_NS) if mean_span else 0.0,
        "min_span_ms": min(spans) / 1e6 if spans else None,
        "calendar": [calendar[k] for k in sorted(calendar)],
    }


def _drain_backlog(*, exchange, dispatch_workers, monkeypatch, trader, venue_code: str,
                   limit: int, count: int, timeout: float) -> dict:
    """Queue `count` orders, let 3 dispatcher processes send them from x.8 s on, check that
    every one reached the venue once and the venue never saw more than `limit` in a second."""
    workers = dispatch_workers.start(WORKERS, concurrency=THREADS)
    exchange.configure(venue_code, rateLimit=limit, latencyMs=1)
    venue_live(venue_code, limit=limit)  # forced open, logged on at the real exchange

    made = time.monotonic()
    with nudges_held(monkeypatch):  # the workers boot meanwhile; nothing is sent yet
        if venue_code == "XMOCK":  # the default venue
            orders = [make_order(user=trader, account_code="ACC-1") for _ in range(count)]
        else:
            orders = queue_orders(user=trader, account_code="ACC-1", venue_code=venue_code,
                                  count=count, threads=4)
    made = time.monotonic() - made
    dispatch_workers.wait_ready(workers)
    assert exchange.stats(venue_code)["received"] == 0
    assert requests_by_state(venue_code) == {RequestState.QUEUED: count}

    # The first sends go out at x.8 s: the first full window straddles a calendar second,
    # where a calendar-second counter would let up to 2L through.
    sleep_until_fraction_of_second(0.8)
    started = time.monotonic()
    for _ in range(NUDGES):
        dispatch_nudge(venue_code=venue_code, coalesce=False)  # one drain per nudge
    # Until all are answered, or the venue refused one for the rate: that ends the drains
    # ("gated") and the exactness checks below fail anyway, so there is no point waiting.
    wait_until(
        lambda: all_answered(venue_code, count) or exchange.stats(venue_code)["rejected"],
        timeout=timeout, every=0.2,
        what=lambda: f"{count} answers from {venue_code}: {requests_by_state(venue_code)}; "
                     f"the venue's count: {exchange.stats(venue_code)}",
    )
    drained = time.monotonic() - started

    stats = exchange.stats(venue_code)
    messages = exchange.messages(venue_code)
    profile = _wire_profile(messages, limit)
    print(
        f"\n{venue_code} L={limit}/s, {count} orders, {WORKERS} processes x {THREADS} threads: "
        f"queued in {made:.1f}s, drained in {drained:.1f}s. At the venue: max in any sliding "
        f"second {stats['maxInAnySlidingSecond']}/{limit}, violations "
        f"{stats['limitViolations']}; rate overall {profile['overall_rate']:.1f}/s, steady "
        f"(first/last 0.5 s out) {profile['steady_rate']:.1f}/s, sustained (L / mean time "
        f"for L sends) {profile['sustained_rate']:.1f}/s; shortest time for L sends "
        f"{profile['min_span_ms']}ms; per calendar second {profile['calendar']}"
    )

    # Exact, as the venue counts: never more than L in any sliding second, none refused.
    assert stats["limitViolations"] == 0, stats
    assert stats["maxInAnySlidingSecond"] <= limit, stats
    assert profile["busiest"] == stats["maxInAnySlidingSecond"]
    assert "RATE_LIMIT" not in (stats["rejectsByReason"] or {}), stats
    # Every order exactly once: nothing lost, nothing sent twice.
    assert (stats["received"], stats["accepted"], stats["duplicates"]) == (count, count, 0)
    assert Counter(m["clientOrderId"] for m in messages) == {str(o.pk): 1 for o in orders}
    assert set(book_ids(exchange, venue_code)) == {str(order.pk) for order in orders}
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    ) == {OrderStatus.NEW}
    assert VenueRequest.objects.filter(venue_id=venue_code, attempts=1,
                                       result="ACCEPT").count() == count
    # Several processes really did share the backlog.
    assert len({claimed_by.rsplit(":", 1)[-1] for claimed_by in VenueRequest.objects.filter(
        venue_id=venue_code).values_list("claimed_by", flat=True)}) >= 2
    return profile


def test_100_per_second_from_three_processes_is_exact_at_the_venue_and_used(
    exchange, dispatch_workers, monkeypatch, trader
):
    limit = 100
    profile = _drain_backlog(exchange=exchange, dispatch_workers=dispatch_workers,
                             monkeypatch=monkeypatch, trader=trader, venue_code="XMOCK",
                             limit=limit, count=400, timeout=40)
    # Used: >= 95% of L sustained over the whole backlog, first send to last. (Each slot is
    # reused one round trip after its second, which caps this near 99% at 1 ms venue latency.)
    assert profile["overall_rate"] >= 0.95 * limit, profile


def test_1000_per_second_from_three_processes_is_exact_at_the_venue(
    exchange, dispatch_workers, monkeypatch, trader
):
    limit = 1000
    profile = _drain_backlog(exchange=exchange, dispatch_workers=dispatch_workers,
                             monkeypatch=monkeypatch, trader=trader, venue_code="XFAST",
                             limit=limit, count=1200, timeout=90)
    # Exactness and no loss held above. Whether L can be used depends on the machine: a quiet
    # 2-core box sends 1,000/s with batched claims; one busy with other work may not.
    if profile["overall_rate"] < 0.95 * limit:
        pytest.xfail(
            f"this machine sent {profile['overall_rate']:.0f}/s with {WORKERS} processes x "
            f"{THREADS} threads: 1,000/s is out of its reach, so utilisation at L=1000 is "
            f"not measured here (exactness and no loss were checked)"
        )
    # A machine that can: 1200 orders leave little steady part at 1,000/s; if this is 0,
    # queue more (2,500 or so).
    assert profile["overall_rate"] >= 0.95 * limit, profile


def test_a_send_the_venue_refused_at_its_gate_still_counts_in_its_window(
    exchange, trader, monkeypatch, settings, limiter_redis
):
    """The venue counts every message it receives, also one it answers NOT_LOGGED_ON; so the
    slot that carried it stays spent, and the sends after the fresh logon leave room for it."""
    limit = 5
    exchange.configure("XMOCK", rateLimit=limit)
    venue_live("XMOCK", limit=limit)
    with nudges_held(monkeypatch):
        orders = [make_order(user=trader, account_code="ACC-1") for _ in range(limit + 1)]
    # The venue drops our session (say it restarted); we learn it from its answer.
    exchange.call("POST", "/venues/XMOCK/logout", {"senderCompId": settings.OMS_SENDER_COMP_ID})

    assert dispatch_services.dispatch_drain(venue_code="XMOCK").stopped == "gated"
    assert exchange.stats("XMOCK")["notLoggedOn"] == 1
    logged_after_refusal = limiter_redis.zcard("oms:limiter:XMOCK:log")
    venue_live("XMOCK", limit=limit)  # the next reconcile logs on again, at once
    dispatch_services.dispatch_drain(venue_code="XMOCK", budget_seconds=5)

    stats = exchange.stats("XMOCK")
    print(f"\nafter a NOT_LOGGED_ON answer: max in any sliding second "
          f"{stats['maxInAnySlidingSecond']}/{limit}, violations {stats['limitViolations']}, "
          f"rejects {stats['rejectsByReason']}")
    assert stats["limitViolations"] == 0, stats
    assert stats["maxInAnySlidingSecond"] <= limit, stats
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    ) == {OrderStatus.NEW}
    # The limiter kept the refused send's slot, as the venue kept the message in its count.
    assert logged_after_refusal == 1


def test_one_nudge_on_a_backlog_brings_in_more_dispatchers(
    exchange, dispatch_workers, monkeypatch, trader
):
    """A backlog with a single nudge (a logon, the sweeper; no intake to nudge again) is not
    left to one drain, which sends far below a high limit: a drain whose batch comes back
    full with every slot granted starts another. One thread per process, so the second
    drain can only run in another process."""
    limit, count = 1000, 600
    workers = dispatch_workers.start(WORKERS, concurrency=1)
    exchange.configure("XFAST", rateLimit=limit, latencyMs=1)
    venue_live("XFAST", limit=limit)
    with nudges_held(monkeypatch):
        queue_orders(user=trader, account_code="ACC-1", venue_code="XFAST", count=count,
                     threads=4)
    dispatch_workers.wait_ready(workers)

    dispatch_nudge(venue_code="XFAST", coalesce=False)
    wait_until(lambda: all_answered("XFAST", count), timeout=60, every=0.2,
               what=lambda: f"{count} answers: {requests_by_state('XFAST')}")

    processes = {claimed_by.rsplit(":", 1)[-1] for claimed_by in VenueRequest.objects.filter(
        venue_id="XFAST").values_list("claimed_by", flat=True)}
    assert len(processes) >= 2, processes
    stats = exchange.stats("XFAST")
    assert (stats["received"], stats["duplicates"], stats["limitViolations"]) == (count, 0, 0)
