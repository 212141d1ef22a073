"""A venue's trades: each fill of an order, its bust or correction, the order's figures that
follow from them, and the reports that say so (docs/fix.md, "Trades, busts and corrections").

An order's CumQty and AvgPx are always recomputed from its standing trades, exactly:
CumQty is their sum and AvgPx their quantity-weighted mean, which is exact whenever it has at
most 8 decimal places and otherwise rounded half-even to 8 (a mean such as 10.0066... has no
exact decimal). The trade log is kept in the order trades happened and lists each with its
bust and corrections: the record the OMS's executions are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from exchange import fix_fields as f
from exchange.fees import COMM_TYPE_ABSOLUTE, LIQUIDITY_WORDS, commission
from exchange.market_config import MarketConfig
from exchange.order_book import ZERO, Order, decimal_text
from exchange.reports import Fields, Report, ReportFactory, fix_timestamp

AVG_PX_QUANTUM = Decimal("1e-8")


def average_price(notional: Decimal, quantity: Decimal) -> Decimal:
    if quantity == 0:
        return ZERO
    with localcontext() as context:
        context.prec = 60  # wide enough to hold any exact mean of 18-digit figures
        mean = notional / quantity
    if mean.as_tuple().exponent < -8:  # type: ignore[operator]
        mean = mean.quantize(AVG_PX_QUANTUM, rounding=ROUND_HALF_EVEN)
    return mean.normalize() + ZERO  # "190.01", never "1.9001E+2"


class TradeError(ValueError):
    """A bust, correction or fill the venue refuses; `code` is the HTTP error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Correction:
    exec_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    when: datetime

    def as_json(self) -> dict[str, Any]:
        return {"execId": self.exec_id, "lastQty": decimal_text(self.quantity),
                "lastPx": decimal_text(self.price), "commission": decimal_text(self.commission),
                "transactTime": fix_timestamp(self.when)}  # fmt: skip


@dataclass(slots=True)
class Trade:
    exec_id: str
    order: Order
    cl_ord_id: str
    quantity: Decimal  # as first reported
    price: Decimal
    liquidity: str
    commission: Decimal
    when: datetime
    bust_exec_id: str | None = None
    corrections: list[Correction] = field(default_factory=list)

    @property
    def busted(self) -> bool:
        return self.bust_exec_id is not None

    @property
    def standing(self) -> tuple[Decimal, Decimal]:
        """(quantity, price) as they stand after any correction."""
        if self.corrections:
            return self.corrections[-1].quantity, self.corrections[-1].price
        return self.quantity, self.price

    def as_json(self) -> dict[str, Any]:
        order = self.order
        return {
            "execId": self.exec_id,
            "orderId": order.order_id,
            "clOrdId": self.cl_ord_id,
            "secondaryClOrdId": order.secondary_cl_ord_id,
            "account": order.account,
            "clientCompId": order.client,
            "symbol": order.terms.symbol,
            "side": f.SIDE_WORDS[order.terms.side],
            "lastQty": decimal_text(self.quantity),
            "lastPx": decimal_text(self.price),
            "liquidity": LIQUIDITY_WORDS[self.liquidity],
            "lastLiquidityInd": self.liquidity,
            "commission": decimal_text(self.commission),
            "commType": COMM_TYPE_ABSOLUTE,
            "transactTime": fix_timestamp(self.when),
            "busted": self.busted,
            "bustExecId": self.bust_exec_id,
            "corrected": bool(self.corrections),
            "corrections": [correction.as_json() for correction in self.corrections],
        }


def _restate(order: Order) -> None:
    """CumQty and AvgPx from the order's standing trades."""
    standing = [trade.standing for trade in order.trades if not trade.busted]
    order.cum_qty = sum((quantity for quantity, _ in standing), ZERO)
    notional = sum((quantity * price for quantity, price in standing), ZERO)
    order.avg_px = average_price(notional, order.cum_qty)


def _status_after_change(order: Order) -> None:
    """After a bust or correction: a live order is new, partially filled or filled by its
    CumQty; a done one is never reopened, and a filled one no longer filled in full is
    cancelled (docs/fix.md). A cancelled or expired one keeps its status."""
    if not order.is_closed:
        order.status = (f.FILLED if order.cum_qty == order.terms.quantity
                        else f.PARTIALLY_FILLED if order.cum_qty else f.NEW)  # fmt: skip
    elif order.status == f.FILLED and order.cum_qty < order.terms.quantity:
        order.status = f.CANCELED


class TradeLog:
    def __init__(self, reports: ReportFactory) -> None:
        self._reports = reports
        self._trades: list[Trade] = []
        self._by_exec_id: dict[str, Trade] = {}

    def __len__(self) -> int:
        return len(self._trades)

    def get(self, exec_id: str) -> Trade:
        trade = self._by_exec_id.get(exec_id)
        if trade is None:
            raise TradeError("unknown_trade", f"no trade with ExecID {exec_id!r}")
        return trade

    def fill(self, order: Order, quantity: Decimal, price: Decimal, liquidity: str,
             config: MarketConfig, when: datetime) -> Report:  # fmt: skip
        """A trade of `quantity` at `price` on a live order: 150=F."""
        if order.is_closed:
            raise TradeError("order_closed", f"order {order.order_id} is closed")
        if not 0 < quantity <= order.leaves_qty:
            raise TradeError("invalid_quantity",
                             f"quantity must be above 0 and at most LeavesQty {order.leaves_qty}")
        fee = commission(liquidity, quantity, config)
        exec_id = self._reports.next_exec_id()
        trade = Trade(exec_id, order, order.current_cl_ord_id, quantity, price, liquidity, fee,
                      when)  # fmt: skip
        order.trades.append(trade)
        self._trades.append(trade)
        self._by_exec_id[exec_id] = trade
        _restate(order)
        order.status = f.FILLED if order.cum_qty == order.terms.quantity else f.PARTIALLY_FILLED
        return self._report(order, f.EXEC_TRADE, when, exec_id, [
            (f.LAST_QTY, decimal_text(quantity)), (f.LAST_PX, decimal_text(price)),
            (f.LAST_LIQUIDITY_IND, liquidity), (f.COMMISSION, decimal_text(fee)),
            (f.COMM_TYPE, COMM_TYPE_ABSOLUTE)])  # fmt: skip

    def bust(self, exec_id: str, when: datetime) -> Report:
        """The venue cancels a trade: 150=H, 19 = its ExecID, 32/31 what was busted."""
        trade = self.get(exec_id)
        if trade.busted:
            raise TradeError("trade_busted", f"trade {exec_id} is busted already")
        quantity, price = trade.standing
        order = trade.order
        trade.bust_exec_id = self._reports.next_exec_id()
        _restate(order)
        _status_after_change(order)
        return self._report(order, f.EXEC_TRADE_CANCEL, when, trade.bust_exec_id, [
            (f.EXEC_REF_ID, exec_id), (f.LAST_QTY, decimal_text(quantity)),
            (f.LAST_PX, decimal_text(price))])  # fmt: skip

    def correct(self, exec_id: str, quantity: Decimal, price: Decimal, config: MarketConfig,
                when: datetime) -> Report:  # fmt: skip
        """The venue corrects a trade's quantity and price: 150=G with the corrected ones."""
        trade = self.get(exec_id)
        if trade.busted:
            raise TradeError("trade_busted", f"trade {exec_id} is busted; it cannot be corrected")
        if quantity <= 0 or price <= 0:
            raise TradeError("invalid_field", "quantity and price must be above 0")
        order = trade.order
        old_quantity, _ = trade.standing
        if order.cum_qty - old_quantity + quantity > order.terms.quantity:
            raise TradeError("overfill", f"order {order.order_id} would be filled above its "
                                         f"quantity {order.terms.quantity}")  # fmt: skip
        fee = commission(trade.liquidity, quantity, config)
        correction = Correction(self._reports.next_exec_id(), quantity, price, fee, when)
        trade.corrections.append(correction)
        _restate(order)
        _status_after_change(order)
        return self._report(order, f.EXEC_TRADE_CORRECT, when, correction.exec_id, [
            (f.EXEC_REF_ID, exec_id), (f.LAST_QTY, decimal_text(quantity)),
            (f.LAST_PX, decimal_text(price)), (f.LAST_LIQUIDITY_IND, trade.liquidity),
            (f.COMMISSION, decimal_text(fee)), (f.COMM_TYPE, COMM_TYPE_ABSOLUTE)])  # fmt: skip

    def _report(self, order: Order, exec_type: str, when: datetime, exec_id: str,
                extra: Fields) -> Report:  # fmt: skip
        return self._reports.execution_report(
            order, exec_type=exec_type, cl_ord_id=order.current_cl_ord_id, when=when,
            extra=extra, exec_id=exec_id)  # fmt: skip

    def as_json(self) -> list[dict[str, Any]]:
        return [trade.as_json() for trade in self._trades]
