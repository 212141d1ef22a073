"""The market's matching rules (exchange/matching.py), each against a book set by hand."""

from __future__ import annotations

from .market_helpers import (
    book_of,
    fills,
    market_venue,
    order,
    order_of,
    send,
    set_book,
    step,
    trades,
)
from .venue_messages import message, replace

ASKS = (("100.01", "100"), ("100.02", "200"), ("100.03", "300"))
BIDS = (("99.99", "100"), ("99.98", "200"), ("99.97", "300"))


def thin_market(**config):
    venue = market_venue(**config)
    set_book(venue, bids=BIDS, asks=ASKS, last="100.00")
    return venue


def test_a_crossing_limit_order_takes_level_by_level_at_each_price_then_rests() -> None:
    venue = thin_market()
    reports = send(venue, order("A", qty="400", price="100.02"))
    assert [r[150] for r in reports] == ["0", "F", "F"]
    assert fills(reports) == [("100", "100.01"), ("200", "100.02")]
    first, second = trades(reports)
    assert (first[14], first[151], first[39], first[851]) == ("100", "300", "1", "2")
    assert (second[14], second[151], second[39], second[6]) == ("300", "100", "1", "100.01666667")
    assert order_of(venue, "A")["status"] == "PARTIALLY_FILLED"
    # What it took is gone; its rest is not shown (clients' orders never are).
    assert book_of(venue)["asks"] == [("100.03", "300")]


def test_a_large_order_fills_partially_at_once_then_fully_as_the_book_refreshes() -> None:
    venue = market_venue()  # the walk's book: 3 levels of 50..150 a side, 100.01 up
    available = sum(int(size) for _, size in book_of(venue)["asks"])
    reports = send(venue, order("BIG", qty="1000", price="100.05"))
    assert sum(int(r[32]) for r in trades(reports)) == available < 1000
    later = []
    while order_of(venue, "BIG")["status"] != "FILLED":
        later += step(venue)
        assert len(later) < 20, "the refreshed book should fill it"
    assert {r[851] for r in later} == {"1"}  # resting: maker, at its own price
    assert {r[31] for r in later} == {"100.05"}
    everything = trades(reports + later)
    assert [int(r[14]) for r in everything] == sorted(int(r[14]) for r in everything)
    assert everything[-1][14] == "1000" and everything[-1][151] == "0"
    assert everything[-1][39] == "2"


def test_a_market_order_sweeps_the_book_and_its_unfilled_rest_is_cancelled() -> None:
    venue = thin_market()
    reports = send(venue, order("M", qty="1000", price=None, ord_type="1", tif="1"))
    assert [r[150] for r in reports] == ["0", "F", "F", "F", "4"]
    assert fills(reports) == [("100", "100.01"), ("200", "100.02"), ("300", "100.03")]
    cancel = reports[-1]
    assert (cancel[39], cancel[14], cancel[151], cancel[58]) == (
        "4", "600", "0", "MARKET_REMAINDER_CANCELED")
    assert book_of(venue)["asks"] == []


def test_an_ioc_order_takes_what_is_within_its_limit_and_the_rest_is_cancelled() -> None:
    venue = thin_market()
    reports = send(venue, order("I", side="2", qty="250", price="99.98", tif="3"))
    assert fills(reports) == [("100", "99.99"), ("150", "99.98")]
    # All of it was there within 99.98: filled, nothing to cancel.
    assert reports[-1][150] == "F" and order_of(venue, "I")["status"] == "FILLED"
    reports = send(venue, order("I2", side="2", qty="100", price="99.98", tif="3"))
    assert fills(reports) == [("50", "99.98")]
    assert (reports[-1][150], reports[-1][39], reports[-1][14], reports[-1][151]) == (
        "4", "4", "50", "0")
    assert reports[-1][58] == "IOC_REMAINDER_CANCELED"


def test_a_fok_order_fills_in_full_or_not_at_all() -> None:
    venue = thin_market()
    refused = send(venue, order("F1", qty="301", price="100.02", tif="4"))
    assert [r[150] for r in refused] == ["0", "4"]
    assert (refused[-1][14], refused[-1][58]) == ("0", "FOK_NOT_FILLED")
    assert book_of(venue)["asks"] == list(ASKS)  # nothing taken
    filled = send(venue, order("F2", qty="300", price="100.02", tif="4"))
    assert fills(filled) == [("100", "100.01"), ("200", "100.02")]
    assert (filled[-1][39], filled[-1][151]) == ("2", "0")


def test_two_orders_back_to_back_never_take_the_same_liquidity() -> None:
    venue = thin_market()
    first = send(venue, order("R1", qty="150", price="100.03", tif="3"))
    second = send(venue, order("R2", qty="250", price="100.03", tif="3", client="OMS2"))
    assert fills(first) == [("100", "100.01"), ("50", "100.02")]
    assert fills(second) == [("150", "100.02"), ("100", "100.03")]
    taken = sum(int(q) for q, _ in fills(first) + fills(second))
    assert taken + sum(int(size) for _, size in book_of(venue)["asks"]) == 600


def test_resting_orders_fill_in_price_then_time_priority_at_their_own_price() -> None:
    venue = thin_market()
    for cl_ord_id, price in (("A", "99.98"), ("B", "99.99"), ("C", "99.99")):
        assert [r[150] for r in send(venue, order(cl_ord_id, price=price))] == ["0"]
    reports = set_book(venue, bids=BIDS, asks=(("99.98", "250"),))
    assert [(r[11], r[32], r[31], r[851]) for r in trades(reports)] == [
        ("B", "100", "99.99", "1"), ("C", "100", "99.99", "1"), ("A", "50", "99.98", "1")]


def test_a_replace_that_changes_the_price_loses_time_priority_one_that_lowers_qty_keeps_it():
    venue = thin_market()
    for cl_ord_id in ("A", "B", "C"):
        send(venue, order(cl_ord_id, qty="100", price="99.99"))
    send(venue, replace("A", "A2", t38="90", t44="99.99", t55="AAPL"))  # keeps its place
    send(venue, replace("B", "B2", t38="100", t44="99.995", t55="AAPL"))
    send(venue, replace("B2", "B3", t38="100", t44="99.99", t55="AAPL"))  # back of the queue
    reports = set_book(venue, asks=(("99.99", "190"),))
    assert [(r[11], r[32]) for r in trades(reports)] == [("A2", "90"), ("C", "100")]


def test_fill_probability_zero_never_fills_a_resting_order_and_one_fills_at_the_first_touch():
    never = thin_market(fillProbability=0)
    send(never, order("N", price="100.00"))
    assert trades(set_book(never, asks=(("99.99", "500"),))) == []
    assert trades(step(never, 50)) == []
    assert order_of(never, "N")["status"] == "NEW"
    always = thin_market(fillProbability=1)
    send(always, order("Y", price="100.00"))
    assert fills(set_book(always, asks=(("99.99", "500"),))) == [("100", "100.00")]


def test_a_fill_probability_in_between_fills_on_some_touches() -> None:
    venue = thin_market(fillProbability=0.5)
    send(venue, order("H", qty="100000", price="100.00"))
    filled = [bool(trades(set_book(venue, asks=(("99.99", "1"),)))) for _ in range(200)]
    assert 60 < sum(filled) < 140


def test_stops_trigger_on_the_last_price_then_trade_as_market_or_limit_orders() -> None:
    venue = thin_market()
    assert [r[150] for r in send(venue, order("SB", qty="50", price=None, ord_type="3",
                                              stop="100.05", tif="1"))] == ["0"]  # fmt: skip
    assert [r[150] for r in send(venue, order("SL", side="2", qty="50", price="99.90",
                                              ord_type="4", stop="99.95"))] == ["0"]  # fmt: skip
    assert set_book(venue, bids=BIDS, asks=ASKS, last="100.04") == []
    reports = set_book(venue, bids=BIDS, asks=ASKS, last="100.05")
    assert [(r[11], r[32], r[31], r[851]) for r in trades(reports)] == [
        ("SB", "50", "100.01", "2")]
    assert order_of(venue, "SL")["status"] == "NEW"
    reports = set_book(venue, bids=(("99.89", "10"),), asks=ASKS, last="99.95")
    assert reports == []  # triggered; its limit 99.90 is above the bid: it rests
    assert fills(set_book(venue, bids=(("99.91", "70"),), asks=ASKS)) == [("50", "99.90")]


def test_a_stop_already_through_its_price_triggers_on_arrival() -> None:
    venue = thin_market()
    reports = send(venue, order("S", side="2", qty="50", price=None, ord_type="3",
                                stop="100.50", tif="1"))  # fmt: skip
    assert fills(reports) == [("50", "99.99")]


def test_a_paused_market_fills_nothing_until_it_resumes() -> None:
    venue = thin_market()
    venue.market.pause()
    crossing = send(venue, order("L", qty="100", price="100.01"))
    assert [r[150] for r in crossing] == ["0"]
    ioc = send(venue, order("I", qty="100", price="100.01", tif="3"))
    assert [(r[150], r.get(58)) for r in ioc] == [("0", None), ("4", "MARKET_PAUSED")]
    assert step(venue, 5) == [] and book_of(venue)["asks"] == list(ASKS)
    venue.market.resume()
    assert fills(step(venue)) == [("100", "100.01")]


def test_a_replace_of_a_partially_filled_order_to_its_cumqty_or_below_is_refused() -> None:
    venue = thin_market()
    send(venue, order("P", qty="300", price="100.01"))
    assert order_of(venue, "P")["cumQty"] == "100"
    refused = send(venue, replace("P", "P2", t38="100", t44="100.00", t55="AAPL"))
    assert [(r[35], r[102], r[39]) for r in refused] == [("9", "99", "1")]
    assert refused[0][58].startswith("INVALID_REPLACE OrderQty(38)")
    accepted = send(venue, replace("P", "P3", t38="150", t44="100.00", t55="AAPL"))
    assert [(r[150], r[39], r[14], r[151]) for r in accepted] == [("5", "1", "100", "50")]


def test_a_day_order_resting_in_the_market_still_expires_at_the_close() -> None:
    from .clock import FakeWallClock

    wall = FakeWallClock("2026-03-02T15:00:00+00:00")
    venue = market_venue(wall=wall)
    venue.update_config({"timeZone": "UTC", "openTime": "09:00", "closeTime": "16:00"})
    set_book(venue, bids=BIDS, asks=ASKS)
    send(venue, order("D", price="100.00"))
    send(venue, order("G", price="100.00", tif="1"))
    wall.advance(hours=1, seconds=1)
    expired = venue.advance_clock()
    assert [(r.get(11), r.get(150)) for r in expired] == [("D", "C")]
    reports = set_book(venue, asks=(("99.99", "500"),))
    assert trades(reports) == []  # closed: nothing trades, GTC included
    wall.advance(hours=17)  # 09:00:01 the next day: open again
    assert [r[11] for r in trades(set_book(venue, asks=(("99.99", "500"),)))] == ["G"]


def test_an_unknown_symbol_gets_its_market_around_the_first_limit_price() -> None:
    venue = market_venue()
    send(venue, order("X", symbol="ZZZ", price="12.345"))
    book = book_of(venue, "ZZZ")
    assert book["bids"][0][0] == "12.33" and book["asks"][0][0] == "12.35"
    market = send(venue, order("M", symbol="QQQ", price=None, ord_type="1", tif="1"))
    assert [(r[150], r.get(58)) for r in market] == [("0", None), ("4", "NO_MARKET")]


def test_with_the_market_off_nothing_trades_and_ioc_and_fok_rest() -> None:
    venue = thin_market(market=False)
    assert [r[150] for r in send(venue, order("I", qty="100", price="100.05", tif="3"))] == ["0"]
    assert [r[150] for r in send(venue, order("F", qty="100", price="100.05", tif="4"))] == ["0"]
    assert step(venue, 3) == []
    assert {o["status"] for o in venue.book().values()} == {"NEW"}
    reply = send(venue, message("V", {262: "m", 263: "1", 264: "0", 267: "1", 269: "0",
                                      146: "1", 55: "AAPL"}))  # fmt: skip
    assert (reply[0][35], reply[0][380]) == ("j", "3")
