"""Which venues may get a child: not skipped, not excluded, a fresh quote, and no trade
against the account's own resting orders. With none: NoRoute, each venue's reason."""

import json

import pytest

from omsproject.errors import domain_error_body
from routing import NoRoute, plan_route
from tests.routing.views import buy, d, sell, sliced, view

BOOK = {"asks": [("100.00", 1000)], "bids": [("99.99", 1000)]}


def test_a_skipped_excluded_quoteless_or_stale_venue_gets_nothing_and_says_why():
    venues = [view("XA", skip="kill switch", **BOOK), view("XB", **BOOK),
              view("XC", quote_=None), view("XD", stale=True, age=7.25, **BOOK),
              view("XE", **BOOK)]

    plan = plan_route(buy(1500, "100.00", exclude=frozenset({"XB"})), venues)

    assert sliced(plan) == [("XE", 1500)]
    assert {entry["venue"]: entry["skip"] for entry in plan.audit["venues"]} == {
        "XA": "kill switch", "XB": "excluded", "XC": "no quote",
        "XD": "stale quote (7.2 s old)", "XE": ""}


def test_no_usable_venue_is_no_route_with_each_venues_reason():
    venues = [view("XA", skip="closed", **BOOK), view("XB", skip="backlog 812 > 200", **BOOK),
              view("XC", quote_=None)]

    with pytest.raises(NoRoute) as caught:
        plan_route(buy(10, "100.00"), venues)

    error = caught.value
    assert (error.status_code, error.code) == (422, "routing_no_venue")
    assert error.details == {"XA": "closed", "XB": "backlog 812 > 200", "XC": "no quote"}
    body = domain_error_body(error)  # the one error format
    assert body["code"] == "routing_no_venue"
    assert body["details"] == {"XA": "closed", "XB": "backlog 812 > 200", "XC": "no quote"}
    assert "XB: backlog 812 > 200" in body["message"]


def test_every_venue_closed_is_still_no_route():
    with pytest.raises(NoRoute) as caught:
        plan_route(buy(10, "100.00"), [view("XA", skip="closed"), view("XB", skip="closed")])

    assert set(caught.value.details.values()) == {"closed"}


def test_no_venues_at_all_is_no_route():
    with pytest.raises(NoRoute):
        plan_route(buy(10, "100.00"), [])


def test_a_directed_order_is_not_routed_here():
    with pytest.raises(ValueError, match="DIRECTED"):
        plan_route(buy(10, "100.00", policy="DIRECTED"), [view("XA", **BOOK)])


# --- self-trade prevention -------------------------------------------------------------------


@pytest.mark.parametrize("own_price,skip", [
    ("100.00", "self-trade: own SELL 100 resting"),
    ("99.50", "self-trade: own SELL 99.5 resting"),
    (None, "self-trade: own SELL without a limit resting"),  # a market or stop order
    ("100.01", ""),
])
def test_a_buy_skips_a_venue_where_an_own_sell_rests_at_or_below_its_limit(own_price, skip):
    venues = [view("XA", **BOOK), view("XB", asks=[("100.00", 1000)], latency=50.0)]
    own = (("XA", "SELL", None if own_price is None else d(own_price)),)

    plan = plan_route(buy(10, "100.00", own_resting=own), venues)

    assert sliced(plan) == ([("XB", 10)] if skip else [("XA", 10)])
    assert plan.audit["venues"][0]["skip"] == skip


def test_a_market_buy_skips_any_venue_where_an_own_sell_rests():
    own = (("XA", "SELL", d("250")),)

    plan = plan_route(buy(10, own_resting=own), [view("XA", **BOOK), view("XB", **BOOK)])

    assert sliced(plan) == [("XB", 10)]


def test_a_sell_skips_a_venue_where_an_own_buy_rests_at_or_above_its_limit():
    venues = [view("XA", **BOOK), view("XB", **BOOK)]
    crossing = (("XA", "BUY", d("99.99")),)
    resting_below = (("XA", "BUY", d("99.98")),)

    assert sliced(plan_route(sell(10, "99.99", own_resting=crossing), venues)) == [("XB", 10)]
    assert sliced(plan_route(sell(10, "99.99", own_resting=resting_below),
                             venues)) == [("XA", 10)]


def test_own_orders_on_the_same_side_or_elsewhere_do_not_count():
    own = (("XA", "BUY", d("100")), ("XB", "SELL", d("1")))

    plan = plan_route(buy(10, "100.00", own_resting=own), [view("XA", **BOOK)])

    assert sliced(plan) == [("XA", 10)]


def test_self_trade_everywhere_is_no_route():
    own = (("XA", "SELL", d("100")),)

    with pytest.raises(NoRoute) as caught:
        plan_route(buy(10, "100.00", own_resting=own), [view("XA", **BOOK)])

    assert caught.value.details == {"XA": "self-trade: own SELL 100 resting"}
    json.dumps(domain_error_body(caught.value))
