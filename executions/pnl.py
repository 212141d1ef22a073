"""Positions at average cost, as pure functions over decimals (no database, no clock).

The method: **average cost**. Buying into a long position (or selling into a short one)
moves the average cost to the quantity-weighted mean of the open quantity and the new trade,
rounded half-to-even to 8 places (a price's). Reducing a position realizes
(price - average cost) x quantity closed (sign of the position); the average cost of what
stays open does not change. A trade through zero closes the old position at its average
cost and opens the rest at the trade's price. Realized P&L is gross: fees (commissions,
rebates negative) add up on their own. Unrealized P&L is net quantity x (mark price -
average cost), against the latest market price (executions/market_prices.py).

Arithmetic is in omsproject.decimals.EXACT: given the 8-place average cost, realized P&L is
exact (14 places). A position's figures are a function of its fills in the order they were
booked (`replay`), so a bust or a correction rebuilds them from the fills as they now stand;
once retention has folded a position's old fills into carried figures, from those figures
and the fills after them (executions/services/carry.py).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from omsproject.decimals import EXACT, quantize_price

ZERO = Decimal(0)


@dataclass(frozen=True)
class Book:
    net: Decimal = ZERO
    average_cost: Decimal | None = None
    realized: Decimal = ZERO
    fees: Decimal = ZERO


def signed(side: str, quantity: Decimal) -> Decimal:
    """A trade's effect on the net quantity: buys add, sells take away."""
    return quantity if side == "BUY" else -quantity


def step(book: Book, *, quantity: Decimal, price: Decimal, fee: Decimal | None = None) -> Book:
    """The book after one trade of `quantity` (signed) at `price`."""
    with localcontext(EXACT):
        fees = book.fees + (fee or ZERO)
        net, average, realized = book.net, book.average_cost, book.realized
        after = net + quantity
        if net == 0 or (net > 0) == (quantity > 0):
            # Opening or adding: the open quantity's weighted mean.
            held = abs(net) * (average or ZERO)
            return Book(net=after, realized=realized, fees=fees,
                        average_cost=quantize_price((held + abs(quantity) * price) / abs(after)))
        closed = min(abs(quantity), abs(net))
        direction = 1 if net > 0 else -1
        realized += closed * (price - average) * direction
        if after == 0:
            average = None
        elif (after > 0) != (net > 0):
            average = price  # through zero: the rest is a new position at this price
        return Book(net=after, average_cost=average, realized=realized, fees=fees)


def replay(trades: Iterable[tuple[str, Decimal, Decimal, Decimal | None]],
           start: Book | None = None) -> Book:
    """The book from (side, quantity, price, fee) trades, in the order they were booked,
    after `start` (the figures carried forward from trades before them; none: flat)."""
    book = start or Book()
    for side, quantity, price, fee in trades:
        book = step(book, quantity=signed(side, quantity), price=price, fee=fee)
    return book


def unrealized(*, net: Decimal, average_cost: Decimal | None,
               mark: Decimal | None) -> Decimal | None:
    """Net x (mark - average cost); zero when flat; None without a mark price."""
    if net == 0:
        return ZERO
    if mark is None or average_cost is None:
        return None
    with localcontext(EXACT):
        return net * (mark - average_cost)


def average_price(quantity: Decimal, notional: Decimal) -> Decimal | None:
    """An order's AvgPx: its fills' notional over their quantity, to a price's 8 places."""
    if not quantity:
        return None
    with localcontext(EXACT):
        return quantize_price(notional / quantity)
