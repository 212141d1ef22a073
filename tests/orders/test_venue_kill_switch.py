"""A venue's own kill switch, beside the global one: while it is on no NewOrderSingle or
replace to that venue leaves and new orders for it are refused; cancels go out, other venues
trade on, and the operator may cancel the venue's open orders with it."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order
from sessions.errors import TradingHalted
from sessions.models import SessionEvent
from sessions.services import venue_kill_switch_set
from tests.dispatch.conftest import drain, venue_live
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def halt(venue="XMOCK", **kwargs):
    venue_kill_switch_set(venue_code=venue, halted=True, reason="venue misbehaving",
                          actor="desk", **kwargs)


def test_nothing_new_leaves_for_a_halted_venue_but_cancels_do(trader, in_process_venue):
    live = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    queued = make_order(user=trader, account_code="ACC-1")

    halt()
    drain(in_process_venue)
    services.order_cancel(order_id=live.pk, actor="trader")
    drain(in_process_venue)

    assert [m[35] for m in in_process_venue.messages()] == ["D", "F"]
    live.refresh_from_db(), queued.refresh_from_db()
    assert (live.status, queued.status) == ("CANCELED", "QUEUED")

    venue_kill_switch_set(venue_code="XMOCK", halted=False, reason="", actor="desk")
    drain(in_process_venue)
    queued.refresh_from_db()
    assert queued.status == "NEW"  # sent once it was lifted


def test_new_orders_and_replaces_for_a_halted_venue_are_refused(trader, in_process_venue):
    live = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    halt()

    with pytest.raises(TradingHalted, match="XMOCK is halted"):
        make_order(user=trader, account_code="ACC-1")
    with pytest.raises(TradingHalted, match="venue misbehaving"):
        services.order_modify(order_id=live.pk, actor="trader", quantity=Decimal("11"))


def test_another_venue_trades_on(trader, in_process_venue):
    venue_live("XFAST")
    halt("XMOCK")
    order, created = services.order_create(
        user=trader, account_code="ACC-1", client_order_id="other-venue", venue_code="XFAST",
        terms=services.OrderTerms(symbol="AAPL", side="BUY", order_type="LIMIT",
                                  quantity=Decimal("1"), limit_price=Decimal("150"),
                                  stop_price=None, time_in_force="DAY"))
    assert created and order.status == "QUEUED"


def test_operators_halt_a_venue_through_the_api_and_may_cancel_its_open_orders(
        trader, trader_api, operator_api, in_process_venue, django_capture_on_commit_callbacks):
    mine = [make_order(user=trader, account_code="ACC-1") for _ in range(2)]
    drain(in_process_venue)
    url = "/api/v1/sessions/XMOCK"
    body = {"killSwitch": True, "killSwitchReason": "fat finger", "cancelOpenOrders": True}

    assert trader_api.patch(url, body, format="json").status_code == 403
    assert operator_api.patch(url, {"killSwitch": True}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.patch(url, body, format="json")

    assert response.status_code == 200, response.json()
    shown = response.json()
    assert (shown["killSwitch"], shown["killSwitchReason"], shown["isOpen"]) == (
        True, "fat finger", False)
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in mine])} == {
        "PENDING_CANCEL"}
    event = SessionEvent.objects.filter(session_id="XMOCK").order_by("id").last()
    assert (event.actor, event.data["after"]) == (
        "desk-operator", {"kill_switch": True, "kill_switch_reason": "fat finger"})
    refused = trader_api.post("/api/v1/orders", {
        "clientOrderId": "after-halt", "accountId": "ACC-1", "symbol": "AAPL", "side": "BUY",
        "orderType": "LIMIT", "quantity": 1, "limitPrice": "150", "timeInForce": "DAY",
    }, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "trading_halted"
