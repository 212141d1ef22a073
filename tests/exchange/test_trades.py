"""Trades, fees, busts and corrections (exchange/trades.py) as docs/fix.md "Trades, busts and
corrections" says, and the trade log that records them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.trades import TradeError, average_price

from .market_helpers import as_dict, market_venue, order, order_of, send, set_book, trades
from .venue_messages import cancel

ASKS = (("100.01", "100"), ("100.02", "200"), ("100.03", "300"))


def venue_with_fills(**config):
    venue = market_venue(**config)
    set_book(venue, bids=(("99.99", "100"),), asks=ASKS, last="100.00")
    return venue


def test_takers_pay_and_makers_get_a_rebate_per_share_exactly() -> None:
    venue = venue_with_fills(makerFeePerShare="-0.0020", takerFeePerShare="0.0030")
    taker = trades(send(venue, order("T", qty="150", price="100.02")))
    assert [(r[851], r[12], r[13]) for r in taker] == [("2", "0.3", "3"), ("2", "0.15", "3")]
    send(venue, order("M", qty="7", price="99.00"))
    maker = trades(set_book(venue, asks=(("98.99", "7"),)))
    assert [(r[851], r[12], r[13]) for r in maker] == [("1", "-0.014", "3")]


def test_cumqty_leavesqty_and_avgpx_are_exact_decimals() -> None:
    venue = venue_with_fills()
    reports = trades(send(venue, order("A", qty="0.5", price="100.01")))
    assert [(r[32], r[14], r[151], r[6]) for r in reports] == [("0.5", "0.5", "0", "100.01")]
    reports = trades(send(venue, order("B", qty="299.5", price="100.03")))
    assert [r[14] for r in reports] == ["99.5", "299.5"]
    # (99.5 x 100.01 + 200 x 100.02) / 299.5 = 100.0166777963272...: 8 places, half even.
    assert reports[-1][6] == "100.0166778"
    assert average_price(Decimal(30005), Decimal(300)) == Decimal("100.01666667")
    assert average_price(Decimal("20002.5"), Decimal(200)) == Decimal("100.0125")
    # Where a float would be off: 17 significant digits, and a tie broken to even.
    big = Decimal("987654321.98765432")
    assert average_price(big * 3, Decimal(3)) == big
    assert average_price(Decimal("200.00000001"), Decimal(2)) == Decimal(100)


def test_a_bust_on_a_live_order_gives_its_quantity_back_to_leaves() -> None:
    venue = venue_with_fills()
    first, second = trades(send(venue, order("L", qty="400", price="100.02")))
    bust = as_dict(venue.bust(first[17]))
    assert (bust[150], bust[19], bust[32], bust[31]) == ("H", first[17], "100", "100.01")
    assert (bust[14], bust[151], bust[6], bust[39], bust[11]) == ("200", "200", "100.02", "1", "L")
    assert bust[17] not in (first[17], second[17])
    second_bust = as_dict(venue.bust(second[17]))
    assert (second_bust[14], second_bust[151], second_bust[6], second_bust[39]) == (
        "0", "400", "0", "0")
    # Live again: the market fills it again.
    assert trades(set_book(venue, asks=(("100.00", "400"),)))[0][14] == "400"


def test_a_bust_never_reopens_a_done_order() -> None:
    venue = venue_with_fills()
    filled = trades(send(venue, order("F", qty="150", price="100.02")))
    bust = as_dict(venue.bust(filled[0][17]))
    assert (bust[39], bust[14], bust[151], bust[6]) == ("4", "50", "0", "100.02")
    assert order_of(venue, "F")["status"] == "CANCELED"
    partial = trades(send(venue, order("C", qty="500", price="100.02")))
    send(venue, cancel("C", "C-x", t55="AAPL"))
    bust = as_dict(venue.bust(partial[0][17]))
    assert (bust[39], bust[151]) == ("4", "0")


def test_a_correction_restates_the_trade_and_the_order() -> None:
    venue = venue_with_fills()
    first, second = trades(send(venue, order("K", qty="400", price="100.02")))
    corrected = as_dict(venue.correct(first[17], Decimal(100), Decimal("100.00")))
    assert (corrected[150], corrected[19], corrected[32], corrected[31]) == (
        "G", first[17], "100", "100.00")
    assert (corrected[14], corrected[151], corrected[6], corrected[39]) == (
        "300", "100", "100.01333333", "1")
    assert (corrected[851], corrected[12]) == ("2", "0.3")
    up = as_dict(venue.correct(second[17], Decimal(300), Decimal("100.02")))
    assert (up[14], up[151], up[39]) == ("400", "0", "2")
    with pytest.raises(TradeError) as refused:
        venue.correct(second[17], Decimal(301), Decimal("100.02"))
    assert refused.value.code == "overfill"


def test_a_trade_is_busted_once_and_a_busted_one_is_not_corrected() -> None:
    venue = venue_with_fills()
    (trade,) = trades(send(venue, order("O", qty="50", price="100.01")))
    venue.bust(trade[17])
    for again in (lambda: venue.bust(trade[17]),
                  lambda: venue.correct(trade[17], Decimal(1), Decimal(1))):  # fmt: skip
        with pytest.raises(TradeError) as refused:
            again()
        assert refused.value.code == "trade_busted"
    with pytest.raises(TradeError) as unknown:
        venue.bust("nope")
    assert unknown.value.code == "unknown_trade"


def test_the_trade_log_equals_the_trade_reports_sent_and_exec_ids_are_never_reused() -> None:
    venue = venue_with_fills()
    sent = send(venue, order("A", qty="250", price="100.03"))
    sent += send(venue, order("B", side="2", qty="100", price="99.99", tif="3"))
    send(venue, order("C", qty="10", price="99.50"))
    sent += set_book(venue, asks=(("99.49", "10"),))
    log = venue.market.trades.as_json()
    assert len(log) == len(trades(sent)) == 4
    for row, report in zip(log, trades(sent), strict=True):
        assert (row["execId"], row["orderId"], row["clOrdId"], row["lastQty"], row["lastPx"],
                row["lastLiquidityInd"], row["commission"], row["transactTime"]) == (
            report[17], report[37], report[11], report[32], report[31], report[851],
            report[12], report[60])  # fmt: skip
        assert row["side"] == {"1": "BUY", "2": "SELL"}[report[54]]
    bust = as_dict(venue.bust(log[0]["execId"]))
    correction = as_dict(venue.correct(log[1]["execId"], Decimal(140), Decimal("100.015")))
    log = venue.market.trades.as_json()
    assert (log[0]["busted"], log[0]["bustExecId"]) == (True, bust[17])
    # A row is the trade as its 150=F reported it, and what became of it since.
    assert (log[1]["lastQty"], log[1]["lastPx"]) == (trades(sent)[1][32], trades(sent)[1][31])
    assert log[1]["corrections"] == [{"execId": correction[17], "lastQty": "140",
                                      "lastPx": "100.015", "commission": "0.42",
                                      "transactTime": correction[60]}]  # fmt: skip
    exec_ids = [r[17] for r in sent] + [bust[17], correction[17]]
    assert len(set(exec_ids)) == len(exec_ids)
