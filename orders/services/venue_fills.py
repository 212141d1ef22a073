"""Trades (150=F), busts (H) and corrections (G) booked against the order they are for, and
the venue's CumQty (14) kept in step with our fills: the figures part of following a venue
report (venue_reports.follow_venue), under the order's lock, in the report's transaction.

An order's cumQty and avgPx are its applied fills' (executions.Fill): the sum of their
quantities and their exact weighted mean (to a price's 8 places, half to even). What a
trade may do depends on the order here:

* live (PENDING_NEW to PENDING_CANCEL): booked, into the order and its position;
* CANCELED or EXPIRED: a late trade; booked (it happened at the venue, so the position is
  real) and flagged for an operator, never past the order's quantity;
* QUEUED or REJECTED (it never lived at the venue), past the order's quantity (an
  overfill), or already in what we have by the venue's own CumQty: quarantined (stored,
  booked nowhere, flagged; /metrics counts it).

Then the venue's CumQty is compared with our fills. Where it is ahead of the trades it
reported to us (their reports were lost: a holder died before reading them, a venue that
did not resend), the difference is the order's one RECONCILED fill, at the price the
venue's CumQty and AvgPx imply: so the order and its position equal the venue's. It shrinks
as those trades arrive after all (each replaces its part) or are busted (a bust or
correction of a trade we never received is one of those), and it is counted on /metrics.
Where the venue reports less than the trades it reported, the order is flagged.
"""

import logging
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import partial

from django.db import transaction

from executions import pnl
from executions.models import ExecutionReport, Fill, FillKind, FillState, QuarantineReason
from executions.services import (
    fill_book,
    fill_bust,
    fill_correct,
    fill_find,
    fill_reconcile,
    fill_reconciled,
    fill_trade_problem,
    order_fill_totals,
)
from omsproject.decimals import EXACT, PRICE_DIGITS, decimal_text, fits, quantize_price
from orders.models import TERMINAL_STATUSES, Order, OrderStatus

logger = logging.getLogger("orders")

NEVER_LIVE = frozenset({OrderStatus.QUEUED, OrderStatus.REJECTED})


@dataclass
class Booking:
    changed: list[str] = field(default_factory=list)  # the order's fields that changed
    data: dict = field(default_factory=dict)  # for the audit event
    problem: str = ""  # for an operator: the order is flagged once the report is followed
    stop: bool = False  # nothing else of the report is followed (`problem` says why)
    booked: bool = False  # the order's figures moved
    # A bust or correction of a trade we never received (in the RECONCILED fill): the
    # venue's CumQty and AvgPx say what is left of it.
    reconcile: bool = False
    # The report's CumQty is from before trades we have (a late trade): not compared.
    stale: bool = False

    def note(self, problem: str) -> None:
        self.problem = "; ".join(filter(None, [self.problem, problem]))


def fills_follow(order: Order, report: ExecutionReport) -> Booking:
    """Book what the report says about trades, on the (locked) order."""
    handler = {"F": _trade, "G": _correction, "H": _bust}.get(report.exec_type)
    booking = handler(order, report) if handler else Booking()
    if not (booking.stop or booking.stale):
        _venue_cum_qty(order, report, booking)
    return booking


def _fill_data(fill: Fill) -> dict:
    return {"execId": fill.exec_id, "lastQty": decimal_text(fill.last_quantity),
            "lastPx": decimal_text(fill.last_price), "state": fill.state}


def _refresh(order: Order, booking: Booking) -> None:
    """The order's cumQty and avgPx from its applied fills, as they now stand."""
    quantity, notional = order_fill_totals(order_id=order.pk)
    average = pnl.average_price(quantity, notional)
    if quantity != order.filled_quantity:
        booking.data["before"] = {**booking.data.get("before", {}),
                                  "filledQuantity": decimal_text(order.filled_quantity)}
        booking.data["cumQty"] = decimal_text(quantity)
        order.filled_quantity = quantity
        booking.changed.append("filled_quantity")
    if average != order.average_price:
        booking.data["avgPx"] = decimal_text(average)
        order.average_price = average
        booking.changed.append("average_price")
    booking.booked = True


def _trade(order: Order, report: ExecutionReport) -> Booking:
    problem = fill_trade_problem(quantity=report.last_quantity, price=report.last_price,
                                 symbol=order.symbol)
    if problem:
        return Booking(problem=problem, stop=True)
    last = report.last_quantity
    after = order.filled_quantity + last
    counted = report.cum_quantity is not None and report.cum_quantity < after
    reconciled = fill_reconciled(order=order) if counted else None
    # The venue says it is in what we have: one of the trades we had reconciled, arriving
    # after all. It takes its part's place in the RECONCILED fill.
    absorbed = reconciled if reconciled is not None and reconciled.last_quantity >= last \
        else None
    reason, why = "", ""
    if order.status in NEVER_LIVE:
        reason = QuarantineReason.NOT_LIVE
        why = f"the order is {order.status} here: it never lived at the venue"
    elif absorbed is None and after > order.quantity:
        reason = QuarantineReason.OVERFILL
        why = f"{decimal_text(after)} would be filled of {decimal_text(order.quantity)} " \
              f"(overfill)"
    elif counted and absorbed is None:
        reason = QuarantineReason.COUNTED
        why = f"the venue's CumQty {decimal_text(report.cum_quantity)} says it is in our " \
              f"{decimal_text(order.filled_quantity)} already"
    late = "" if reason or order.status not in TERMINAL_STATUSES else \
        f"a trade after the order was {order.status}"
    fill = fill_book(report=report, order=order, quarantine=reason, flag=why or late)
    data = {"fill": _fill_data(fill)}
    if reason:
        return Booking(data=data, stop=True,
                       problem=f"trade {report.exec_id} quarantined: {why}")
    if absorbed is not None:
        _shrink_reconciled(order, report, absorbed, fill)
        data["reconciled"] = _fill_data(absorbed)
    booking = Booking(data=data, problem=f"{late}: trade {report.exec_id} booked" if late
                      else "", stale=absorbed is not None)
    _refresh(order, booking)
    transaction.on_commit(partial(
        logger.info, "order %s fill %s @ %s (ExecID %s): cumQty %s of %s, avgPx %s", order.pk,
        decimal_text(last), decimal_text(report.last_price), report.exec_id,
        decimal_text(order.filled_quantity), decimal_text(order.quantity),
        decimal_text(order.average_price)))
    return booking


def _shrink_reconciled(order: Order, report: ExecutionReport, reconciled: Fill,
                       trade: Fill) -> None:
    with localcontext(EXACT):
        quantity = reconciled.last_quantity - trade.last_quantity
        notional = reconciled.last_quantity * reconciled.last_price \
            - trade.last_quantity * trade.last_price
        price = quantize_price(notional / quantity) if quantity else None
    if price is not None and not (price > 0 and fits(price, PRICE_DIGITS)):
        price = reconciled.last_price  # the reconciled price was an estimate to begin with
    fill_reconcile(order=order, report=report, quantity=quantity, price=price)
    reconciled.refresh_from_db()


def _amended_fill(order: Order, report: ExecutionReport, what: str) -> tuple[Fill | None, str]:
    """The trade a bust or correction names by ExecRefID (19), or why there is none."""
    ref = report.exec_ref_id
    if not ref:
        return None, f"a {what} without ExecRefID (19)"
    fill = fill_find(venue_code=report.venue_id, exec_id=ref)
    if fill is None or fill.order_id != order.pk:
        return None, f"a {what} of trade {ref}, which is not one of this order's"
    if fill.state == FillState.BUSTED:
        return None, f"a {what} of trade {ref}, which is busted already"
    return fill, ""


def _of_a_trade_never_received(report: ExecutionReport) -> bool:
    """A bust or correction naming a trade of which we have no report at all: one whose
    report was lost. What it leaves is what the venue's CumQty and AvgPx say (the
    RECONCILED fill), and only where they disagree with our trades is it flagged."""
    return bool(report.exec_ref_id) and fill_find(
        venue_code=report.venue_id, exec_id=report.exec_ref_id) is None


def _bust(order: Order, report: ExecutionReport) -> Booking:
    fill, problem = _amended_fill(order, report, "bust")
    if problem and _of_a_trade_never_received(report):
        return Booking(reconcile=True, data={"bust": {"execRefId": report.exec_ref_id,
                                                      "received": False}})
    if problem:
        return Booking(problem=problem, stop=True)
    was_booked = fill_bust(fill=fill, report=report)
    booking = Booking(data={"bust": _fill_data(fill)})
    if was_booked:
        _refresh(order, booking)
    return booking


def _correction(order: Order, report: ExecutionReport) -> Booking:
    fill, problem = _amended_fill(order, report, "correction")
    if problem and _of_a_trade_never_received(report):
        return Booking(reconcile=True, data={"correction": {"execRefId": report.exec_ref_id,
                                                            "received": False}})
    if not problem and fill.state != FillState.APPLIED:
        problem = f"a correction of trade {fill.exec_id}, which is {fill.state.lower()}"
    if not problem:
        problem = fill_trade_problem(quantity=report.last_quantity, price=report.last_price,
                                     symbol=order.symbol)
    if not problem:
        after = order.filled_quantity - fill.last_quantity + report.last_quantity
        if after > order.quantity:
            problem = f"the correction would fill {decimal_text(after)} of " \
                      f"{decimal_text(order.quantity)} (overfill)"
    if problem:
        return Booking(problem=problem, stop=True)
    before = _fill_data(fill)
    fill_correct(fill=fill, report=report, quantity=report.last_quantity,
                 price=report.last_price)
    booking = Booking(data={"correction": {"before": before, "after": _fill_data(fill)}})
    _refresh(order, booking)
    return booking


def _venue_cum_qty(order: Order, report: ExecutionReport, booking: Booking) -> None:
    venue = report.cum_quantity
    if venue is None or (venue == order.filled_quantity and not booking.reconcile):
        return
    if venue > order.quantity:
        booking.note(f"the venue reports {decimal_text(venue)} filled of "
                     f"{decimal_text(order.quantity)} (overfill)")
        booking.stop = not booking.booked
        return
    trades, notional = order_fill_totals(order_id=order.pk, kind=FillKind.TRADE)
    missing = venue - trades
    price = _missing_price(report, missing, notional) if missing > 0 else None
    if missing < 0 or (missing > 0 and (order.status in NEVER_LIVE or price is None)):
        booking.note(f"the venue reports {decimal_text(venue)} filled; the trades it "
                     f"reported add up to {decimal_text(trades)}")
        return
    fill = fill_reconcile(order=order, report=report, quantity=missing, price=price)
    if fill is not None:
        booking.data["reconciled"] = _fill_data(fill)
        _refresh(order, booking)


def _missing_price(report: ExecutionReport, missing: Decimal,
                   notional: Decimal) -> Decimal | None:
    """The price of the trades we never heard of: what the venue's AvgPx over its CumQty
    leaves after the trades we have (its AvgPx is rounded, so this is as close as it
    gets)."""
    average = report.average_price
    if not average or average <= 0:
        return None
    with localcontext(EXACT):
        price = quantize_price((average * report.cum_quantity - notional) / missing)
    return price if price > 0 and fits(price, PRICE_DIGITS) else average
