"""The routing benchmark's cases and numbers (bench/routing_cases.py, bench/routing_report.py):
reproducible, shaped like the mock exchange's market, sized so routing matters, and signed
so that a positive cost is a cost and a positive improvement is one."""

from decimal import Decimal

from bench.routing_cases import TICK, Book, Case, best_top_venue, cases, demo_shapes
from bench.routing_report import row_costs, summarize


def test_the_same_seed_gives_the_same_cases_and_another_seed_others():
    assert cases(40, seed=3) == cases(40, seed=3)
    assert cases(40, seed=3) != cases(40, seed=4)


def test_books_are_shaped_like_the_exchanges_and_never_crossed():
    shapes = demo_shapes()
    for case in cases(300, seed=1):
        for venue, book in case.books.items():
            shape = shapes[venue]
            assert len(book.bids) == len(book.asks) == shape.levels
            # One tick apart, two ticks of spread around the venue's mid, as exchange/market.py.
            assert book.asks[0][0] - book.bids[0][0] == 2 * TICK
            assert all(a[0] - b[0] == TICK for a, b in zip(book.asks[1:], book.asks))
            assert all(shape.depth - shape.depth // 2 <= size <= shape.depth + shape.depth // 2
                       for _, size in book.bids + book.asks)
        best_bid = max(b.bids[0][0] for b in case.books.values())
        best_ask = min(b.asks[0][0] for b in case.books.values())
        assert best_bid <= best_ask  # at worst locked
        assert case.mid == (best_bid + best_ask) / 2


def test_orders_are_marketable_and_often_larger_than_one_venues_book():
    found = cases(1000, seed=1)
    assert {c.order_type for c in found} == {"MARKET", "LIMIT"}
    assert {c.side for c in found} == {"BUY", "SELL"}
    for case in found:
        if case.order_type == "LIMIT":
            best = case.takes(best_top_venue(case))[0][0]
            assert case.limit_price == best or (case.limit_price > best) == (case.side == "BUY")
            assert case.order_body()["timeInForce"] == "IOC"

    def displayed(case, venue):
        return sum(size for _, size in case.takes(venue))

    larger_than_top = sum(1 for c in found if c.quantity > c.takes(best_top_venue(c))[0][1])
    larger_than_its_book = sum(1 for c in found
                               if c.quantity > displayed(c, best_top_venue(c)))
    assert larger_than_top > 400  # 492 of 1,000 with seed 1
    assert 100 < larger_than_its_book < larger_than_top  # 169


def _case(side: str, books: dict[str, Book]) -> Case:
    return Case(n=0, symbol="AAPL", side=side, order_type="MARKET", quantity=100,
                limit_price=None, books=books, mid=Decimal("100"))


def test_the_baseline_venue_is_the_best_raw_top_ties_to_the_larger_size():
    d = Decimal
    books = {
        "XA": Book(bids=((d("99.99"), d(100)),), asks=((d("100.01"), d(100)),)),
        "XB": Book(bids=((d("99.99"), d(300)),), asks=((d("100.02"), d(900)),)),
        "XC": Book(bids=((d("99.98"), d(900)),), asks=((d("100.01"), d(200)),)),
    }
    assert best_top_venue(_case("BUY", books)) == "XC"
    assert best_top_venue(_case("SELL", books)) == "XB"
    # Net of taker fees the choice may differ: XA's cheaper fee wins the BUY tie.
    fees = {"XA": d("0.001"), "XB": d("0.003"), "XC": d("0.003")}
    assert best_top_venue(_case("BUY", books), fees) == "XA"


def _row(n, policy, side, filled, notional, fees="0", quantity=100):
    row = {"n": n, "policy": policy, "side": side, "quantity": quantity, "mid": "100",
           "filled": str(filled), "notional": str(notional), "fees": str(fees),
           "by_venue": {"XA": str(filled)} if filled else {}, "children": 1, "reroutes": 0,
           "route_failed": 0, "done_ms": 10.0, "error": None}
    row.update(row_costs(row))
    return row


def test_costs_are_positive_when_worse_than_mid_for_either_side():
    buy = row_costs(_row(0, "P", "BUY", 100, "10001", fees="0.3"))
    assert round(buy["cost_bps"], 6) == 1.0
    assert round(buy["allin_bps"], 6) == 1.3
    sell = row_costs(_row(0, "P", "SELL", 100, "9999", fees="-0.2"))  # a rebate
    assert round(sell["cost_bps"], 6) == 1.0
    assert round(sell["allin_bps"], 6) == 0.8
    assert row_costs(_row(0, "P", "BUY", 0, 0))["cost_bps"] is None


def test_improvement_is_paired_and_like_for_like_on_full_fills():
    rows = [
        # Both filled in full: the policy 1 bps cheaper.
        _row(0, "POL", "BUY", 100, "10001"), _row(0, "BASE", "BUY", 100, "10002"),
        # The policy filled more, deeper: dearer per share, and more filled.
        _row(1, "POL", "BUY", 100, "10003"), _row(1, "BASE", "BUY", 50, "5000.5"),
    ]
    summary = summarize(rows, policies=["POL", "BASE"], baseline="BASE")
    versus = summary["versus_baseline"]["POL"]
    assert versus["improvement_bps"]["mean"] == round((1 + -2) / 2, 3)
    assert versus["improvement_bps_both_full"] == {"mean": 1.0, "ci95": None, "n": 1}
    assert (versus["filled_more"], versus["filled_less"]) == (1, 0)
    assert summary["policies"]["POL"]["fill_rate"] == 1.0
    assert summary["policies"]["BASE"]["fill_rate"] == 0.75
    assert summary["all_filled_in_full"]["orders"] == 1
