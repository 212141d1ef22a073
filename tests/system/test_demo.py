"""What a newcomer sees after `./oms run` (README, "The two commands"): against the demo
market, a LIMIT order that crosses it fills within a second, a large one partially at once
and then in full, and the live stream shows each fill."""

import time
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token

from executions.models import Fill
from orders import services
from orders.models import Order
from sessions.models import VenueSession
from tests.factories import order_terms
from tests.orders.sse import LiveServer, Stream
from tests.system.books import print_numbers
from tests.system.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

VENUE = "XMOCK"


def test_a_crossing_order_fills_within_a_second_and_the_stream_shows_each_fill(
    system_factory, trader
):
    system = system_factory(market=True)
    system.venue(VENUE, limit=100)
    system.oms.holder(VENUE)
    system.oms.wait_ready([system.oms.dispatcher()])
    wait_for(lambda: VenueSession.objects.get(pk=VENUE).state == "LOGGED_ON", timeout=20,
             what="the logon")
    live = LiveServer().start()
    try:
        stream = Stream(live, Token.objects.get_or_create(user=trader)[0].key)
        # AAPL's demo market: 190.00, five levels of 500 a side. 3,000 is more than it shows.
        started = time.monotonic()
        order, _ = services.order_create(
            user=trader, account_code="ACC-1", client_order_id="demo-large",
            venue_code=VENUE, terms=order_terms(quantity=Decimal("3000"),
                                                limit_price=Decimal("192"),
                                                time_in_force="GTC"))
        wait_for(lambda: Order.objects.get(pk=order.pk).filled_quantity > 0, timeout=5,
                 every=0.01, what="the first fill")
        first_fill = time.monotonic() - started
        wait_for(lambda: Order.objects.get(pk=order.pk).status == "FILLED", timeout=5,
                 every=0.01, what="the order filled")
        filled = time.monotonic() - started

        fills = Fill.objects.filter(order=order).count()
        events = stream.wait_for(2 + 1 + fills, timeout=10)  # created, sent, acked, fills
        shown = [e for e in events if e["data"]["type"] == "FILLED"]
    finally:
        live.stop()
    print_numbers("demo", first_fill_s=round(first_fill, 3), filled_s=round(filled, 3),
                  fills=fills)
    assert fills >= 2, "a large order is filled in more than one trade"
    assert len(shown) == fills, [e["data"] for e in events]
    assert shown[-1]["data"]["toStatus"] == "FILLED"
    assert filled < 1.0, f"filled {filled:.3f} s after it was accepted"
