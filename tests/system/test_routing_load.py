"""Routed orders in numbers, end to end over FIX to the demo venues (tests/system/routed.py):
a burst split over three venues keeps each venue's send limit and FIFO on the wire, as the
venues' own logs have them; a stream of IOC orders racing for the moving books is booked as
the venues traded it."""

import threading
import time
from collections import Counter
from decimal import Decimal

import pytest

from django.db.models import Q

from bench.windows import most_in_any_window
from dispatch.models import RequestKind, VenueRequest
from orders.models import Order, OrderEvent
from tests.system.books import print_numbers, queue_is_drained, request_states
from tests.system.processes import wait_for
from tests.system.routed import BIDS, VENUES, A, B, C, Routed

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal


# --- 6. per venue guarantees with children ----------------------------------------------------


# Each venue's send limit for the burst: the demo's (100, 200, 50) over 5, set on both sides
# (the OMS's venues API, the exchange's config), so that the limit, not this shared 2-CPU
# machine, is what holds the dispatchers back, and the test stays short. (At the demo's own
# limits a burst of 220 reached 100/200/50 here too, when the machine was not busy.)
LIMITS = {A: 20, B: 40, C: 10}
BURST = 60
# PRO_RATA's weights: each order's 100 split 30 / 60 / 10.
BURST_ASKS = {A: [("100.00", "3000")], B: [("100.00", "6000")], C: [("100.00", "1000")]}


class BookRefresher(threading.Thread):
    """Pins the same books again every `every` seconds: a paused market sends no market
    data, and a quote the venue has not repeated for OMS_MARKET_DATA_STALE_SECONDS is stale."""

    def __init__(self, routed: Routed, symbol: str, every: float = 1.0):
        super().__init__(daemon=True)
        self.routed, self.symbol, self.every = routed, symbol, every
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            for venue, levels in BURST_ASKS.items():
                self.routed.pin_book(venue, self.symbol, asks=levels, bids=BIDS)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def test_a_burst_of_routed_orders_keeps_each_venues_send_limit_and_fifo_on_the_wire(
    routed, monkeypatch
):
    """BURST PRO_RATA orders, each split over the venues (their markets paused, so every
    child rests), queued while no dispatcher is nudged, then sent by two dispatcher
    processes. The router stops giving a venue children once its queue holds more than
    OMS_ROUTING_MAX_BACKLOG_SECONDS (2) of its send limit: each venue's queue then holds two
    seconds of it. The venues' own logs: no sliding second over the venue's limit, and the
    limit reached; each venue's NewOrderSingles in acceptance order; every child
    acknowledged, the books each venue's."""
    from dispatch import queue as dispatch_queue
    from dispatch.nudge import dispatch_nudge

    symbol = "MSFT"
    system = routed.system
    system.oms.wait_ready([system.oms.dispatcher()])  # a second one: claims across processes
    for venue, limit in LIMITS.items():
        system.exchange.configure(venue, rateLimit=limit)
        answer = routed.api.patch(f"/api/v1/venues/{venue}", {"throttlePerSecond": limit},
                                  format="json")
        assert answer.status_code == 200, answer.json()
    for venue, levels in BURST_ASKS.items():
        routed.pin_book(venue, symbol, asks=levels, bids=BIDS, last="100.00")
        routed.pause(venue)
    routed.wait_for_quotes(symbol, BURST_ASKS)

    refresher = BookRefresher(routed, symbol)
    refresher.start()
    started = time.monotonic()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(dispatch_queue, "dispatch_nudge", lambda **kwargs: None)
            parents = [routed.post(symbol=symbol, quantity="100", limit="100.05", tif="DAY",
                                   routing="PRO_RATA")["orderId"] for _ in range(BURST)]
    finally:
        refresher.stop()
    intake = time.monotonic() - started
    queued = {code: VenueRequest.objects.filter(venue_id=code, state="QUEUED").count()
              for code in VENUES}
    # Each venue took children until its queue held more than 2 s of its limit.
    assert queued == {A: 41, B: 60, C: 21}, queued
    audits = OrderEvent.objects.filter(order_id__in=parents, type="ROUTED")
    skipped = Counter((v["venue"], v["skip"]) for audit in audits.values_list("data", flat=True)
                      for v in audit["venues"] if v["skip"])
    assert skipped == {(C, "backlog 21 > 20"): BURST - 21,
                       (A, "backlog 41 > 40"): BURST - 41}, skipped

    started = time.monotonic()
    for code in VENUES:
        for _ in range(4):
            dispatch_nudge(venue_code=code, coalesce=False)
    wait_for(lambda: all(queue_is_drained(code) for code in VENUES), timeout=60, every=0.25,
             tick=routed.beat, what=lambda: {c: request_states(c) for c in VENUES})
    drained = time.monotonic() - started
    family = Order.objects.filter(Q(pk__in=parents) | Q(parent_id__in=parents))
    wait_for(lambda: set(family.values_list("status", flat=True)) == {"NEW"}, timeout=30,
             tick=routed.beat, what=lambda: Counter(family.values_list("status", flat=True)))

    wire = {}
    for code, limit in LIMITS.items():
        stats = routed.exchange.stats(code)
        messages = routed.exchange.messages(code)
        assert stats["rateLimit"] == limit
        assert stats["limitViolations"] == 0, stats
        assert stats["maxInAnySlidingSecond"] <= limit, stats
        assert most_in_any_window([m["receivedMonotonicNs"] for m in messages],
                                  1_000_000_000) == stats["maxInAnySlidingSecond"]
        wire[code] = {"queued": queued[code], "limit": limit,
                      "max_in_1s": stats["maxInAnySlidingSecond"],
                      "overtaken": overtaken_on_the_wire(code, messages)}
    print_numbers("routed burst", orders=BURST, intake_s=round(intake, 2),
                  drained_s=round(drained, 2), wire=wire, books=routed.check_books())
    assert not any(w["overtaken"] for w in wire.values()), wire
    # Pressed: the limit, and nothing else, held the dispatchers back. A machine too busy to
    # send even that fast leaves exactness unmeasured (as tests/system/test_exactness.py).
    short = {code: f"{w['max_in_1s']}/{w['limit']}" for code, w in wire.items()
             if w["max_in_1s"] < 0.9 * w["limit"]}
    if short:
        pytest.xfail(f"this machine sent at most {short} in any second: the limit was not "
                     "pressed there, so exactness was not measured (FIFO, the backlog rule and "
                     "the books were checked)")


def overtaken_on_the_wire(venue: str, messages: list[dict]) -> list[float]:
    """For each NewOrderSingle the venue received after a later-accepted one: by how many
    milliseconds (the venue's clock)."""
    received = {m["clOrdId"]: m["receivedMonotonicNs"] for m in messages
                if m["msgType"] == "D"}
    accepted = [str(r) for r in VenueRequest.objects.filter(venue_id=venue, kind=RequestKind.NEW)
                .order_by("id").values_list("request_id", flat=True)]
    assert set(accepted) == set(received), venue
    overtaken, latest = [], 0
    for at in (received[cl] for cl in accepted):
        if at < latest:
            overtaken.append((latest - at) / 1e6)
        latest = max(latest, at)
    return overtaken


# --- 7. routed IOC orders racing for moving books ---------------------------------------------


def test_routed_ioc_orders_racing_for_the_moving_books_are_booked_as_the_venues_traded(routed):
    """A stream of IOC orders over AAPL's demo markets (moving, refreshed every 100 ms),
    routed BEST_PRICE and PRO_RATA, each larger than a venue shows within its limit: the
    children take what is there, often less than was quoted (the one before took it), and
    their remainders are routed again. At the end every parent and child is done, every
    venue's trade log is our executions row for row, the books are each venue's, and each
    parent is the roll-up of its children (executions.checks)."""
    parents = []
    for n in range(STREAM):
        # One side only: a SELL while our BUYs are on their way would be refused as a
        # possible self-trade at every venue (routing/eligibility.py), rightly or not.
        market = routed.market_data("AAPL")
        best = min(D(q["ask"]) for q in market.values() if not q["stale"] and q["ask"])
        parents.append(routed.post(
            symbol="AAPL", quantity="1500", limit=str(best + D("0.03")), tif="IOC",
            routing="PRO_RATA" if n % 3 == 0 else "BEST_PRICE")["orderId"])
    for order_id in parents:
        routed.wait_until_done(order_id, timeout=60)

    orders = [routed.order(order_id) for order_id in parents]
    again = sum(len(o["routeAudit"]) - 1 for o in orders)
    statuses = Counter(o["status"] for o in orders)
    print_numbers("routed IOC stream", orders=STREAM, statuses=statuses, routed_again=again,
                  children=sum(len(o["children"]) for o in orders),
                  books=routed.check_books())
    assert again > 0, "no remainder was routed again: the scenario did not race"
    for order in orders:
        assert D(order["cumQty"]) == sum(D(c["cumQty"]) for c in order["children"])


STREAM = 40
