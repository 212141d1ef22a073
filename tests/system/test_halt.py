"""The kill switch, the first time it is ever used, in the middle of a burst: no
NewOrderSingle leaves after the halt commits; a cancel sent after it does, and its answer is
recorded; the session stays logged on; on resume the rest go, in order."""

import time

import pytest

from dispatch.models import VenueRequest
from orders import services
from orders.models import Order
from sessions.models import TradingHaltEvent, VenueSession
from sessions.services import trading_halt_set
from tests.system.books import check_books, check_wire, print_numbers, queue_is_drained
from tests.system.conftest import Beat
from tests.system.processes import wait_for
from tests.system.test_kills import VENUE, burst, logged_on

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

LIMIT = 50


def test_the_first_halt_ever_stops_new_orders_mid_burst_and_lets_a_cancel_out(
    system_factory, operator
):
    system = system_factory(limit=LIMIT, latency_ms="2")
    system.venue(VENUE, limit=LIMIT)
    system.oms.holder(VENUE)
    system.oms.wait_ready([system.oms.dispatcher(), system.oms.dispatcher()])
    wait_for(logged_on, timeout=20, what="the logon")
    assert not TradingHaltEvent.objects.exists()  # never halted before
    orders = burst(operator, 150)  # three seconds of sends at the limit
    wait_for(lambda: Order.objects.filter(status="NEW").count() >= 30, timeout=30, every=0.02,
             what="the burst under way")

    trading_halt_set(halted=True, reason="kill switch test", actor="desk")
    # Every NewOrderSingle written before the halt committed is recorded by now (the writer
    # records its batch in the transaction the halt waited for).
    written = list(VenueRequest.objects.filter(venue_id=VENUE, kind="NEW",
                                               msg_seq_num__isnull=False)
                   .values_list("msg_seq_num", flat=True))
    last_before_halt = max(written)
    live = Order.objects.filter(pk__in=[o.pk for o in orders], status="NEW").first()
    services.order_cancel(order_id=live.pk, actor="trader")
    wait_for(lambda: Order.objects.get(pk=live.pk).status == "CANCELED", timeout=15,
             what="the cancel's confirmation")
    time.sleep(1)  # whatever was on its way has arrived

    messages = system.exchange.messages(VENUE)
    news = [m["msgSeqNum"] for m in messages if m["msgType"] == "D"]
    cancels = [m for m in messages if m["msgType"] == "F"]
    assert max(news) <= last_before_halt, "a NewOrderSingle left after the halt committed"
    assert len(cancels) == 1 and cancels[0]["msgSeqNum"] > last_before_halt
    assert VenueSession.objects.get(pk=VENUE).state == "LOGGED_ON"  # a halt is no logout
    held = Order.objects.filter(pk__in=[o.pk for o in orders], status="QUEUED").count()
    assert held > 0  # the rest wait in the queue, visibly
    print_numbers("first halt mid-burst", sent_before_halt=len(news), held_back=held,
                  last_seq_before_halt=last_before_halt, cancel_seq=cancels[0]["msgSeqNum"])

    trading_halt_set(halted=False, reason="", actor="desk")
    wait_for(lambda: queue_is_drained(VENUE), timeout=60, every=0.25, tick=Beat())
    check_books(venue_code=VENUE, book=system.exchange.book(VENUE))
    check_wire(stats=system.exchange.stats(VENUE), messages=system.exchange.messages(VENUE),
               limit=LIMIT)
    sent = [m["clOrdId"] for m in system.exchange.messages(VENUE) if m["msgType"] == "D"]
    accepted = [str(VenueRequest.objects.get(order=o, kind="NEW").request_id) for o in orders
                if VenueRequest.objects.filter(order=o, kind="NEW", state="ANSWERED").exists()]
    assert sent == accepted  # before and after the halt, in acceptance order
