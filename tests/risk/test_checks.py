"""Each pre-trade check at its boundary: just inside passes, just outside is refused with its
own code, and nothing is written for a refused order."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order
from risk.errors import RiskRefused
from risk.services import risk_limits_update
from tests.dispatch.conftest import drain
from tests.factories import make_order

pytestmark = pytest.mark.django_db
D = Decimal


def refused(code: str, **order) -> RiskRefused:
    before = Order.objects.count()
    with pytest.raises(RiskRefused) as caught:
        place(**order)
    assert caught.value.code == code, caught.value.message
    assert Order.objects.count() == before  # nothing written
    return caught.value


def place(user=None, account="ACC-1", **terms):
    from django.contrib.auth import get_user_model

    user = user or get_user_model().objects.get(username="trader")
    return make_order(user=user, account_code=account, **terms)


def limit(**limits):
    risk_limits_update(account="ACC-1", actor="desk", **limits)


def test_quantity_and_notional_caps(trader):
    limit(max_order_quantity=D("100"), max_order_notional=D("1000"))
    place(quantity=D("100"), limit_price=D("10"))  # notional 1,000: at the cap
    refused("risk_max_order_quantity", quantity=D("100.000001"), limit_price=D("1"))
    refused("risk_max_order_notional", quantity=D("100"), limit_price=D("10.00000001"))


def test_defaults_apply_to_every_account_and_an_accounts_own_override_them(trader,
                                                                           other_trader):
    risk_limits_update(account="*", actor="desk", max_order_quantity=D("5"))
    refused("risk_max_order_quantity", quantity=D("6"))
    limit(max_order_quantity=D("50"))
    place(quantity=D("6"))  # ACC-1's own limit
    refused("risk_max_order_quantity", user=other_trader, account="ACC-2", quantity=D("6"))
    limit(max_order_quantity=None)  # inherits the defaults again
    refused("risk_max_order_quantity", quantity=D("6"))


def test_a_limit_price_outside_the_band_around_the_mid_is_refused(trader, quotes):
    quotes("XMOCK", "AAPL", bid="99", ask="101")  # mid 100
    limit(price_band_percent=D("5"))
    place(limit_price=D("105"))
    place(limit_price=D("95"))
    error = refused("risk_price_band", limit_price=D("105.00000001"))
    assert "95" in error.message and "105" in error.message
    refused("risk_price_band", limit_price=D("94.99999999"))


def test_without_a_fresh_quote_a_limit_price_is_not_banded(trader, quotes):
    quotes("XMOCK", "AAPL", bid="99", ask="101", age=60)  # stale
    limit(price_band_percent=D("5"))
    place(limit_price=D("500"))


def test_a_market_order_is_valued_at_the_far_side_widened_by_the_band(trader, quotes):
    quotes("XMOCK", "AAPL", bid="99", ask="100")
    limit(price_band_percent=D("5"), max_order_notional=D("1050"))  # 10 x 105
    place(order_type="MARKET", limit_price=None, quantity=D("10"))
    refused("risk_max_order_notional", order_type="MARKET", limit_price=None,
            quantity=D("10.000001"))
    # Selling is valued at the bid: 10 x 99 x 1.05 = 1,039.5.
    place(order_type="MARKET", limit_price=None, side="SELL", quantity=D("10.1"))


def test_a_market_order_without_a_market_price_is_refused(trader):
    refused("risk_no_market_price", order_type="MARKET", limit_price=None)


def test_max_position_counts_fills_and_open_orders_on_the_same_side(trader, in_process_venue):
    limit(max_position=D("100"))
    bought = place(quantity=D("60"), limit_price=D("1"))
    drain(in_process_venue)
    bought.refresh_from_db()
    in_process_venue.emit(in_process_venue.book.fill(bought.venue_cl_ord_id, D("60"), D("1")))
    in_process_venue.pump()
    place(quantity=D("30"), limit_price=D("1"))  # open: 60 filled + 30 open = 90
    place(quantity=D("10"), limit_price=D("1"))  # 100: at the limit
    refused("risk_max_position", quantity=D("0.000001"), limit_price=D("1"))
    # Selling takes the position down: 60 filled - 160 sold = -100, at the limit short.
    place(side="SELL", quantity=D("160"), limit_price=D("1"))
    refused("risk_max_position", side="SELL", quantity=D("0.000001"), limit_price=D("1"))


def test_a_cancelled_order_gives_its_position_room_back(trader):
    limit(max_position=D("10"))
    first = place(quantity=D("10"))
    refused("risk_max_position", quantity=D("1"))
    services.order_cancel(order_id=first.pk, actor="trader")
    place(quantity=D("10"))


def test_buying_power_is_reserved_by_open_orders_used_by_fills_released_by_cancels(
        trader, in_process_venue):
    limit(buying_power=D("1000"))
    order = place(quantity=D("6"), limit_price=D("100"))  # reserves 600
    refused("risk_buying_power", quantity=D("4.000001"), limit_price=D("100"))
    drain(in_process_venue)
    order.refresh_from_db()
    # A fill at 90: 2 x 90 = 180 used, 4 x 100 = 400 still reserved: 420 left.
    in_process_venue.emit(in_process_venue.book.fill(order.venue_cl_ord_id, D("2"), D("90")))
    in_process_venue.pump()
    refused("risk_buying_power", quantity=D("4.21"), limit_price=D("100"))
    services.order_cancel(order_id=order.pk, actor="trader")
    drain(in_process_venue)  # the venue confirms: the 400 reserved is released
    order.refresh_from_db()
    assert order.status == "CANCELED"
    place(quantity=D("8.2"), limit_price=D("100"))  # 1,000 - 180 used = 820
    refused("risk_buying_power", quantity=D("0.01"), limit_price=D("100"))


def test_order_rate_per_account(trader, other_trader):
    limit(max_orders_per_second=3)
    for _ in range(3):
        place()
    refused("risk_order_rate")
    place(user=other_trader, account="ACC-2")  # another account has its own rate


def test_the_same_terms_again_within_the_window_are_refused_but_a_replay_is_answered(trader):
    limit(duplicate_window_seconds=60)
    first = place(client_order_id="dup-1")
    refused("risk_duplicate_order", client_order_id="dup-2")
    place(client_order_id="dup-3", quantity=D("11"))  # different terms
    replay, created = services.order_create(
        user=trader, account_code="ACC-1", client_order_id="dup-1",
        terms=services.OrderTerms(symbol="AAPL", side="BUY", order_type="LIMIT",
                                  quantity=D("10"), limit_price=D("150.25"), stop_price=None,
                                  time_in_force="DAY"))
    assert (replay.pk, created) == (first.pk, False)


def test_an_account_kill_switch_refuses_new_orders_and_changes(trader, other_trader):
    order = place()
    limit(halted=True, halt_reason="desk says stop")
    error = refused("risk_account_halted")
    assert "desk says stop" in error.message
    with pytest.raises(RiskRefused):
        services.order_modify(order_id=order.pk, actor="trader", quantity=D("11"))
    services.order_cancel(order_id=order.pk, actor="trader")  # taking risk off still works
    place(user=other_trader, account="ACC-2")
    limit(halted=False)
    place()


def test_a_modify_is_checked_for_what_it_adds(trader):
    limit(max_position=D("15"))
    order = place(quantity=D("10"))
    with pytest.raises(RiskRefused) as caught:
        services.order_modify(order_id=order.pk, actor="trader", quantity=D("16"))
    assert caught.value.code == "risk_max_position"
    services.order_modify(order_id=order.pk, actor="trader", quantity=D("15"))


def test_an_order_waiting_for_a_larger_replace_counts_with_the_larger_quantity(
        trader, in_process_venue):
    limit(max_position=D("15"))
    order = place(quantity=D("10"))
    drain(in_process_venue)
    services.order_modify(order_id=order.pk, actor="trader", quantity=D("15"))
    order.refresh_from_db()
    assert order.status == "PENDING_REPLACE"  # the venue may still accept 15
    refused("risk_max_position", quantity=D("1"))
