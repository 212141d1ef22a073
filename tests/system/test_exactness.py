"""Invariant 1 as the venue sees it: three dispatcher processes drain one venue's backlog
through the FIX session's holder, and the mock exchange counts every sliding second. No
window may hold more than the limit, and under a backlog the limit is used (>= 95%).

Run with -s to see the measured numbers."""

import time
import uuid
from collections import Counter
from datetime import datetime

import pytest

from bench.windows import most_in_any_window, sleep_until_fraction_of_second
from dispatch import queue as dispatch_queue
from dispatch.models import VenueRequest
from dispatch.nudge import dispatch_nudge
from orders import services
from orders.models import Order
from tests.factories import order_terms
from tests.system.books import check_books, request_states
from tests.system.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SECOND_NS = 1_000_000_000
HALF_SECOND_NS = SECOND_NS // 2
WORKERS, THREADS = 3, 4


def wire_profile(messages: list[dict], limit: int) -> dict:
    """What the venue's own log says: the busiest sliding second, the rate sustained, the
    calendar seconds."""
    times = sorted(m["receivedMonotonicNs"] for m in messages)
    first, last = times[0], times[-1]
    spans = [
        times[i + limit] - times[i]
        for i in range(len(times) - limit)
        if times[i] >= first + HALF_SECOND_NS and times[i + limit] <= last - HALF_SECOND_NS
    ]
    mean_span = sum(spans) / len(spans) if spans else 0
    calendar = Counter(datetime.fromisoformat(m["receivedAt"].replace("Z", "+00:00"))
                       .replace(microsecond=0) for m in messages)
    return {
        "count": len(times),
        "busiest": most_in_any_window(times, SECOND_NS),
        "seconds": (last - first) / SECOND_NS,
        "overall_rate": (len(times) - 1) / ((last - first) / SECOND_NS),
        "sustained_rate": limit / (mean_span / SECOND_NS) if mean_span else 0.0,
        "min_span_ms": min(spans) / 1e6 if spans else None,
        "calendar": [calendar[k] for k in sorted(calendar)],
    }


def drain_backlog(system_factory, user, monkeypatch, *, venue: str, limit: int,
                  count: int, timeout: float) -> dict:
    system = system_factory((venue,), limit=limit, latency_ms="1")
    system.venue(venue, limit=limit)
    system.oms.holder(venue)
    workers = [system.oms.dispatcher(concurrency=THREADS) for _ in range(WORKERS)]
    run = uuid.uuid4().hex[:6]
    with monkeypatch.context() as patch:  # a backlog whose nudges were lost: nothing sent yet
        patch.setattr(dispatch_queue, "dispatch_nudge", lambda **kwargs: None)
        orders = [services.order_create(user=user, account_code="ACC-1",
                                        client_order_id=f"x-{run}-{n:05d}", venue_code=venue,
                                        terms=order_terms())[0] for n in range(count)]
    system.oms.wait_ready(workers)
    wait_for(lambda: logged_on_at(venue), timeout=20, what="the logon")
    # Nothing sent yet but the logon's MarketDataRequest (it went with a limiter slot).
    assert {m["msgType"] for m in system.exchange.messages(venue)} <= {"V"}

    # The first sends go out at x.8 s: the first full window straddles a calendar second,
    # where a calendar-second counter would let up to 2L through.
    sleep_until_fraction_of_second(0.8)
    started = time.monotonic()
    for _ in range(WORKERS * THREADS):
        dispatch_nudge(venue_code=venue, coalesce=False)
    wait_for(lambda: VenueRequest.objects.filter(venue_id=venue, state="ANSWERED").count()
             >= count, timeout=timeout, every=0.2,
             what=lambda: f"{count} answers: {request_states(venue)}")
    drained = time.monotonic() - started

    stats = system.exchange.stats(venue)
    messages = [m for m in system.exchange.messages(venue) if m["msgType"] == "D"]
    market_data = [m for m in system.exchange.messages(venue) if m["msgType"] == "V"]
    profile = wire_profile(messages, limit)
    print(f"\n{venue} L={limit}/s, {count} orders, {WORKERS} dispatcher processes x {THREADS} "
          f"threads, one FIX session: drained in {drained:.1f}s. At the venue: max in any "
          f"sliding second {stats['maxInAnySlidingSecond']}/{limit}, violations "
          f"{stats['limitViolations']}; rate overall {profile['overall_rate']:.1f}/s, "
          f"sustained {profile['sustained_rate']:.1f}/s; shortest time for L sends "
          f"{profile['min_span_ms']}ms; per calendar second {profile['calendar']}")

    assert stats["limitViolations"] == 0, stats
    assert stats["maxInAnySlidingSecond"] <= limit, stats
    assert profile["busiest"] == stats["maxInAnySlidingSecond"]
    assert (stats["received"] - len(market_data), stats["accepted"], stats["duplicates"]) == \
        (count, count, 0)
    assert Counter(m["clOrdId"] for m in messages) == {
        str(VenueRequest.objects.get(order=o, kind="NEW").request_id): 1 for o in orders}
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders])
               .values_list("status", flat=True)) == {"NEW"}
    check_books(venue_code=venue, book=system.exchange.book(venue))
    return profile


def logged_on_at(venue: str) -> bool:
    from sessions.models import VenueSession

    return VenueSession.objects.get(pk=venue).state == "LOGGED_ON"


def test_100_per_second_from_three_processes_is_exact_at_the_venue_and_used(
    system_factory, operator, monkeypatch
):
    limit = 100
    profile = drain_backlog(system_factory, operator, monkeypatch, venue="XMOCK", limit=limit,
                            count=400, timeout=40)
    # Used: >= 95% of L over the whole backlog. (Each slot is reused one round trip after its
    # second, which caps this near 99% at 1 ms venue latency.)
    assert profile["overall_rate"] >= 0.95 * limit, profile


def test_1000_per_second_from_three_processes_is_exact_at_the_venue(
    system_factory, operator, monkeypatch
):
    limit = 1000
    profile = drain_backlog(system_factory, operator, monkeypatch, venue="XFAST", limit=limit,
                            count=1200, timeout=90)
    # Exactness and no loss held above. Whether L can be used depends on the machine.
    if profile["overall_rate"] < 0.95 * limit:
        pytest.xfail(
            f"this machine sent {profile['overall_rate']:.0f}/s through one FIX session: "
            f"1,000/s is out of its reach, so utilisation at L=1000 is not measured here "
            f"(exactness and no loss were checked)")
    assert profile["overall_rate"] >= 0.95 * limit, profile
