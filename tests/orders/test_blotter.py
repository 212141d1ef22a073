"""The blotter's rows and the order page's cancel button, through Django's test client.
tests/browser/ drives the same pages in a real browser."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders import services
from tests.dispatch.conftest import drain
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client


def _rows(client, **filters):
    response = client.get(reverse("admin:orders_order_blotter_rows"), filters)
    assert response.status_code == 200
    return response.json()["rows"]


def test_blotter_lists_open_orders_with_fills_and_what_is_left(admin_client, trader,
                                                               in_process_venue):
    partly = make_order(user=trader, account_code="ACC-1", symbol="MSFT", quantity=Decimal("10"),
                        limit_price=Decimal("100"))
    drain(in_process_venue)
    partly.refresh_from_db()
    in_process_venue.emit(in_process_venue.book.fill(partly.venue_cl_ord_id, Decimal("4"),
                                                     Decimal("99.5")))
    in_process_venue.pump()
    queued = make_order(user=trader, account_code="ACC-1", symbol="AAPL")
    closed = make_order(user=trader, account_code="ACC-1")
    services.order_cancel(order_id=closed.pk, actor="trader")

    rows = {row["id"]: row for row in _rows(admin_client)}

    assert set(rows) == {str(partly.pk), str(queued.pk)}  # the cancelled one is not open
    row = rows[str(partly.pk)]
    assert (row["status"], row["quantity"], row["cumQty"], row["leavesQty"], row["avgPx"]) == (
        "PARTIALLY_FILLED", "10", "4", "6", "99.5"
    )
    assert (rows[str(queued.pk)]["cumQty"], rows[str(queued.pk)]["avgPx"]) == ("0", None)


def test_blotter_filters_by_venue_account_and_status(admin_client, trader, other_trader,
                                                     in_process_venue):
    mine = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    theirs = make_order(user=other_trader, account_code="ACC-2")

    assert [r["id"] for r in _rows(admin_client, account="ACC-2")] == [str(theirs.pk)]
    assert [r["id"] for r in _rows(admin_client, status="NEW")] == [str(mine.pk)]
    assert {r["id"] for r in _rows(admin_client, venue="XMOCK")} == {str(mine.pk),
                                                                      str(theirs.pk)}
    assert _rows(admin_client, venue="NOPE") == []


def test_blotter_page_renders_its_filters(admin_client, trader):
    make_order(user=trader, account_code="ACC-1")
    page = admin_client.get(reverse("admin:orders_order_blotter"), {"account": "ACC-1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="ACC-1" selected>' in html
    assert reverse("admin:orders_order_blotter_rows") in html


def test_blotter_is_for_staff_only(client, trader):
    client.force_login(trader)
    for name in ("admin:orders_order_blotter", "admin:orders_order_blotter_rows"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_cancel_button_cancels_a_queued_order_and_requests_a_live_ones(admin_client, trader,
                                                                        in_process_venue):
    live = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    queued = make_order(user=trader, account_code="ACC-1")

    page = admin_client.get(reverse("admin:orders_order_change", args=[queued.pk]))
    assert 'id="cancel-order"' in page.content.decode()
    for order in (queued, live):
        response = admin_client.post(reverse("admin:orders_order_cancel", args=[order.pk]))
        assert response.status_code == 302
        order.refresh_from_db()

    assert (queued.status, live.status) == ("CANCELED", "PENDING_CANCEL")
    assert queued.events.last().actor == "desk-operator"
    assert live.requests.filter(kind="CANCEL", state="QUEUED").count() == 1
    page = admin_client.get(reverse("admin:orders_order_change", args=[queued.pk]))
    assert 'id="cancel-order"' not in page.content.decode()  # nothing left to cancel


def test_cancel_button_needs_post_and_the_change_permission(admin_client, client, trader):
    order = make_order(user=trader, account_code="ACC-1")
    url = reverse("admin:orders_order_cancel", args=[order.pk])
    assert admin_client.get(url).status_code == 405
    client.force_login(trader)
    assert client.post(url).status_code == 302  # to the login page: not staff
    order.refresh_from_db()
    assert order.status == "QUEUED"
