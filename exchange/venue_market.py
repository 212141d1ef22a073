"""A venue's market: its symbols' books (centred on the process's shared prices, the tape),
the matching of its orders, its trade log and its market-data subscriptions, switched by the
venue's `market` config.

Pure, like the venue that owns it: the venue calls it under the exchange's lock, with the
moment to act at. With the market off it does nothing at all, which is the exchange as it
was before it had one: orders rest as NEW (IOC and FOK too) and a V is answered 35=j.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from exchange.fees import MAKER
from exchange.market import Level, Markets, SymbolMarket
from exchange.market_config import MarketConfig
from exchange.market_data import MarketDataDesk
from exchange.matching import Matcher
from exchange.order_book import Order, OrderTerms
from exchange.reports import Report, ReportFactory
from exchange.tape import Tape
from exchange.trades import TradeError, TradeLog


class VenueMarket:
    def __init__(
        self,
        config: Callable[[], MarketConfig],
        reports: ReportFactory,
        *,
        seed: str | None,
        trading_open: Callable[[datetime], bool],
        tape: Tape,
    ) -> None:
        self._config = config
        self._trading_open = trading_open
        self._tape = tape
        self.markets = Markets(seed, tape)
        self.trades = TradeLog(reports)
        self.matcher = Matcher(self.markets, self.trades, reports, seed)
        self.desk = MarketDataDesk()
        self.paused = False
        # (tickMs, the tape's count of those intervals) at this venue's last step or look.
        self._stepped: tuple[int, int] | None = None

    @property
    def on(self) -> bool:
        return self._config().on

    def tradable(self, when: datetime) -> bool:
        return self.on and not self.paused and self._trading_open(when)

    # -- orders (called by the venue's order rules) ----------------------------------------

    def accepted(self, order: Order, when: datetime) -> list[Report]:
        if not self.on:
            return []
        return self.matcher.accept(order, self._config(), when, tradable=self.tradable(when))

    def replaced(self, order: Order, before: OrderTerms, when: datetime) -> list[Report]:
        if not self.on:
            return []
        return self.matcher.replaced(order, before, self._config(), when,
                                     tradable=self.tradable(when))  # fmt: skip

    # -- time ------------------------------------------------------------------------------

    def advance(self, now_ns: int, when: datetime) -> list[Report]:
        """The process's timer: the tape catches up with the clock; this venue's symbols step
        once when a whole `tickMs` interval of the tape's clock has passed since its last step
        (a late timer does one step, not a burst; venues with the same `tickMs` step at the
        same readings, so on the same prices), then the market-data updates that are due."""
        self._tape.catch_up(now_ns)
        if not self.on:
            return []
        reports = []
        tick_ms = self._config().tick_ms
        index = self._tape.index(tick_ms)
        if self._stepped is None or self._stepped[0] != tick_ms:
            self._stepped = (tick_ms, index)  # a first look, or a new tickMs: from here
        elif index > self._stepped[1]:
            self._stepped = (tick_ms, index)
            reports += self.step(when)
        return reports + self.desk.due(self.markets.get, now_ns)

    def step(self, when: datetime) -> list[Report]:
        """One step of every symbol's market (each centres on its shared price as it is now),
        and what it fills. Nothing moves or fills while the market is paused or the venue
        closed; the tape goes on."""
        if not self.tradable(when):
            return []
        config, reports = self._config(), []
        for market in self.markets:
            market.step()
            reports += self.matcher.market_moved(market, config, when)
        return reports

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def config_changed(self, before: MarketConfig, orders: Iterable[Order]) -> None:
        after = self._config()
        if after.on and not before.on:
            self.matcher.adopt(sorted(orders, key=lambda order: order.priority))
        if before.on and not after.on:
            self.desk.clear()
            self._stepped = None

    # -- market data -----------------------------------------------------------------------

    def market_for(self, symbol: str) -> SymbolMarket | None:
        """The symbol's market, made from its reference price if it has none yet."""
        return self.markets.get_or_create(symbol, self._config())

    def data_request(self, client: str, text: str, now_ns: int) -> list[Report]:
        return self.desk.request(client, text, self.market_for, now_ns)

    def logged_out(self, client: str) -> None:
        self.desk.drop_client(client)

    # -- by hand (HTTP, for tests and demos) -----------------------------------------------

    def set_book(self, symbol: str, bids: list[Level], asks: list[Level],
                 last: Decimal | None, when: datetime) -> list[Report]:  # fmt: skip
        """Pin the symbol's book as given; resting orders it reaches fill as at a step."""
        hint = last or (bids[0].price if bids else asks[0].price if asks else None)
        market = self.markets.get_or_create(symbol, self._config(), hint)
        if market is None:
            raise TradeError("invalid_body", "a new symbol's book needs a level or a last price")
        market.pin(bids, asks, last)
        if not self.tradable(when):
            return []
        return self.matcher.market_moved(market, self._config(), when)

    def unpin(self, symbol: str) -> None:
        market = self.markets.get(symbol)
        if market is None:
            raise TradeError("unknown_symbol", f"no market for {symbol!r}")
        market.unpin()

    def force_fill(self, order: Order, quantity: Decimal, price: Decimal, liquidity: str,
                   when: datetime) -> Report:  # fmt: skip
        """A trade on the order as given; it does not touch the book or the last."""
        return self.trades.fill(order, quantity, price, liquidity or MAKER, self._config(), when)

    def bust(self, exec_id: str, when: datetime) -> Report:
        return self.trades.bust(exec_id, when)

    def correct(self, exec_id: str, quantity: Decimal, price: Decimal, when: datetime) -> Report:
        return self.trades.correct(exec_id, quantity, price, self._config(), when)

    # -- observation -----------------------------------------------------------------------

    def snapshot(self, symbol: str) -> dict[str, Any] | None:
        market = self.market_for(symbol)
        if market is None:
            return None
        return {"symbol": symbol, **market.snapshot(), "paused": self.paused,
                "market": self.on}  # fmt: skip

    def stats(self) -> dict[str, Any]:
        return {"market": self.on, "marketPaused": self.paused, "trades": len(self.trades),
                "symbols": [market.symbol for market in self.markets],
                "marketDataSubscriptions": len(self.desk)}  # fmt: skip
