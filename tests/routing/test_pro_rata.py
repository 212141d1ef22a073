"""PRO_RATA: each usable venue a share in proportion to what it displays within the limit;
whole shares for a whole quantity, the leftover units to the largest displayed sizes."""

import pytest

from routing import plan_route
from tests.routing.views import buy, d, sell, sliced, view


def pro_rata(request_maker, *args, **terms):
    return request_maker(*args, policy="PRO_RATA", **terms)


def test_the_shares_follow_the_displayed_sizes_within_the_limit():
    venues = [view("XA", asks=[("100.00", 300), ("100.01", 100)]),  # 400 within 100.01
              view("XB", asks=[("100.01", 600), ("100.02", 5000)])]  # 600 within

    plan = plan_route(pro_rata(buy, 500, "100.01"), venues)

    assert sliced(plan) == [("XA", 200), ("XB", 300)]
    assert plan.audit["displayed"] == {"XA": "400", "XB": "600"}
    assert plan.audit["weights"] == {"XA": "0.4", "XB": "0.6"}


def test_a_market_order_counts_every_level():
    venues = [view("XA", bids=[("100.00", 100), ("99.00", 100)]),
              view("XB", bids=[("99.50", 200)])]

    plan = plan_route(pro_rata(sell, 100), venues)

    assert sorted(sliced(plan)) == [("XA", 50), ("XB", 50)]


def test_whole_shares_and_the_leftover_to_the_largest_displayed_then_by_code():
    # 100 x 1/3 each: 33 each and one left over; the sizes tie, so the code decides.
    venues = [view(code, asks=[("100.00", 300)]) for code in ("XC", "XA", "XB")]

    plan = plan_route(pro_rata(buy, 100, "100.00"), venues)

    assert dict(sliced(plan)) == {"XA": 34, "XB": 33, "XC": 33}
    assert all(piece.quantity == piece.quantity.to_integral_value() for piece in plan.slices)


def test_the_leftover_goes_to_the_largest_displayed_first():
    venues = [view("XA", asks=[("100.00", 100)]), view("XB", asks=[("100.00", 200)]),
              view("XC", asks=[("100.00", 400)])]

    # 10 x (1/7, 2/7, 4/7) = 1.43, 2.86, 5.71: 1, 2, 5 and two left: XC, then XB.
    assert dict(sliced(plan_route(pro_rata(buy, 10, "100.00"), venues))) == {
        "XA": 1, "XB": 3, "XC": 6}


def test_a_fractional_quantity_is_split_to_six_places():
    venues = [view(code, asks=[("100.00", 100)]) for code in ("XA", "XB", "XC")]

    plan = plan_route(pro_rata(buy, "1.5", "100.00"), venues)

    assert dict(sliced(plan)) == {"XA": d("0.5"), "XB": d("0.5"), "XC": d("0.5")}
    plan = plan_route(pro_rata(buy, "0.000002", "100.00"), venues)
    assert dict(sliced(plan)) == {"XA": d("0.000001"), "XB": d("0.000001")}  # no zero slice


def test_slices_are_best_first_and_zero_shares_are_dropped():
    venues = [view("XA", asks=[("100.01", 1)]), view("XB", asks=[("100.00", 999)]),
              view("XC", asks=[("100.05", 500)])]  # beyond the limit: nothing displayed

    plan = plan_route(pro_rata(buy, 10, "100.01"), venues)

    assert sliced(plan) == [("XB", 10)]  # XA's share, 0.01, rounds down to nothing


def test_nothing_displayed_within_the_limit_goes_whole_to_the_best_top_of_book():
    venues = [view("XA", asks=[("100.05", 100)], taker="0.02"),
              view("XB", asks=[("100.06", 100)])]

    assert sliced(plan_route(pro_rata(buy, 10, "100.00"), venues)) == [("XB", 10)]


def test_nothing_displayed_at_all_goes_whole_where_resting_costs_least():
    venues = [view("XA", maker="-0.001"), view("XB", maker="-0.003")]

    plan = plan_route(pro_rata(buy, 10, "100.00"), venues)

    assert sliced(plan) == [("XB", 10)]
    assert "XB has the lowest maker fee (-0.003)" in plan.audit["why"]


def test_sweep_only_splits_no_more_than_is_displayed():
    venues = [view("XA", asks=[("100.00", 30)]), view("XB", asks=[("100.00", 10)])]

    plan = plan_route(pro_rata(buy, 100, "100.00", tif="IOC", sweep_only=True), venues)

    assert dict(sliced(plan)) == {"XA": 30, "XB": 10}
    assert plan.unrouted == 60

    empty = plan_route(pro_rata(buy, 100, "99.00", tif="IOC", sweep_only=True), venues)
    assert (empty.slices, empty.unrouted) == ((), 100)


@pytest.mark.parametrize("order_type,limit,tif", [("LIMIT", "100.05", "FOK"),
                                                  ("STOP", None, "DAY")])
def test_fok_and_stops_go_to_one_venue_as_best_price_sends_them(order_type, limit, tif):
    venues = [view("XA", asks=[("100.00", 1000)], taker="0.02"),
              view("XB", asks=[("100.01", 1000)])]

    plan = plan_route(pro_rata(buy, 500, limit, order_type=order_type, tif=tif), venues)

    assert sliced(plan) == [("XB", 500)]
