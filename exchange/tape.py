"""The tape: one price process per symbol for every venue of the exchange process.

A real instrument has one price: its venues quote around it a tick or so apart, never a
dollar. So the random walk lives here, once per symbol, and each venue's book
(`exchange.market.SymbolMarket`) centres on it at each of its own steps, with its own levels,
sizes, takes, pins and prints. Nothing a venue does (an order, a take, a book set by hand)
moves the tape.

A symbol's walk is made when a venue first needs the symbol, from that venue's market
config: it starts at the reference price (or the price of the first order, as before) and
moves by whole ticks of that config's tick size, uniform in -volatility..+volatility, every
`tickMs`. When every venue has the same price settings (as in `./oms run`, whose venues
differ in depth, levels, fees, latency and limits) it does not matter which venue that was.
Its draws come from a stream seeded by the exchange's seed and the symbol only, so the same
seed gives the same path, whichever venues read it and however often.

It moves with the process's clock, not with its readers: `catch_up(now_ns)` takes every walk
to the number of whole step intervals elapsed since the tape first saw the clock, so a read by
one venue or by ten, once or many times, moves it the same. `advance()` is one step of every
walk, for a venue that tests drive by hand. Exact: prices are whole ticks times the tick
size (Decimal).
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, Decimal

from exchange.market_config import MarketConfig


def to_ticks(price: Decimal, tick: Decimal) -> int:
    """`price` in whole ticks, rounded half-even onto the tick."""
    return int((price / tick).to_integral_value(ROUND_HALF_EVEN))


class Walk:
    """One symbol's shared price: a random walk in whole ticks."""

    def __init__(self, symbol: str, reference: Decimal, config: MarketConfig,
                 seed: str | None, index: int) -> None:  # fmt: skip
        self.symbol = symbol
        self.tick = config.tick_size
        self.volatility = config.volatility_ticks
        self.interval_ms = config.tick_ms
        self.ticks = max(to_ticks(reference, self.tick), 1)
        # Steps taken on the tape's clock: the walk was made at this many intervals in.
        self.index = index
        self._rng = random.Random(None if seed is None else f"{seed}:{symbol}:tape")

    @property
    def price(self) -> Decimal:
        return self.tick * self.ticks

    def step(self) -> None:
        if self.volatility:
            move = self._rng.randint(-self.volatility, self.volatility)
            self.ticks = max(self.ticks + move, 1)  # a price stays above zero
        self.index += 1

    def catch_up(self, index: int) -> None:
        while self.index < index:
            self.step()


class Tape:
    def __init__(self, seed: str | None) -> None:
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        """Every walk forgotten: the next ones start at their reference prices again, and the
        same seed walks the same paths again."""
        self._walks: dict[str, Walk] = {}
        self._origin_ns: int | None = None
        self._now_ns = 0

    def get(self, symbol: str) -> Walk | None:
        return self._walks.get(symbol)

    def walk(self, symbol: str, reference: Decimal, config: MarketConfig) -> Walk:
        """The symbol's walk; made now, at `reference`, from `config`, if it has none."""
        walk = self._walks.get(symbol)
        if walk is None:
            walk = Walk(symbol, reference, config, self._seed, self.index(config.tick_ms))
            self._walks[symbol] = walk
        return walk

    def index(self, interval_ms: int) -> int:
        """Whole intervals of `interval_ms` elapsed, on the tape's clock, at the last time it
        saw (0 before it saw any)."""
        if self._origin_ns is None:
            return 0
        return (self._now_ns - self._origin_ns) // (interval_ms * 1_000_000)

    def catch_up(self, now_ns: int) -> None:
        """The clock reads `now_ns`: each walk takes the steps whose intervals have passed.
        The first reading is the tape's origin; a reading earlier than one seen is ignored."""
        if self._origin_ns is None:
            self._origin_ns = self._now_ns = now_ns
        self._now_ns = max(self._now_ns, now_ns)
        for walk in self._walks.values():
            walk.catch_up(self.index(walk.interval_ms))

    def advance(self) -> None:
        """One step of every walk now, whatever the clock (a venue driven by hand)."""
        for walk in self._walks.values():
            walk.step()
