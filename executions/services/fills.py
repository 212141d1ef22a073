"""Fills: one row per trade a venue reported, booked into its position in the report's
transaction; busted or corrected later by the venue; quarantined (stored, booked nowhere)
when it cannot be booked. The caller (orders/services/venue_fills.py) holds the order's
lock and decides, from the order, whether a trade may be booked; this module keeps the
rows and the positions right."""

import logging
from decimal import Decimal
from uuid import UUID

from django.db.models import DecimalField, F, Sum
from django.utils import timezone

from executions.fill_counter import count_fill_on_commit
from executions.models import (
    ExecutionReport,
    Fill,
    FillKind,
    FillState,
    Liquidity,
)
from executions.selectors import instrument_price_decimals
from executions.services.positions import (
    position_apply_fill,
    position_lock_for_fill,
    position_rebuild,
)
from executions.services.reports import commission_fee
from omsproject.decimals import MONEY_DIGITS, decimal_places

LIQUIDITY = {"1": Liquidity.MAKER, "2": Liquidity.TAKER, "3": Liquidity.ROUTED}
FOLDED = ("amended after retention folded it into its position's carried figures: the "
          "position keeps the trade as it was booked")

logger = logging.getLogger(__name__)


def _position_follows(fill: Fill) -> None:
    """The fill's position is rebuilt from its fills as they now stand; unless retention
    folded this fill into the position's carried figures (executions/services/carry.py: a
    trade older than the retention, amended since), when the history a rebuild needs is
    gone: the position keeps the trade as booked and the fill is flagged for an operator."""
    position = position_lock_for_fill(account_code=fill.account_id, symbol=fill.symbol)
    if fill.pk <= position.carried_through:
        fill.flag = FOLDED
        fill.save(update_fields=["flag", "updated_at"])
        logger.warning("fill %s (%s %s) %s", fill.pk, fill.venue_id, fill.exec_id, FOLDED)
        return
    position_rebuild(account_code=fill.account_id, symbol=fill.symbol)


def fill_trade_problem(*, quantity: Decimal | None, price: Decimal | None,
                       symbol: str) -> str:
    """What makes a trade's LastQty / LastPx unbookable (empty when nothing does)."""
    if quantity is None:
        return "a trade without LastQty (32)"
    if quantity <= 0:
        return f"LastQty (32) {quantity} is not positive"
    if price is None:
        return "a trade without LastPx (31)"
    if price <= 0:
        return f"LastPx (31) {price} is not positive"
    allowed = instrument_price_decimals(symbol)
    if decimal_places(price) > allowed:
        return f"LastPx (31) {price} has more decimals than {symbol} allows ({allowed})"
    return ""


def fill_find(*, venue_code: str, exec_id: str) -> Fill | None:
    """The trade a bust or correction names (ExecRefID), locked."""
    return Fill.objects.select_for_update().filter(venue_id=venue_code,
                                                   exec_id=exec_id[:64]).first()


def fill_book(*, report: ExecutionReport, order, quarantine: str = "", flag: str = "",
              kind: str = FillKind.TRADE, exec_id: str | None = None,
              quantity: Decimal | None = None, price: Decimal | None = None) -> Fill:
    """Store the trade as a fill of the (locked) order; unless quarantined, book it into
    the order's position. `order` is an orders.Order (this app sits below orders)."""
    applied = not quarantine
    if applied:
        # Before the insert: fills of one position get ids in the order they are booked.
        position_lock_for_fill(account_code=order.account_id, symbol=order.symbol)
    fill = Fill.objects.create(
        venue_id=report.venue_id, exec_id=(exec_id or report.exec_id)[:64], kind=kind,
        order_id=order.pk, account_id=order.account_id, symbol=order.symbol,
        side=order.side,
        last_quantity=report.last_quantity if quantity is None else quantity,
        last_price=report.last_price if price is None else price,
        liquidity=LIQUIDITY.get(report.last_liquidity, ""),
        fee=commission_fee(report) if kind == FillKind.TRADE else None,
        transact_time=report.transact_time or timezone.now(),
        state=FillState.QUARANTINED if quarantine else FillState.APPLIED,
        quarantine_reason=quarantine, flag=flag[:200], report=report,
    )
    if applied:
        position_apply_fill(fill=fill)
    count_fill_on_commit(fill.venue_id)
    return fill


def fill_bust(*, fill: Fill, report: ExecutionReport) -> bool:
    """The venue cancelled the trade. Returns whether it had been booked (and now is not)."""
    was_applied = fill.state == FillState.APPLIED
    fill.state = FillState.BUSTED
    fill.amended_by = report
    fill.save(update_fields=["state", "amended_by", "updated_at"])
    if was_applied:
        _position_follows(fill)
    return was_applied


def fill_correct(*, fill: Fill, report: ExecutionReport, quantity: Decimal,
                 price: Decimal) -> None:
    """The venue corrected the (applied) trade's quantity and price."""
    if not fill.corrected:
        fill.original_quantity, fill.original_price = fill.last_quantity, fill.last_price
    fill.corrected = True
    fill.last_quantity, fill.last_price = quantity, price
    # The correction's Commission is the trade's fee as it now stands; none given keeps it.
    corrected_fee = commission_fee(report)
    if corrected_fee is not None:
        fill.fee = corrected_fee
    fill.amended_by = report
    fill.save(update_fields=["corrected", "original_quantity", "original_price",
                             "last_quantity", "last_price", "fee", "amended_by",
                             "updated_at"])
    _position_follows(fill)


def reconciled_exec_id(order) -> str:
    return f"RECONCILED-{order.pk}"


def fill_reconciled(*, order) -> Fill | None:
    """The order's RECONCILED fill, applied, locked; None if it has none standing."""
    return Fill.objects.select_for_update().filter(
        venue_id=order.venue_id, exec_id=reconciled_exec_id(order),
        state=FillState.APPLIED).first()


def fill_reconcile(*, order, report: ExecutionReport, quantity: Decimal,
                   price: Decimal | None) -> Fill | None:
    """Make the order's RECONCILED fill `quantity` at `price` (0: it is busted): the part of
    the venue's CumQty whose trade reports we never received. One per order, changed in
    place, its position rebuilt. None when it has none and needs none."""
    fill = Fill.objects.select_for_update().filter(
        venue_id=order.venue_id, exec_id=reconciled_exec_id(order)).first()
    if fill is None:
        if not quantity:
            return None
        return fill_book(report=report, order=order, kind=FillKind.RECONCILED,
                         exec_id=reconciled_exec_id(order), quantity=quantity, price=price,
                         flag="trades the venue reported and we never received: booked "
                              "from its CumQty and AvgPx")
    if not fill.corrected:
        fill.original_quantity, fill.original_price = fill.last_quantity, fill.last_price
    fill.corrected = True
    if quantity:
        fill.state, fill.last_quantity, fill.last_price = FillState.APPLIED, quantity, price
    else:
        fill.state = FillState.BUSTED
    fill.amended_by = report
    fill.save(update_fields=["corrected", "original_quantity", "original_price", "state",
                             "last_quantity", "last_price", "amended_by", "updated_at"])
    _position_follows(fill)
    return fill


def order_fill_totals(*, order_id: UUID, kind: str | None = None) -> tuple[Decimal, Decimal]:
    """(quantity, notional) of the order's applied fills (of one kind, if given), summed by
    PostgreSQL (exact)."""
    fills = Fill.objects.filter(order_id=order_id, state=FillState.APPLIED)
    if kind is not None:
        fills = fills.filter(kind=kind)
    return _totals(fills)


def parent_fill_totals(*, parent_id: UUID) -> tuple[Decimal, Decimal]:
    """(quantity, notional) of the applied fills of a parent order's children."""
    return _totals(Fill.objects.filter(order__parent_id=parent_id, state=FillState.APPLIED))


def _totals(fills) -> tuple[Decimal, Decimal]:
    totals = fills.aggregate(
        quantity=Sum("last_quantity"),
        notional=Sum(F("last_quantity") * F("last_price"),
                     output_field=DecimalField(max_digits=MONEY_DIGITS["max_digits"],
                                               decimal_places=MONEY_DIGITS["decimal_places"])),
    )
    return totals["quantity"] or Decimal(0), totals["notional"] or Decimal(0)
