import re
from decimal import Decimal

import pytest
from django.urls import reverse

from dispatch.drain import dispatch_drain
from orders import services
from orders.models import Order
from tests.dispatch.conftest import drain
from tests.factories import make_order
from venues.services import venue_put

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client


def _change_form(order: Order, **changes) -> dict:
    form = {
        "quantity": str(order.quantity),
        "limit_price": "" if order.limit_price is None else str(order.limit_price),
        "stop_price": "" if order.stop_price is None else str(order.stop_price),
        "children-TOTAL_FORMS": "0", "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0", "children-MAX_NUM_FORMS": "1000",
        "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0", "events-MAX_NUM_FORMS": "1000",
        "requests-TOTAL_FORMS": "0", "requests-INITIAL_FORMS": "0",
        "requests-MIN_NUM_FORMS": "0", "requests-MAX_NUM_FORMS": "1000",
        "fills-TOTAL_FORMS": "0", "fills-INITIAL_FORMS": "0",
        "fills-MIN_NUM_FORMS": "0", "fills-MAX_NUM_FORMS": "1000",
        "execution_reports-TOTAL_FORMS": "0", "execution_reports-INITIAL_FORMS": "0",
        "execution_reports-MIN_NUM_FORMS": "0", "execution_reports-MAX_NUM_FORMS": "1000",
    }
    form.update(changes)
    return form


def test_changelist_filters_and_search(admin_client, trader):
    order = make_order(user=trader, account_code="ACC-1", symbol="NVDA")
    make_order(user=trader, account_code="ACC-1", symbol="MSFT")
    url = reverse("admin:orders_order_changelist")

    assert admin_client.get(url).status_code == 200
    filtered = admin_client.get(url, {"symbol": "NVDA", "status__exact": "QUEUED"})
    assert list(filtered.context["cl"].queryset) == [order]
    searched = admin_client.get(url, {"q": str(order.pk)})
    assert list(searched.context["cl"].queryset) == [order]
    searched = admin_client.get(url, {"q": order.client_order_id})
    assert list(searched.context["cl"].queryset) == [order]


def _cells(response, column: str) -> list[str]:
    """The text of one column's cells in the order list, top to bottom."""
    html = response.content.decode()
    return re.findall(rf'<t[dh] class="field-{column}[^"]*">(?:<a [^>]*>)?([^<]*)', html)


def test_order_list_shows_the_operators_columns_without_trailing_zeros(
        admin_client, trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1", symbol="MSFT",
                       quantity=Decimal("10"), limit_price=Decimal("150.25"))
    drain(in_process_venue)
    order.refresh_from_db()
    in_process_venue.emit(in_process_venue.book.fill(
        order.venue_cl_ord_id, Decimal("4"), Decimal("150.25")))
    in_process_venue.pump()

    response = admin_client.get(reverse("admin:orders_order_changelist"))

    assert response.status_code == 200
    # Few columns, status, venue, cumQty and creation time among them, so a row fits.
    assert list(response.context["cl"].list_display)[1:] == [
        "created_at", "client_order_id", "account", "symbol", "side", "qty", "cum_qty",
        "price", "status", "venue",
    ]
    assert _cells(response, "qty") == ["10"]
    assert _cells(response, "cum_qty") == ["4"]
    assert _cells(response, "price") == ["150.25"]
    assert _cells(response, "status") == ["Partially Filled"]
    assert _cells(response, "venue") == ["XMOCK"]
    assert "10.000000" not in response.content.decode()
    # Cancel is an action on the list.
    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert "cancel_selected_orders" in actions


def test_order_list_filters_by_venue_and_account(admin_client, operator, trader,
                                                 other_trader):
    mine = make_order(user=trader, account_code="ACC-1")
    theirs = make_order(user=other_trader, account_code="ACC-2")
    # Django shows a related filter only when there is a choice to make.
    venue_put(code="XOTHER", actor="tests", replace=True)
    url = reverse("admin:orders_order_changelist")

    response = admin_client.get(url)
    titles = {str(spec.title) for spec in response.context["cl"].filter_specs}
    by_account = admin_client.get(url, {"account__code__exact": "ACC-2"})
    by_venue = admin_client.get(url, {"venue__code__exact": "XMOCK"})
    by_other_venue = admin_client.get(url, {"venue__code__exact": "XOTHER"})

    assert {"venue", "account", "status"} <= titles
    assert list(by_account.context["cl"].queryset) == [theirs]
    assert set(by_venue.context["cl"].queryset) == {mine, theirs}
    assert list(by_other_venue.context["cl"].queryset) == []


def test_order_page_has_a_cancel_button_and_plain_decimals(admin_client, trader):
    order = make_order(user=trader, account_code="ACC-1", quantity=Decimal("10"),
                       limit_price=Decimal("150.25"))
    url = reverse("admin:orders_order_change", args=[order.pk])

    page = admin_client.get(url)
    html = page.content.decode()

    assert 'id="cancel-order"' in html
    assert reverse("admin:orders_order_cancel", args=[order.pk]) in html
    assert 'name="quantity" value="10"' in html
    assert 'name="limit_price" value="150.25"' in html
    assert '<div class="readonly">0</div>' in html  # cumQty
    cancelled = admin_client.post(reverse("admin:orders_order_cancel", args=[order.pk]),
                                  follow=True)
    order.refresh_from_db()
    assert order.status == "CANCELED"
    assert 'id="cancel-order"' not in cancelled.content.decode()


def test_editing_price_and_quantity_goes_through_the_service(admin_client, trader):
    order = make_order(user=trader, account_code="ACC-1")
    url = reverse("admin:orders_order_change", args=[order.pk])

    response = admin_client.post(url, _change_form(order, quantity="25", limit_price="149.5"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert (order.quantity, order.limit_price) == (Decimal("25"), Decimal("149.5"))
    event = order.events.last()
    assert (event.type, event.actor) == ("MODIFIED", "desk-operator")


def test_admin_edit_applies_the_api_rules(admin_client, trader):
    order = make_order(user=trader, account_code="ACC-1")
    url = reverse("admin:orders_order_change", args=[order.pk])

    missing_price = admin_client.post(url, _change_form(order, limit_price=""))
    too_big = admin_client.post(url, _change_form(order, quantity="500000"), follow=True)

    assert missing_price.status_code == 200  # the form comes back with errors
    assert "limit_price" in missing_price.context["adminform"].form.errors
    # Pre-trade risk refuses the change as it refuses it from the API.
    shown = [str(m) for m in too_big.context["messages"]]
    assert any("Not modified" in m and "100000" in m for m in shown), shown
    order.refresh_from_db()
    assert (order.quantity, order.limit_price) == (Decimal("10"), Decimal("150.25"))
    assert order.events.count() == 1


def test_admin_cannot_edit_an_order_whose_new_is_on_the_wire(admin_client, trader,
                                                              in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)  # claimed: possibly on the wire
    url = reverse("admin:orders_order_change", args=[order.pk])

    response = admin_client.post(url, _change_form(order, quantity="1"))

    assert response.status_code == 200
    assert "cannot be modified now" in str(response.context["adminform"].form.errors)
    order.refresh_from_db()
    assert order.quantity == Decimal("10")


def test_admin_edit_of_a_live_order_requests_a_replace(admin_client, trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    url = reverse("admin:orders_order_change", args=[order.pk])

    admin_client.post(url, _change_form(order, quantity="12"))

    order.refresh_from_db()
    assert (order.status, order.quantity) == ("PENDING_REPLACE", Decimal("10"))
    modify = order.requests.get(kind="MODIFY")
    assert (modify.state, modify.quantity) == ("QUEUED", Decimal("12"))


def test_status_is_read_only_in_the_admin(admin_client, trader):
    order = make_order(user=trader, account_code="ACC-1")
    url = reverse("admin:orders_order_change", args=[order.pk])

    admin_client.post(url, _change_form(order, status="FILLED"))

    order.refresh_from_db()
    assert order.status == "QUEUED"


def test_cancel_action_cancels_and_reports_what_it_could_not(admin_client, trader,
                                                             in_process_venue):
    live = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    queued = make_order(user=trader, account_code="ACC-1")
    closed = make_order(user=trader, account_code="ACC-1")
    services.order_cancel(order_id=closed.pk, actor="trader")

    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel_selected_orders",
         "_selected_action": [queued.pk, live.pk, closed.pk]},
        follow=True,
    )

    for order in (queued, live, closed):
        order.refresh_from_db()
    assert (queued.status, live.status, closed.status) == (
        "CANCELED", "PENDING_CANCEL", "CANCELED"
    )
    assert queued.events.last().actor == "desk-operator"
    assert live.requests.filter(kind="CANCEL", state="QUEUED").count() == 1
    assert live.events.last().type == "CANCEL_REQUESTED"  # through order_cancel
    shown = [str(m) for m in response.context["messages"]]
    assert any("Cancelled 1 order" in m for m in shown), shown
    assert any("Cancel sent to the venue for 1 live order" in m for m in shown), shown
    assert any(str(closed.pk) in m and "Not cancelled" in m for m in shown)


def test_venue_requests_are_visible_and_read_only(admin_client, trader):
    order = make_order(user=trader, account_code="ACC-1")
    request = order.requests.get()

    changelist = admin_client.get(reverse("admin:dispatch_venuerequest_changelist"))
    detail = admin_client.get(reverse("admin:dispatch_venuerequest_change", args=[request.pk]))
    order_page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert changelist.status_code == detail.status_code == order_page.status_code == 200
    assert str(request.request_id) in detail.content.decode()
    assert admin_client.post(
        reverse("admin:dispatch_venuerequest_change", args=[request.pk]), {"state": "ANSWERED"}
    ).status_code == 403
    request.refresh_from_db()
    assert request.state == "QUEUED"


def test_client_users_have_no_admin(client, trader):
    client.force_login(trader)

    response = client.get(reverse("admin:orders_order_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
