"""The venue's orders, the terms a D or G carries, and how G/F/H find an order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from exchange import fix_fields as f

if TYPE_CHECKING:
    from exchange.trades import Trade

ZERO = Decimal(0)


def decimal_text(value: Decimal) -> str:
    """Exact and never in exponent form ("1E+2" would be a valid Decimal but not FIX)."""
    return format(value, "f")


class FieldProblem(ValueError):
    """A field the order cannot live without is missing or wrong; the text names it."""

    def __init__(self, tag: int, why: str) -> None:
        self.tag = tag
        self.text = f"{f.TAG_NAMES.get(tag, 'tag')}({tag}) {why}"
        super().__init__(self.text)


def _positive_decimal(fields: Mapping[int, str], tag: int) -> Decimal:
    try:
        value = Decimal(fields[tag])
    except KeyError:
        raise FieldProblem(tag, "is required") from None
    except InvalidOperation:
        raise FieldProblem(tag, "is not a number") from None
    if not value.is_finite() or value <= 0:
        raise FieldProblem(tag, "must be greater than 0")
    return value


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What a D (or the new side of a G) asks for, checked against the dialect's values."""

    symbol: str
    side: str
    ord_type: str
    quantity: Decimal
    price: Decimal | None
    stop_px: Decimal | None
    time_in_force: str

    @classmethod
    def parse(cls, fields: Mapping[int, str], *, default_time_in_force: str = f.DAY) -> OrderTerms:
        """Raise FieldProblem naming the first field that is missing or not allowed."""
        symbol = fields.get(f.SYMBOL, "")
        if not symbol:
            raise FieldProblem(f.SYMBOL, "is required")
        side = fields.get(f.SIDE, "")
        if side not in f.SIDES:
            raise FieldProblem(f.SIDE, f"must be 1 (buy) or 2 (sell), not {side!r}")
        ord_type = fields.get(f.ORD_TYPE, "")
        if ord_type not in f.ORD_TYPES:
            raise FieldProblem(f.ORD_TYPE, f"must be 1, 2, 3 or 4, not {ord_type!r}")
        # FIX's default TimeInForce is DAY; a replace that leaves it out keeps the order's.
        time_in_force = fields.get(f.TIME_IN_FORCE, default_time_in_force)
        if time_in_force not in f.TIMES_IN_FORCE:
            raise FieldProblem(f.TIME_IN_FORCE, f"must be 0, 1, 3 or 4, not {time_in_force!r}")
        quantity = _positive_decimal(fields, f.ORDER_QTY)
        price = _positive_decimal(fields, f.PRICE) if ord_type in f.NEEDS_PRICE else None
        stop_px = _positive_decimal(fields, f.STOP_PX) if ord_type in f.NEEDS_STOP_PX else None
        return cls(symbol, side, ord_type, quantity, price, stop_px, time_in_force)


@dataclass(slots=True)
class Order:
    order_id: str
    # The client CompID that sent the NewOrderSingle; unsolicited reports go to its session.
    client: str
    # Every ClOrdID the venue accepted for this order: the D's first, the current one last.
    cl_ord_ids: list[str]
    secondary_cl_ord_id: str | None
    account: str | None
    terms: OrderTerms
    status: str = f.NEW
    cum_qty: Decimal = ZERO
    avg_px: Decimal = ZERO
    # The market's: the order's trades (busts and corrections recompute from them), its
    # place in time priority while it rests, and whether its stop has been triggered.
    trades: list[Trade] = field(default_factory=list)
    priority: int = 0
    triggered: bool = False

    @property
    def current_cl_ord_id(self) -> str:
        return self.cl_ord_ids[-1]

    @property
    def is_closed(self) -> bool:
        return self.status in f.CLOSED_STATUSES

    @property
    def leaves_qty(self) -> Decimal:
        return ZERO if self.is_closed else self.terms.quantity - self.cum_qty

    def as_json(self) -> dict[str, Any]:
        t = self.terms
        return {
            "orderId": self.order_id,
            "clientCompId": self.client,
            "clOrdId": self.current_cl_ord_id,
            "clOrdIds": list(self.cl_ord_ids),
            "secondaryClOrdId": self.secondary_cl_ord_id,
            "account": self.account,
            "symbol": t.symbol,
            "side": f.SIDE_WORDS[t.side],
            "orderType": f.ORD_TYPE_WORDS[t.ord_type],
            "quantity": decimal_text(t.quantity),
            "limitPrice": None if t.price is None else decimal_text(t.price),
            "stopPrice": None if t.stop_px is None else decimal_text(t.stop_px),
            "timeInForce": f.TIME_IN_FORCE_WORDS[t.time_in_force],
            "status": f.ORD_STATUS_WORDS[self.status],
            "cumQty": decimal_text(self.cum_qty),
            "leavesQty": decimal_text(self.leaves_qty),
            "avgPx": decimal_text(self.avg_px),
        }


class OrderBook:
    """Orders by first ClOrdID, by every accepted ClOrdID and by OrderID."""

    def __init__(self) -> None:
        self._by_first: dict[str, Order] = {}
        self._by_cl_ord_id: dict[str, Order] = {}
        self._by_order_id: dict[str, Order] = {}

    def add(self, order: Order) -> None:
        first = order.cl_ord_ids[0]
        self._by_first[first] = order
        self._by_cl_ord_id[first] = order
        self._by_order_id[order.order_id] = order

    def accept_cl_ord_id(self, order: Order, cl_ord_id: str) -> None:
        """A G or F was accepted: its ClOrdID becomes the order's current one."""
        order.cl_ord_ids.append(cl_ord_id)
        self._by_cl_ord_id[cl_ord_id] = order

    def by_current_cl_ord_id(self, orig_cl_ord_id: str, order_id: str | None) -> Order | None:
        """The order G and F act on: its current ClOrdID is 41; a 37, when given, must agree."""
        order = self._by_cl_ord_id.get(orig_cl_ord_id)
        if order is None or order.current_cl_ord_id != orig_cl_ord_id:
            return None
        if order_id and order_id != order.order_id:
            return None
        return order

    def by_any_cl_ord_id(self, cl_ord_id: str | None, order_id: str | None) -> Order | None:
        """The order H asks about: any ClOrdID of it the venue accepted, else its OrderID."""
        order = self._by_cl_ord_id.get(cl_ord_id) if cl_ord_id else None
        if order is None and order_id:
            order = self._by_order_id.get(order_id)
        return order

    def __iter__(self) -> Iterator[Order]:
        return iter(self._by_first.values())

    def __len__(self) -> int:
        return len(self._by_first)

    def as_json(self) -> dict[str, dict[str, Any]]:
        return {first: order.as_json() for first, order in self._by_first.items()}
