"""Execution reports exactly once, and the fills they make: each trade a Fill row, the order's
cumQty / leavesQty / avgPx its fills' (exact decimals), NEW -> PARTIALLY_FILLED -> FILLED
with an audit event per change, the position moved in the same transaction; busts and
corrections; fills racing cancels and modifies."""

import dataclasses
from datetime import UTC, datetime

import pytest
from django.db import transaction

from dispatch.drain import dispatch_drain
from executions.models import ExecutionReport, Fill, Position
from omsproject.errors import InvalidInput
from orders import services
from tests.dispatch.conftest import drain
from tests.executions.conftest import D, live_order, refreshed
from tests.venues.inproc import venue_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_add_up")]


def position(account: str = "ACC-1", symbol: str = "AAPL") -> Position:
    return Position.objects.get(account_id=account, symbol=symbol)


def figures(order) -> tuple:
    order = refreshed(order)
    return order.status, order.filled_quantity, order.leaves_quantity, order.average_price


def test_trades_are_fills_and_move_the_order_in_exact_decimals(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)

    venue.deliver([venue.book.fill(cl, D("3"), D("150.10"), liquidity="1",
                                   commission=D("0.03"), transact_time="20261201-14:30:00.123")])
    assert figures(order) == ("PARTIALLY_FILLED", D("3"), D("7"), D("150.1"))
    venue.deliver([venue.book.fill(cl, D("4"), D("150.2"), liquidity="2",
                                   commission=D("-0.01"))])
    assert figures(order) == ("PARTIALLY_FILLED", D("7"), D("3"), D("150.15714286"))
    venue.deliver([venue.book.fill(cl, D("3"), D("150.3333"))])
    # (3 x 150.10 + 4 x 150.2 + 3 x 150.3333) / 10, exactly.
    assert figures(order) == ("FILLED", D("10"), D("0"), D("150.20999"))

    first, second, third = order.fills.order_by("id")
    assert (first.last_quantity, first.last_price, first.liquidity, first.fee) == (
        D("3"), D("150.1"), "MAKER", D("0.03"))
    assert first.transact_time == datetime(2026, 12, 1, 14, 30, 0, 123000, tzinfo=UTC)
    assert (second.liquidity, second.fee, third.liquidity, third.fee) == (
        "TAKER", D("-0.01"), "", None)
    assert {f.state for f in (first, second, third)} == {"APPLIED"}
    events = [(e.type, e.from_status, e.to_status, e.data.get("cumQty"))
              for e in order.events.filter(type="FILLED")]
    assert events == [("FILLED", "NEW", "PARTIALLY_FILLED", "3"),
                      ("FILLED", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "7"),
                      ("FILLED", "PARTIALLY_FILLED", "FILLED", "10")]
    held = position()
    assert (held.net_quantity, held.average_cost, held.realized_pnl, held.fees) == (
        D("10"), D("150.20999"), D("0"), D("0.02"))


def test_the_same_report_again_or_resent_with_possdup_changes_nothing(trader,
                                                                      in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    trade = venue.book.fill(cl, D("4"), D("150"))

    venue.deliver([trade, trade])
    resent = dataclasses.replace(venue_message(trade, 99), poss_dup=True)
    with transaction.atomic():
        services.OrderBooks().received(venue_code="XMOCK", message=resent, latency_micros=None)

    assert figures(order)[:2] == ("PARTIALLY_FILLED", D("4"))
    assert ExecutionReport.objects.filter(exec_id=trade[17]).count() == 1
    assert Fill.objects.filter(exec_id=trade[17]).count() == 1
    assert order.events.filter(type="FILLED").count() == 1
    assert position().net_quantity == D("4")


def test_a_fill_while_a_cancel_is_pending_keeps_it_pending_then_cancelled_with_cumqty(
    trader, in_process_venue
):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    services.order_cancel(order_id=order.pk, actor="trader")

    # The venue trades before it has our cancel; it says so with FIX's precedence (39=6).
    venue.deliver([venue.book.fill(cl, D("4"), D("150")) | {39: "6"}])
    assert figures(order) == ("PENDING_CANCEL", D("4"), D("6"), D("150"))

    drain(venue)  # the cancel goes out; the venue cancels what is left
    assert figures(order) == ("CANCELED", D("4"), D("0"), D("150"))
    assert position().net_quantity == D("4")


def test_a_fill_that_completes_an_order_with_a_cancel_on_the_wire_leaves_it_filled(
    trader, in_process_venue
):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    services.order_cancel(order_id=order.pk, actor="trader")
    venue.emit(venue.book.fill(cl, D("10"), D("150")))  # the venue filled it, then ...
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    venue.write()  # ... receives the cancel: too late (35=9 39=2)
    assert refreshed(order).status == "PENDING_CANCEL"

    venue.deliver()

    assert figures(order) == ("FILLED", D("10"), D("0"), D("150"))
    cancel = order.requests.get(kind="CANCEL")
    assert (cancel.state, cancel.result) == ("ANSWERED", "REJECT")
    assert [m[35] for m in venue.messages()] == ["D", "F"]
    assert position().net_quantity == D("10")


def test_a_late_fill_after_cancelled_is_booked_and_flagged_never_past_the_quantity(
    trader, in_process_venue
):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    services.order_cancel(order_id=order.pk, actor="trader")
    drain(venue)
    assert refreshed(order).status == "CANCELED"

    late = venue.book.fill(cl, D("2"), D("150"))
    venue.deliver([late])
    order = refreshed(order)
    assert (order.status, order.filled_quantity, order.leaves_quantity) == (
        "CANCELED", D("2"), D("0"))
    assert "a trade after the order was CANCELED" in order.flag
    fill = Fill.objects.get(exec_id=late[17])
    assert fill.state == "APPLIED" and fill.flag
    assert ExecutionReport.objects.get(exec_id=late[17]).flag
    assert [e.type for e in order.events.all()][-2:] == ["FILLED", "FLAGGED"]
    assert position().net_quantity == D("2")

    too_much = venue.book.fill(cl, D("9"), D("150"))  # 11 of 10
    venue.deliver([too_much])
    assert refreshed(order).filled_quantity == D("2")
    assert Fill.objects.get(exec_id=too_much[17]).quarantine_reason == "OVERFILL"
    assert position().net_quantity == D("2")


def test_an_overfill_is_quarantined_flagged_and_counted(trader, in_process_venue, client):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    venue.deliver([venue.book.fill(cl, D("8"), D("150"))])

    over = venue.book.fill(cl, D("3"), D("151"))  # the venue's CumQty: 11 of 10
    venue.deliver([over])

    assert figures(order) == ("PARTIALLY_FILLED", D("8"), D("2"), D("150"))
    fill = Fill.objects.get(exec_id=over[17])
    assert (fill.state, fill.quarantine_reason) == ("QUARANTINED", "OVERFILL")
    assert "overfill" in refreshed(order).flag
    assert "overfill" in ExecutionReport.objects.get(exec_id=over[17]).flag
    assert position().net_quantity == D("8")
    scraped = client.get("/metrics").content.decode()
    assert 'oms_fills_quarantined_total{reason="OVERFILL",venue="XMOCK"} 1.0' in scraped


def test_a_bust_takes_the_trade_out_of_the_order_and_the_position(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    venue.deliver([first])

    venue.deliver([venue.book.bust(first[17])])  # on a live order: back to LeavesQty

    assert figures(order) == ("NEW", D("0"), D("10"), None)
    assert Fill.objects.get(exec_id=first[17]).state == "BUSTED"
    event = order.events.last()
    assert (event.type, event.from_status, event.to_status) == (
        "BUSTED", "PARTIALLY_FILLED", "NEW")
    assert position().net_quantity == D("0")


def test_a_bust_of_a_filled_order_leaves_it_cancelled_with_the_rest(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    venue.deliver([first, venue.book.fill(cl, D("6"), D("151"))])
    assert refreshed(order).status == "FILLED"

    bust = venue.book.bust(first[17])
    assert bust[39] == "4"  # docs/fix.md: never reopened; no longer filled in full
    venue.deliver([bust])

    assert figures(order) == ("CANCELED", D("6"), D("0"), D("151"))
    assert not refreshed(order).flag
    held = position()
    assert (held.net_quantity, held.average_cost) == (D("6"), D("151"))


def test_a_correction_changes_the_trade_the_order_and_the_position(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    venue.deliver([first, venue.book.fill(cl, D("2"), D("152"))])

    venue.deliver([venue.book.correct(first[17], D("3"), D("149"))])

    # (3 x 149 + 2 x 152) / 5
    assert figures(order) == ("PARTIALLY_FILLED", D("5"), D("5"), D("150.2"))
    fill = Fill.objects.get(exec_id=first[17])
    assert (fill.last_quantity, fill.last_price, fill.corrected) == (D("3"), D("149"), True)
    assert (fill.original_quantity, fill.original_price) == (D("4"), D("150"))
    assert order.events.last().type == "CORRECTED"
    held = position()
    assert (held.net_quantity, held.average_cost) == (D("5"), D("150.2"))


def test_a_bust_rebuilds_realized_pnl_from_the_fills_that_stand(trader, in_process_venue):
    venue = in_process_venue
    buy, buy_cl = live_order(venue, trader)
    sell, sell_cl = live_order(venue, trader, side="SELL", limit_price=D("110"))
    bought = venue.book.fill(buy_cl, D("10"), D("100"))
    venue.deliver([bought, venue.book.fill(sell_cl, D("5"), D("110"))])
    held = position()
    assert (held.net_quantity, held.average_cost, held.realized_pnl) == (
        D("5"), D("100"), D("50"))

    venue.deliver([venue.book.bust(bought[17])])

    held = position()
    assert (held.net_quantity, held.average_cost, held.realized_pnl) == (
        D("-5"), D("110"), D("0"))


def test_a_modify_below_what_a_fill_committed_first_is_refused(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    venue.deliver([venue.book.fill(cl, D("6"), D("150"))])

    with pytest.raises(InvalidInput, match="6 already filled"):
        services.order_modify(order_id=order.pk, actor="trader", quantity=D("5"))
    assert (refreshed(order).quantity, refreshed(order).status) == (D("10"),
                                                                     "PARTIALLY_FILLED")


def test_a_modify_accepted_here_that_a_fill_overtakes_is_refused_by_the_venue_whole(
    trader, in_process_venue
):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    services.order_modify(order_id=order.pk, actor="trader", quantity=D("5"))
    venue.deliver([venue.book.fill(cl, D("6"), D("150"))])  # before the replace leaves
    assert figures(order)[:2] == ("PENDING_REPLACE", D("6"))

    drain(venue)  # the venue refuses a quantity at or below its CumQty (35=9 102=99)

    order = refreshed(order)
    assert (order.status, order.quantity, order.filled_quantity) == (
        "PARTIALLY_FILLED", D("10"), D("6"))
    assert not order.events.filter(type="REPLACED").exists()
    assert order.requests.get(kind="MODIFY").result == "REJECT"


def test_a_venue_that_accepts_a_replace_below_cumqty_is_not_followed(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    venue.deliver([venue.book.fill(cl, D("6"), D("150"))])
    book = venue.book.order_for(cl)

    venue.deliver([{35: "8", 37: book["orderId"], 17: "BAD-REPLACE", 150: "5", 39: "1",
                    11: cl, 55: "AAPL", 54: "1", 38: "5", 44: "150.25", 151: "0", 14: "6",
                    6: "150"}])

    order = refreshed(order)
    assert (order.quantity, order.filled_quantity) == (D("10"), D("6"))
    assert "below the 6 filled" in order.flag


def test_trades_whose_reports_were_lost_are_reconciled_then_replaced_when_they_come(
    trader, in_process_venue
):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    lost = venue.book.fill(cl, D("3"), D("150"))  # its report never reaches us

    services.OrderBooks().logged_on(venue_code="XMOCK")  # asks the venue (35=H)
    drain(venue)

    assert figures(order) == ("PARTIALLY_FILLED", D("3"), D("7"), D("150"))
    reconciled = order.fills.get()
    assert (reconciled.kind, reconciled.state, reconciled.last_quantity) == (
        "RECONCILED", "APPLIED", D("3"))
    assert reconciled.flag and not refreshed(order).flag
    assert position().net_quantity == D("3")

    venue.deliver([venue.book.fill(cl, D("2"), D("152"))])
    assert figures(order)[:2] == ("PARTIALLY_FILLED", D("5"))
    venue.deliver([lost])  # resent after all: it takes its part's place, counted once
    assert figures(order) == ("PARTIALLY_FILLED", D("5"), D("5"), D("150.8"))
    assert Fill.objects.get(exec_id=lost[17]).state == "APPLIED"
    assert Fill.objects.get(pk=reconciled.pk).state == "BUSTED"
    assert not refreshed(order).flag
    assert position().net_quantity == D("5")


def test_a_bust_of_a_trade_never_received_shrinks_what_was_reconciled(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    lost = venue.book.fill(cl, D("3"), D("150"))
    venue.book.fill(cl, D("2"), D("151"))  # lost too
    services.OrderBooks().logged_on(venue_code="XMOCK")
    drain(venue)
    assert figures(order)[:2] == ("PARTIALLY_FILLED", D("5"))

    venue.deliver([venue.book.bust(lost[17])])

    assert figures(order) == ("PARTIALLY_FILLED", D("2"), D("8"), D("151"))
    assert not refreshed(order).flag
    assert position().net_quantity == D("2")


@pytest.mark.parametrize("amend", ["bust", "correct"])
def test_a_bust_or_correction_that_names_no_trade_of_the_order_is_flagged(
    trader, in_process_venue, amend
):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    other, other_cl = live_order(venue, trader)
    theirs = venue.book.fill(other_cl, D("2"), D("150"))
    mine = venue.book.fill(cl, D("3"), D("150"))
    venue.deliver([theirs, mine])
    book = venue.book.order_for(cl)
    base = {35: "8", 37: book["orderId"], 150: "H" if amend == "bust" else "G", 39: "1",
            11: cl, 55: "AAPL", 54: "1", 38: "10", 151: "7", 14: "3", 6: "150", 32: "2",
            31: "150"}

    venue.deliver([base | {17: "AMEND-1", 19: theirs[17]},  # another order's trade
                   base | {17: "AMEND-2"}])  # no ExecRefID
    if amend == "bust":
        venue.deliver([venue.book.bust(mine[17]), base | {17: "AMEND-3", 19: mine[17],
                                                          14: "0", 151: "10", 39: "0"}])

    for exec_id in ("AMEND-1", "AMEND-2") + (("AMEND-3",) if amend == "bust" else ()):
        assert ExecutionReport.objects.get(exec_id=exec_id).flag, exec_id
    assert "not one of this order's" in ExecutionReport.objects.get(exec_id="AMEND-1").flag
    assert "without ExecRefID" in ExecutionReport.objects.get(exec_id="AMEND-2").flag
    assert refreshed(order).flag
    assert figures(other)[:2] == ("PARTIALLY_FILLED", D("2"))
    expected = D("0") if amend == "bust" else D("3")
    assert refreshed(order).filled_quantity == expected
    assert position().net_quantity == D("2") + expected


def test_a_trade_the_venues_cumqty_says_we_have_already_is_quarantined(trader,
                                                                       in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    venue.deliver([first])

    # A new ExecID, but by its CumQty (4) it is in the 4 we have: booking it would count
    # one trade twice.
    venue.deliver([first | {17: "SAME-TRADE-AGAIN"}])

    assert figures(order)[:2] == ("PARTIALLY_FILLED", D("4"))
    assert Fill.objects.get(exec_id="SAME-TRADE-AGAIN").quarantine_reason == "COUNTED"
    assert "says it is in our 4 already" in refreshed(order).flag
    assert position().net_quantity == D("4")


def test_a_correction_carries_the_trades_fee_as_it_now_stands(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    first |= {12: "0.012", 13: "3"}
    venue.deliver([first])
    assert Fill.objects.get(exec_id=first[17]).fee == D("0.012")

    correction = venue.book.correct(first[17], D("3"), D("150")) | {12: "0.009", 13: "3"}
    venue.deliver([correction])

    assert Fill.objects.get(exec_id=first[17]).fee == D("0.009")
    assert position().fees == D("0.009")
