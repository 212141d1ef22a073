"""BEST_PRICE: the consolidated book of the usable venues, taken best effective price first
(fees included, then latency, then code), the remainder where it does most good."""

from decimal import Decimal

import pytest

from routing import plan_route
from tests.routing.views import buy, d, sell, sliced, view


@pytest.mark.parametrize("limit", ["100.01", None])  # LIMIT at 100.01, or MARKET
def test_the_issues_example_best_level_first_then_the_next(limit):
    venues = [view("XB", asks=[("100.01", 800)], taker="0.003"),
              view("XA", asks=[("100.00", 300)], taker="0.003")]

    plan = plan_route(buy(1000, limit), venues)

    assert sliced(plan) == [("XA", 300), ("XB", 700)]
    assert plan.unrouted == 0


def test_a_cheaper_quote_that_is_dearer_to_take_comes_second():
    # XA: 100.00 + 0.02 = 100.02 a share; XB: 100.01 + 0 = 100.01.
    venues = [view("XA", asks=[("100.00", 100)], taker="0.02"),
              view("XB", asks=[("100.01", 100)], taker="0")]

    plan = plan_route(buy(150, "100.05"), venues)

    assert sliced(plan) == [("XB", 100), ("XA", 50)]
    assert [level["venue"] for level in plan.audit["levels"]] == ["XB", "XA"]
    assert plan.audit["levels"][1]["effective"] == "100.02"


def test_a_sell_gets_the_price_less_the_fee():
    # XA: 100.02 - 0.02 = 100.00 a share; XB: 100.01 - 0 = 100.01.
    venues = [view("XA", bids=[("100.02", 100)], taker="0.02"),
              view("XB", bids=[("100.01", 100)], taker="0")]

    assert sliced(plan_route(sell(150, "100.00"), venues)) == [("XB", 100), ("XA", 50)]


def test_at_the_same_effective_price_the_quicker_venue_comes_first():
    venues = [view("XA", asks=[("100.00", 100)], latency=20.0),
              view("XB", asks=[("100.00", 100)], latency=1.0)]

    assert sliced(plan_route(buy(150, "100.00"), venues)) == [("XB", 100), ("XA", 50)]


def test_at_the_same_price_and_latency_the_code_decides():
    venues = [view("XB", asks=[("100.00", 100)]), view("XA", asks=[("100.00", 100)])]

    assert sliced(plan_route(buy(150, "100.00"), venues)) == [("XA", 100), ("XB", 50)]


def test_the_limit_bounds_the_raw_price_not_the_effective_one():
    # XA's 100.02 is better after its rebate (100.00) but above the limit: not taken.
    venues = [view("XA", asks=[("100.02", 500)], taker="-0.02"),
              view("XB", asks=[("100.01", 100)])]

    plan = plan_route(buy(100, "100.01", tif="IOC"), venues)

    assert sliced(plan) == [("XB", 100)]


def test_the_levels_of_one_venue_make_one_slice_first_where_it_was_first_taken():
    venues = [view("XA", asks=[("100.00", 100), ("100.02", 100)]),
              view("XB", asks=[("100.01", 100)])]

    plan = plan_route(buy(300, "100.05"), venues)

    assert sliced(plan) == [("XA", 200), ("XB", 100)]
    assert [(level["venue"], level["price"], level["quantity"])
            for level in plan.audit["levels"]] == [
        ("XA", "100", "100"), ("XB", "100.01", "100"), ("XA", "100.02", "100")]


def test_a_quote_without_a_book_is_its_top_with_its_size():
    venues = [view("XA", ask="100.00", ask_size=40), view("XB", asks=[("100.01", 100)])]

    assert sliced(plan_route(buy(100, "100.01"), venues)) == [("XA", 40), ("XB", 60)]


def test_a_day_or_gtc_remainder_rests_where_adding_liquidity_costs_least():
    venues = [view("XA", asks=[("100.00", 300)], maker="-0.002"),
              view("XB", asks=[("100.01", 100)], maker="-0.0032", latency=30.0),
              view("XC", asks=[("100.02", 100)], maker="-0.001")]

    for tif in ("DAY", "GTC"):
        plan = plan_route(buy(1000, "100.00", tif=tif), venues)

        assert sliced(plan) == [("XA", 300), ("XB", 700)]
        assert "XB has the lowest maker fee (-0.0032)" in plan.audit["why"]


def test_the_remainder_merges_into_the_slice_its_venue_already_has():
    venues = [view("XA", asks=[("100.00", 300)], maker="-0.003"),
              view("XB", asks=[("100.00", 100)], maker="-0.001")]

    assert sliced(plan_route(buy(1000, "100.00"), venues)) == [("XA", 900), ("XB", 100)]


def test_equal_maker_fees_rest_at_the_quicker_venue_then_by_code():
    venues = [view("XB", asks=[("101", 10)], latency=2.0), view("XA", asks=[("101", 10)],
                                                                latency=9.0)]
    assert sliced(plan_route(buy(10, "100"), venues)) == [("XB", 10)]

    venues = [view("XB", asks=[("101", 10)]), view("XA", asks=[("101", 10)])]
    assert sliced(plan_route(buy(10, "100"), venues)) == [("XA", 10)]


@pytest.mark.parametrize("limit,tif", [("100.00", "IOC"), (None, "DAY"), (None, "IOC")])
def test_an_ioc_or_market_remainder_goes_to_the_best_effective_top_of_book(limit, tif):
    # Effective tops: XA 100.02, XB 100.01, XC 100.03; XC would rest cheapest.
    venues = [view("XA", asks=[("100.00", 300)], taker="0.02"),
              view("XB", asks=[("100.01", 100)], taker="0"),
              view("XC", asks=[("100.02", 100)], taker="0.01", maker="-0.01")]

    plan = plan_route(buy(1000, limit, tif=tif), venues)

    if limit is None:  # a MARKET order takes every level first
        assert sliced(plan) == [("XB", 600), ("XA", 300), ("XC", 100)]
    else:
        assert sliced(plan) == [("XA", 300), ("XB", 700)]
    assert "XB" in plan.audit["why"]


def test_an_ioc_limit_remainder_goes_to_the_best_top_even_beyond_the_limit():
    venues = [view("XA", asks=[("100.00", 300)], taker="0.003"),
              view("XB", asks=[("100.05", 100)], taker="0")]

    plan = plan_route(buy(1000, "100.00", tif="IOC"), venues)

    assert sliced(plan) == [("XA", 1000)]  # XA's top 100.003 beats XB's 100.05


def test_sweep_only_takes_what_is_displayed_and_leaves_the_rest_unrouted():
    venues = [view("XA", asks=[("100.00", 300)]), view("XB", asks=[("100.01", 800)])]

    plan = plan_route(buy(1000, "100.00", tif="IOC", sweep_only=True), venues)

    assert sliced(plan) == [("XA", 300)]
    assert plan.unrouted == 700
    assert plan.audit["unrouted"] == "700"


def test_sweep_only_with_nothing_within_the_limit_is_an_empty_plan_not_an_error():
    venues = [view("XA", asks=[("100.05", 300)])]

    plan = plan_route(buy(1000, "100.00", tif="IOC", sweep_only=True), venues)

    assert plan.slices == ()
    assert plan.unrouted == 1000


def test_fractional_quantities_are_routed_exactly():
    venues = [view("XA", asks=[("100.00", "0.333333")]), view("XB", asks=[("100.01", 5)])]

    plan = plan_route(buy("1.000001", "100.01"), venues)

    assert sliced(plan) == [("XA", d("0.333333")), ("XB", d("0.666668"))]
    assert sum(piece.quantity for piece in plan.slices) == Decimal("1.000001")


# --- FOK: one venue, the whole quantity -----------------------------------------------------


def test_fok_goes_whole_to_the_best_fill_price_among_the_venues_that_cover_it():
    # XA's top is best but it shows 300; XB and XC cover 500: XB at 100.02 all in, XC at
    # (400 x 100.01 + 100 x 100.03) / 500 = 100.014 plus a fee of 0.001 = 100.015.
    venues = [view("XA", asks=[("100.00", 300)]),
              view("XB", asks=[("100.02", 500)]),
              view("XC", asks=[("100.01", 400), ("100.03", 100)], taker="0.001")]

    plan = plan_route(buy(500, "100.05", tif="FOK"), venues)

    assert sliced(plan) == [("XC", 500)]
    assert plan.audit["fillPrices"] == {"XB": "100.02", "XC": "100.015"}


def test_fok_without_a_venue_that_covers_it_goes_where_most_is_displayed():
    venues = [view("XA", asks=[("100.00", 300)]),
              view("XB", asks=[("100.01", 350), ("100.10", 1000)])]

    plan = plan_route(buy(500, "100.05", tif="FOK"), venues)

    assert sliced(plan) == [("XB", 500)]  # 350 within the limit beats XA's 300
    assert plan.audit["displayed"] == {"XA": "300", "XB": "350"}


def test_fok_sell_prefers_the_highest_fill_price():
    venues = [view("XA", bids=[("99.99", 500)]), view("XB", bids=[("100.00", 500)])]

    assert sliced(plan_route(sell(500, "99.90", tif="FOK"), venues)) == [("XB", 500)]


# --- stops: they trigger later, so one venue -----------------------------------------------


@pytest.mark.parametrize("order_type,limit", [("STOP", None), ("STOP_LIMIT", "101")])
def test_a_stop_goes_whole_to_the_best_effective_top_of_book(order_type, limit):
    venues = [view("XA", asks=[("100.00", 10)], taker="0.02"),
              view("XB", asks=[("100.01", 10)])]

    plan = plan_route(buy(500, limit, order_type=order_type), venues)

    assert sliced(plan) == [("XB", 500)]
    assert "levels" not in plan.audit  # no sweep
