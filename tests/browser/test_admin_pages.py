"""The operators' pages in a real browser: the blotter refreshes by itself and filters, and
an order is cancelled from its admin page and from the order list."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from dispatch.models import VenueRequest
from orders.models import Order
from tests.dispatch.conftest import drain
from tests.factories import make_order


@pytest.fixture
def venue(transactional_db, in_process_venue):
    # The live server's threads read what the test committed: no wrapping transaction.
    return in_process_venue


def _fill(venue, order: Order, quantity: str, price: str) -> None:
    order.refresh_from_db()
    venue.emit(venue.book.fill(order.venue_cl_ord_id, Decimal(quantity), Decimal(price)))
    venue.pump()


def _row(page, order: Order):
    return page.locator(f'#blotter tbody tr[data-order-id="{order.pk}"]')


def test_blotter_refreshes_by_itself_and_filters(operator_page, live_server, venue, trader,
                                                 other_trader):
    page = operator_page
    order = make_order(user=trader, account_code="ACC-1", symbol="MSFT",
                       quantity=Decimal("10"), limit_price=Decimal("100"))
    drain(venue)
    _fill(venue, order, "4", "99.5")

    page.goto(f"{live_server.url}/admin/orders/order/blotter/")
    row = _row(page, order)
    expect(row.locator('[data-column="cumQty"]')).to_have_text("4")
    expect(row.locator('[data-column="leavesQty"]')).to_have_text("6")
    expect(row.locator('[data-column="status"]')).to_have_text("PARTIALLY_FILLED")
    page.evaluate("window.__marker = 'same page'")  # gone if the page reloads

    _fill(venue, order, "2", "100")
    theirs = make_order(user=other_trader, account_code="ACC-2", symbol="AAPL")

    expect(row.locator('[data-column="cumQty"]')).to_have_text("6")
    expect(row.locator('[data-column="avgPx"]')).to_have_text(re.compile(r"^99\.6666"))
    expect(_row(page, theirs)).to_have_count(1)
    assert page.evaluate("window.__marker") == "same page"

    page.select_option('select[name="account"]', "ACC-2")
    expect(_row(page, order)).to_have_count(0)
    expect(_row(page, theirs)).to_have_count(1)
    assert "account=ACC-2" in page.url

    _fill(venue, order, "4", "100")  # filled: no longer open
    page.select_option('select[name="account"]', "")
    expect(_row(page, theirs)).to_have_count(1)
    expect(_row(page, order)).to_have_count(0)


def test_an_operator_cancels_from_the_order_page(operator_page, live_server, venue, trader):
    page = operator_page
    live = make_order(user=trader, account_code="ACC-1")
    drain(venue)
    queued = make_order(user=trader, account_code="ACC-1")

    page.goto(f"{live_server.url}/admin/orders/order/{queued.pk}/change/")
    page.click("#cancel-order")
    expect(page.locator(".messagelist")).to_contain_text("Order cancelled.")
    expect(page.locator("#cancel-order")).to_have_count(0)
    queued.refresh_from_db()
    assert (queued.status, queued.events.last().actor) == ("CANCELED", "desk-operator")

    page.goto(f"{live_server.url}/admin/orders/order/{live.pk}/change/")
    page.click("#cancel-order")
    expect(page.locator(".messagelist")).to_contain_text("Cancel sent to the venue.")
    live.refresh_from_db()
    assert live.status == "PENDING_CANCEL"
    cancel = VenueRequest.objects.get(order=live, kind="CANCEL")
    assert cancel.state == "QUEUED"

    drain(venue)  # sent, and the venue confirms; the page shows it on the next visit
    page.reload()
    expect(page.locator(".field-status .readonly")).to_have_text("Canceled")


def test_an_operator_cancels_from_the_order_list(operator_page, live_server, venue, trader):
    page = operator_page
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(2)]

    page.goto(f"{live_server.url}/admin/orders/order/")
    for order in orders:
        page.check(f'input[name="_selected_action"][value="{order.pk}"]')
    page.select_option('select[name="action"]', "cancel_selected_orders")
    page.click('button[name="index"]')

    expect(page.locator(".messagelist")).to_contain_text("Cancelled 2 order(s).")
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {
        "CANCELED"
    }
