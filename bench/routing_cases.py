"""The routing benchmark's seeded cases: for each parent order, the market it arrives at (a
book for every venue, in the shape the mock exchange's market draws: K levels a side one tick
apart around the venue's mid, each size uniform in depth/2..3·depth/2, with each venue's K and
depth) and the order itself (symbol, side, size, MARKET or a marketable IOC limit). Pure and
reproducible: the same seed gives the same cases, whatever the machine.

The venues' mids are one common mid plus -1, 0 or +1 tick each (so the consolidated book is
at worst locked, never crossed: the venues of one symbol are one market, as real ones are
kept by arbitrage); which venue has the best price, and how much it shows there, changes
from case to case. Sizes are log-uniform, so many orders are larger than the best venue's
top level and some larger than everything one venue displays: where routing matters.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from omsproject.demo_venues import DEMO_VENUES

TICK = Decimal("0.01")
# The mock exchange's default reference prices (exchange/README.md, --symbols).
SYMBOLS = {"AAPL": Decimal("190.00"), "MSFT": Decimal("320.00"), "GOOGL": Decimal("170.00"),
           "AMZN": Decimal("185.00"), "NVDA": Decimal("120.00"), "TSLA": Decimal("250.00"),
           "SPY": Decimal("550.00")}
MIN_QTY, MAX_QTY = 50, 5000
MARKET_FRACTION = 0.5
# A marketable IOC limit's price: this many ticks through the consolidated best price.
THROUGH_TICKS = (0, 1, 2, 3, 5)

Level = tuple[Decimal, Decimal]  # (price, size)


@dataclass(frozen=True)
class VenueShape:
    levels: int
    depth: int


def demo_shapes() -> dict[str, VenueShape]:
    return {code: VenueShape(int(f["levels"]), int(f["depth"])) for code, f in DEMO_VENUES.items()}


@dataclass(frozen=True)
class Book:
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]

    def as_json(self, last: Decimal) -> dict:
        """The body of the exchange's PUT /venues/{v}/marketdata/{symbol}."""
        return {"bids": [{"price": str(p), "size": str(s)} for p, s in self.bids],
                "asks": [{"price": str(p), "size": str(s)} for p, s in self.asks],
                "last": str(last)}


@dataclass(frozen=True)
class Case:
    n: int
    symbol: str
    side: str  # BUY | SELL
    order_type: str  # MARKET | LIMIT (IOC)
    quantity: int
    limit_price: Decimal | None
    books: dict[str, Book]  # by venue
    mid: Decimal  # the consolidated mid: (best bid + best ask) / 2 across the venues

    def order_body(self) -> dict:
        """The API's order terms (without account, clientOrderId, routing, venue)."""
        body = {"symbol": self.symbol, "side": self.side, "orderType": self.order_type,
                "quantity": self.quantity,
                "timeInForce": "IOC" if self.order_type == "LIMIT" else "DAY"}
        if self.limit_price is not None:
            body["limitPrice"] = str(self.limit_price)
        return body

    def takes(self, venue: str) -> tuple[Level, ...]:
        """The venue's levels this order takes from (asks for a BUY), best first."""
        book = self.books[venue]
        return book.asks if self.side == "BUY" else book.bids


def best_top_venue(case: Case, fees: dict[str, Decimal] | None = None) -> str:
    """The venue with the best top of book for the order's side (lowest ask for a BUY,
    highest bid for a SELL). With `fees` (taker fee per share by venue) the price is net of
    the fee; without, the raw quote a trader sees. Ties: the larger size there, then code."""
    sign = 1 if case.side == "BUY" else -1

    def key(venue: str):
        price, size = case.takes(venue)[0]
        fee = (fees or {}).get(venue, Decimal(0))
        return (sign * price + fee, -size, venue)

    return min((v for v in case.books if case.takes(v)), key=key)


def _book(rng: random.Random, mid_ticks: int, shape: VenueShape) -> Book:
    def size() -> Decimal:
        half = shape.depth // 2
        return Decimal(rng.randint(max(shape.depth - half, 1), shape.depth + half))

    bids = tuple((TICK * (mid_ticks - i), size()) for i in range(1, shape.levels + 1))
    asks = tuple((TICK * (mid_ticks + i), size()) for i in range(1, shape.levels + 1))
    return Book(bids, asks)


def cases(count: int, *, seed: int, shapes: dict[str, VenueShape] | None = None,
          symbols: dict[str, Decimal] | None = None) -> list[Case]:
    shapes = shapes or demo_shapes()
    symbols = symbols or SYMBOLS
    rng = random.Random(seed)
    out = []
    for n in range(count):
        symbol = rng.choice(sorted(symbols))
        reference = int((symbols[symbol] / TICK).to_integral_value(ROUND_HALF_EVEN))
        mid_ticks = reference + rng.randint(-100, 100)
        books = {code: _book(rng, mid_ticks + rng.randint(-1, 1), shape)
                 for code, shape in sorted(shapes.items())}
        best_bid = max(b.bids[0][0] for b in books.values())
        best_ask = min(b.asks[0][0] for b in books.values())
        side = rng.choice(("BUY", "SELL"))
        order_type = "MARKET" if rng.random() < MARKET_FRACTION else "LIMIT"
        quantity = int(round(math.exp(rng.uniform(math.log(MIN_QTY), math.log(MAX_QTY))), -1))
        limit = None
        if order_type == "LIMIT":
            through = TICK * rng.choice(THROUGH_TICKS)
            limit = best_ask + through if side == "BUY" else best_bid - through
        out.append(Case(n=n, symbol=symbol, side=side, order_type=order_type,
                        quantity=max(quantity, MIN_QTY), limit_price=limit, books=books,
                        mid=(best_bid + best_ask) / 2))
    return out
