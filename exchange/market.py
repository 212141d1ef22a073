"""A symbol's simulated market at one venue: a visible book of K levels a side of simulated
liquidity, centred on the symbol's shared price (`exchange.tape`).

Pure and exact: prices are whole ticks times the tick size (Decimal), sizes are whole
numbers, and every random draw of the book comes from its own stream, seeded by the
exchange's seed, the venue and the symbol. So the same seed and the same inputs (steps,
takes, books set) give the same books, and an order arriving or not never changes them.

The price is not the venue's: every venue of the process reads one walk per symbol from the
tape. Each `step` centres the book on that price (rounded to the venue's tick), or one tick
above it (a coin from the book's stream, so that venues are not identical; none while the
price stands still, volatility 0), prints a simulated trade there (the venue's own "last",
that stops trigger on) and refreshes the book around it: bids one tick apart below it,
offers above it, each with a size drawn around the venue's depth. So two venues that step
together quote at most one tick apart and their consolidated book is never locked or
crossed. What an order takes from a level is gone at this venue only, until its refresh. A
book set by hand (`pin`) stays exactly as set (no refresh) until `unpin`, which centres it on
the shared price again; the tape goes on meanwhile.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchange.market_config import MarketConfig
from exchange.tape import Tape, Walk, to_ticks

BUY, SELL = "1", "2"


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


@dataclass(slots=True)
class Level:
    price: Decimal
    size: Decimal

    def as_json(self) -> dict[str, str]:
        return {"price": decimal_text(self.price), "size": decimal_text(self.size)}


class SymbolMarket:
    def __init__(self, symbol: str, walk: Walk, config: MarketConfig, seed: str | None):
        self.symbol = symbol
        self.walk = walk  # the symbol's shared price
        self.tick = config.tick_size
        self.levels = config.levels
        self.depth = config.depth
        self._rng = random.Random(None if seed is None else f"{seed}:{symbol}:book")
        self.mid_ticks = self._centre(0)
        self.bids: list[Level] = []  # best (highest) first
        self.asks: list[Level] = []  # best (lowest) first
        # The shared price stands as the last trade until the first print.
        self.last_px: Decimal | None = self._price(self.mid_ticks)
        self.last_qty: Decimal | None = None
        self.pinned = False
        # Moves whenever the book or the last trade changes: market data sends on change.
        self.version = 0
        self._refresh()

    def _centre(self, offset: int) -> int:
        """The shared price in this venue's ticks, plus `offset` ticks."""
        ticks = to_ticks(self.walk.price, self.tick) + offset
        return max(ticks, self.levels + 1)  # every level's price stays above zero

    def _price(self, ticks: int) -> Decimal:
        return self.tick * ticks

    def _size(self) -> Decimal:
        half = self.depth // 2
        return Decimal(self._rng.randint(max(self.depth - half, 1), self.depth + half))

    def _refresh(self) -> None:
        self.bids = [Level(self._price(self.mid_ticks - i), self._size())
                     for i in range(1, self.levels + 1)]  # fmt: skip
        self.asks = [Level(self._price(self.mid_ticks + i), self._size())
                     for i in range(1, self.levels + 1)]  # fmt: skip
        self.version += 1

    def step(self) -> None:
        """Centre on the shared price as it is now, print there, refresh the book; a pinned
        book does not move."""
        if self.pinned:
            return
        offset = self._rng.randint(0, 1) if self.walk.volatility else 0
        self.mid_ticks = self._centre(offset)
        self.last_px = self._price(self.mid_ticks)
        self.last_qty = Decimal(self._rng.randint(1, 10) * 100)
        self._refresh()

    # -- taking liquidity ------------------------------------------------------------------

    def opposite(self, side: str) -> list[Level]:
        """The levels an order of `side` trades against: offers for a buy, bids for a sell."""
        return self.asks if side == BUY else self.bids

    def best(self, side: str) -> Decimal | None:
        """The best price an order of `side` could trade at now."""
        levels = self.opposite(side)
        return levels[0].price if levels else None

    @staticmethod
    def within(side: str, price: Decimal, limit: Decimal | None) -> bool:
        return limit is None or (price <= limit if side == BUY else price >= limit)

    def _reachable(self, side: str, limit: Decimal | None) -> Iterator[Level]:
        for level in self.opposite(side):
            if not self.within(side, level.price, limit):
                return
            yield level

    def available(self, side: str, limit: Decimal | None) -> Decimal:
        return sum((level.size for level in self._reachable(side, limit)), Decimal(0))

    def take(
        self, side: str, quantity: Decimal, limit: Decimal | None
    ) -> list[tuple[Decimal, Decimal]]:
        """Take up to `quantity` level by level, best first, within `limit`; returns the
        (price, quantity) taken at each level. Emptied levels leave the book."""
        taken = []
        levels = self.opposite(side)
        while quantity > 0 and levels and self.within(side, levels[0].price, limit):
            level = levels[0]
            size = min(level.size, quantity)
            taken.append((level.price, size))
            level.size -= size
            quantity -= size
            if level.size == 0:
                levels.pop(0)
        if taken:
            self.version += 1
        return taken

    def traded(self, price: Decimal, quantity: Decimal) -> None:
        """A trade of a client's order printed: it is the last now."""
        self.last_px, self.last_qty = price, quantity
        self.version += 1

    # -- set by hand (tests, demos) --------------------------------------------------------

    def pin(self, bids: list[Level], asks: list[Level], last: Decimal | None) -> None:
        self.bids = sorted(bids, key=lambda level: -level.price)
        self.asks = sorted(asks, key=lambda level: level.price)
        if last is not None:
            self.last_px, self.last_qty = last, None
        self.pinned = True
        self.version += 1

    def unpin(self) -> None:
        """Back to the price process: the book is drawn again around the shared price as it
        is now (the pin moved nothing but this venue's book)."""
        if not self.pinned:
            return
        self.pinned = False
        self.mid_ticks = self._centre(0)
        self._refresh()

    def snapshot(self, depth: int = 0) -> dict[str, Any]:
        """Levels best first (all of them for depth 0) and the last trade."""
        count = depth or None
        return {
            "bids": [level.as_json() for level in self.bids[:count]],
            "asks": [level.as_json() for level in self.asks[:count]],
            "last": None if self.last_px is None else {
                "price": decimal_text(self.last_px),
                "size": None if self.last_qty is None else decimal_text(self.last_qty)},
            "tickSize": decimal_text(self.tick),
            "pinned": self.pinned,
            "version": self.version,
        }  # fmt: skip


class Markets:
    """A venue's symbols' markets, created when first needed: for a symbol with a reference
    price in the venue's config, or for one without, when an order names a price. The price
    is the tape's: a walk the tape already has for the symbol, else one made there now."""

    def __init__(self, seed: str | None, tape: Tape) -> None:
        self._seed = seed
        self._tape = tape
        self._markets: dict[str, SymbolMarket] = {}

    def get(self, symbol: str) -> SymbolMarket | None:
        return self._markets.get(symbol)

    def get_or_create(
        self, symbol: str, config: MarketConfig, hint: Decimal | None = None
    ) -> SymbolMarket | None:
        market = self._markets.get(symbol)
        if market is None:
            reference = config.symbols.get(symbol, hint)
            if reference is None:
                return None
            walk = self._tape.walk(symbol, reference, config)
            market = self._markets[symbol] = SymbolMarket(symbol, walk, config, self._seed)
        return market

    def __iter__(self) -> Iterator[SymbolMarket]:
        # Creation order: a venue's steps happen in the same order on every run.
        return iter(list(self._markets.values()))
