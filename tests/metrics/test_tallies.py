"""/metrics' counts are a tally of what is done plus the rows not yet in it (orders/tally.py,
dispatch/tally.py): folding rows in changes no number, and what a scrape reads row by row
is what is open or done since the last tally."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Count

from dispatch.models import VenueRequest
from dispatch.tally import requests_tally
from orders import services
from orders.models import Order
from orders.tally import order_counts, orders_tally
from tests.dispatch.conftest import drain
from tests.executions.conftest import live_order
from tests.factories import make_order
from tests.metrics.conftest import series

pytestmark = pytest.mark.django_db
D = Decimal
COUNTERS = ("oms_orders", "oms_venue_requests_sent_total",
            "oms_venue_request_latency_seconds_bucket", "oms_venue_request_latency_seconds_count",
            "oms_venue_request_latency_seconds_sum")


def the_orders_there_are() -> Counter:
    rows = (Order.objects.filter(venue__isnull=False).order_by()
            .values_list("venue_id", "status").annotate(n=Count("*")))
    return Counter({(venue, status): n for venue, status, n in rows})


def traffic(venue, user) -> Order:
    """Filled, cancelled at the venue, cancelled in the queue, live, queued; the filled one
    is returned."""
    done, cl = live_order(venue, user)
    venue.deliver([venue.book.fill(cl, D("10"), D("150"))])
    cancelled, _ = live_order(venue, user)
    services.order_cancel(order_id=cancelled.pk, actor="trader")
    drain(venue)
    never_sent = make_order(user=user, account_code="ACC-1")
    services.order_cancel(order_id=never_sent.pk, actor="trader")
    live_order(venue, user)
    make_order(user=user, account_code="ACC-1")
    return done


def test_folding_done_rows_into_the_tallies_changes_no_number(trader, in_process_venue,
                                                              scrape):
    traffic(in_process_venue, trader)
    before = scrape()

    assert orders_tally() == 3
    assert requests_tally() > 0
    after = scrape()

    for name in COUNTERS:
        assert after[name] == before[name], name
    assert series(after, "oms_orders", venue="XMOCK")["CANCELED"] == 2
    # Row by row now: the open orders, and the requests of the open orders not yet done.
    assert sorted(Order.objects.filter(tallied_status="").values_list("status", flat=True)) \
        == ["NEW", "QUEUED"]
    assert set(VenueRequest.objects.filter(tallied=False).values_list("state", flat=True)) \
        == {"QUEUED"}
    assert order_counts() == the_orders_there_are()


def test_a_counted_order_whose_fill_is_busted_leaves_the_tally_and_comes_back(
        trader, in_process_venue, scrape):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    venue.deliver([first, venue.book.fill(cl, D("6"), D("151"))])
    orders_tally()
    order.refresh_from_db()
    assert order.tallied_status == "FILLED"

    venue.deliver([venue.book.bust(first[17])])  # FILLED -> CANCELED

    order.refresh_from_db()
    assert (order.status, order.tallied_status) == ("CANCELED", "")
    assert order_counts() == the_orders_there_are()
    assert series(scrape(), "oms_orders", venue="XMOCK")["FILLED"] == 0
    assert orders_tally() == 1
    assert order_counts() == the_orders_there_are()


def test_each_tally_run_is_bounded(trader, in_process_venue):
    for _ in range(5):
        order = make_order(user=trader, account_code="ACC-1")
        services.order_cancel(order_id=order.pk, actor="trader")

    assert orders_tally(batch=2, max_batches=2) == 4
    assert orders_tally(batch=2, max_batches=2) == 1
    assert orders_tally() == 0
    assert requests_tally(batch=1, max_batches=3) == 3
    assert order_counts() == the_orders_there_are()


@pytest.mark.django_db(transaction=True)
def test_a_scrape_outside_a_transaction_reads_one_snapshot(scrape):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        scrape()

    statements = [q["sql"] for q in queries.captured_queries]
    first = next(i for i, sql in enumerate(statements) if "SET TRANSACTION" in sql)
    assert "REPEATABLE READ" in statements[first]
    assert any("orders_ordertally" in sql for sql in statements[first:])
    assert not connection.in_atomic_block
