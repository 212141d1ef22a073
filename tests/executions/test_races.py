"""A modify racing a fill, decided by PostgreSQL: each side its own connection and
transaction. Whichever commits first, the order is never half replaced: a quantity at or
below what is filled is refused here (400) or by the venue, and the order keeps its terms."""

import threading

import pytest
from django.db import connection, transaction

from executions.checks import books_problems
from omsproject.errors import InvalidInput
from orders import services
from orders.models import Order
from tests.dispatch.conftest import drain
from tests.executions.conftest import D, live_order
from tests.venues.inproc import venue_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("run", range(3))
def test_a_modify_racing_a_partial_fill_is_never_accepted_half(trader, in_process_venue, run):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    trade = venue.book.fill(cl, D("6"), D("150"))
    barrier, outcomes = threading.Barrier(2), {}

    def fill():
        try:
            barrier.wait()
            with transaction.atomic():
                services.OrderBooks().received(venue_code="XMOCK",
                                               message=venue_message(trade, 50),
                                               latency_micros=None)
        finally:
            connection.close()

    def modify():
        try:
            barrier.wait()
            services.order_modify(order_id=order.pk, actor="trader", quantity=D("5"))
            outcomes["modify"] = "queued"
        except InvalidInput:
            outcomes["modify"] = "refused here"
        finally:
            connection.close()

    threads = [threading.Thread(target=fill), threading.Thread(target=modify)]
    [thread.start() for thread in threads]
    [thread.join(timeout=30) for thread in threads]
    drain(venue)  # a replace that was queued goes out, and the venue refuses it

    order = Order.objects.get(pk=order.pk)
    assert outcomes["modify"] in ("queued", "refused here")
    assert (order.status, order.quantity, order.filled_quantity) == (
        "PARTIALLY_FILLED", D("10"), D("6"))
    assert not order.events.filter(type="REPLACED").exists()
    if outcomes["modify"] == "queued":
        assert order.requests.get(kind="MODIFY").result == "REJECT"
    assert venue.book.order_for(cl)["qty"] == D("10")
    assert books_problems() == []
