"""Matching a venue's orders against its simulated markets.

Clients' orders trade only with the simulated liquidity, never with each other (every
client is an OMS; a venue's self-trade prevention would stop them anyway), and are not
shown in the visible book. The rules, each pinned by tests/exchange/test_matching*.py:

* An order that can trade when it arrives (or is replaced) takes liquidity as a taker
  (851=2), level by level from the best, at each level's price, within its limit. What it
  took is gone from the book until the book refreshes, so two orders never take the same
  quantity.
* FOK: all of it now or nothing (150=4, 58 FOK_NOT_FILLED). IOC: what is left after its
  fills is cancelled (150=4, IOC_REMAINDER_CANCELED); so is a MARKET order's, a triggered
  STOP's included (MARKET_REMAINDER_CANCELED). A LIMIT order's rest rests (DAY, GTC).
* Resting LIMIT orders fill as makers (851=1) at their own price when the market reaches
  them: at each market move, when the best opposite price is at or through their limit,
  with the venue's fill probability (one draw per symbol and side), in price-time priority
  (best limit first, then arrival; a replace that changes the price or raises the quantity
  goes to the back), each taking what the simulated levels within its limit offer.
* STOP and STOP_LIMIT orders wait for the last price (the simulated prints and the trades):
  a buy triggers when it is at or above its StopPx, a sell at or below (at arrival too).
  Then a STOP trades as a MARKET order and a STOP_LIMIT as a LIMIT order at its Price.
* A MARKET order for a symbol with no market (no reference price, and no order has priced
  one yet) has nothing to trade with: cancelled, NO_MARKET. While the market is paused or
  the venue is closed nothing trades: LIMIT and stop orders rest, and orders that must trade
  at once (MARKET, IOC, FOK) are cancelled, MARKET_PAUSED.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from decimal import Decimal

from exchange import fix_fields as f
from exchange.fees import MAKER, TAKER
from exchange.market import BUY, SELL, Markets, SymbolMarket
from exchange.market_config import MarketConfig
from exchange.order_book import Order, OrderTerms
from exchange.reports import Report, ReportFactory
from exchange.trades import TradeLog

NO_MARKET = "NO_MARKET"
MARKET_PAUSED = "MARKET_PAUSED"
FOK_NOT_FILLED = "FOK_NOT_FILLED"
IOC_REMAINDER_CANCELED = "IOC_REMAINDER_CANCELED"
MARKET_REMAINDER_CANCELED = "MARKET_REMAINDER_CANCELED"

IOC, FOK = "3", "4"
STOP_TYPES = frozenset({f.STOP, f.STOP_LIMIT})


def _limit(order: Order) -> Decimal | None:
    return order.terms.price if order.terms.ord_type in f.NEEDS_PRICE else None


class Matcher:
    def __init__(self, markets: Markets, trades: TradeLog, reports: ReportFactory,
                 seed: str | None) -> None:  # fmt: skip
        self._markets = markets
        self._trades = trades
        self._reports = reports
        self._seed = seed
        # Resting LIMIT orders (and triggered STOP_LIMITs), and stops waiting, by symbol and
        # OrderID. Orders closed by other means (cancel, expiry) are dropped when met.
        self._resting: dict[str, dict[str, Order]] = {}
        self._stops: dict[str, dict[str, Order]] = {}
        self._fill_rngs: dict[str, random.Random] = {}
        self._arrivals = itertools.count(1)

    # -- orders ----------------------------------------------------------------------------

    def accept(self, order: Order, config: MarketConfig, when: datetime, *,
               tradable: bool) -> list[Report]:  # fmt: skip
        """A NewOrderSingle the venue accepted (its 150=0 is already out)."""
        order.priority = next(self._arrivals)
        return self._work(order, config, when, tradable)

    def replaced(self, order: Order, before: OrderTerms, config: MarketConfig, when: datetime,
                 *, tradable: bool) -> list[Report]:  # fmt: skip
        """A replace the venue accepted (its 150=5 is already out)."""
        t = order.terms
        if (t.price, t.stop_px) != (before.price, before.stop_px) or t.quantity > before.quantity:
            order.priority = next(self._arrivals)
        self._unlist(order)
        return self._work(order, config, when, tradable)

    def adopt(self, orders: list[Order]) -> None:
        """The market was switched on: live LIMIT and stop orders (DAY, GTC) start resting,
        in the order they arrived. Any other order left from the off period stays as it is."""
        for order in orders:
            t = order.terms
            if (not order.is_closed and t.ord_type != f.MARKET
                    and t.time_in_force not in (IOC, FOK)):  # fmt: skip
                order.priority = next(self._arrivals)
                self._list(order)

    def _work(self, order: Order, config: MarketConfig, when: datetime,
              tradable: bool) -> list[Report]:  # fmt: skip
        t = order.terms
        hint = t.price if t.price is not None else t.stop_px
        market = self._markets.get_or_create(t.symbol, config, hint)
        if market is None:
            return [self._cancel(order, when, NO_MARKET)]
        waiting_stop = t.ord_type in STOP_TYPES and not order.triggered
        if waiting_stop and not (tradable and self._stop_hit(order, market)):
            self._list(order)
            return []
        if not tradable:
            if _limit(order) is None or t.time_in_force in (IOC, FOK):
                return [self._cancel(order, when, MARKET_PAUSED)]
            self._list(order)
            return []
        order.triggered = order.triggered or waiting_stop
        return self._execute(order, market, config, when) + self._trigger_stops(
            market, config, when)

    def _execute(self, order: Order, market: SymbolMarket, config: MarketConfig,
                 when: datetime) -> list[Report]:  # fmt: skip
        """Take liquidity now; then rest, or cancel what must not rest."""
        t = order.terms
        limit = _limit(order)
        if t.time_in_force == FOK and market.available(t.side, limit) < order.leaves_qty:
            return [self._cancel(order, when, FOK_NOT_FILLED)]
        reports = []
        for price, quantity in market.take(t.side, order.leaves_qty, limit):
            reports.append(self._trades.fill(order, quantity, price, TAKER, config, when))
            market.traded(price, quantity)
        if not order.is_closed:
            if limit is None:
                reports.append(self._cancel(order, when, MARKET_REMAINDER_CANCELED))
            elif t.time_in_force == IOC:
                reports.append(self._cancel(order, when, IOC_REMAINDER_CANCELED))
            else:
                self._list(order)
        return reports

    def _cancel(self, order: Order, when: datetime, text: str) -> Report:
        order.status = f.CANCELED
        self._unlist(order)
        return self._reports.execution_report(
            order, exec_type=f.EXEC_CANCELED, cl_ord_id=order.current_cl_ord_id, when=when,
            text=text)  # fmt: skip

    def _list(self, order: Order) -> None:
        waiting = order.terms.ord_type in STOP_TYPES and not order.triggered
        table = self._stops if waiting else self._resting
        table.setdefault(order.terms.symbol, {})[order.order_id] = order

    def _unlist(self, order: Order) -> None:
        for table in (self._resting, self._stops):
            table.get(order.terms.symbol, {}).pop(order.order_id, None)

    # -- the market moved ------------------------------------------------------------------

    def market_moved(self, market: SymbolMarket, config: MarketConfig,
                     when: datetime) -> list[Report]:  # fmt: skip
        """After a step or a book set by hand: stops, then resting orders, then the stops
        their trades may have triggered."""
        reports = self._trigger_stops(market, config, when)
        for side in (BUY, SELL):
            reports += self._fill_resting(market, side, config, when)
        return reports + self._trigger_stops(market, config, when)

    def _live(self, table: dict[str, dict[str, Order]], symbol: str) -> list[Order]:
        orders = table.get(symbol, {})
        for order_id in [oid for oid, order in orders.items() if order.is_closed]:
            del orders[order_id]
        return list(orders.values())

    def _fill_resting(self, market: SymbolMarket, side: str, config: MarketConfig,
                      when: datetime) -> list[Report]:  # fmt: skip
        best = market.best(side)
        if best is None:
            return []
        touched = [order for order in self._live(self._resting, market.symbol)
                   if order.terms.side == side and market.within(side, best, order.terms.price)]
        if not touched or self._fill_rng(market.symbol).random() >= config.fill_probability:
            return []
        sign = -1 if side == BUY else 1
        touched.sort(key=lambda order: (sign * order.terms.price, order.priority))  # type: ignore
        reports = []
        for order in touched:
            price = order.terms.price
            assert price is not None
            taken = market.take(side, order.leaves_qty, price)
            if not taken:
                break  # nothing left within this limit, so nothing within the ones behind it
            quantity = sum(size for _, size in taken)
            reports.append(self._trades.fill(order, quantity, price, MAKER, config, when))
            market.traded(price, quantity)
        return reports

    def _fill_rng(self, symbol: str) -> random.Random:
        rng = self._fill_rngs.get(symbol)
        if rng is None:
            seed = None if self._seed is None else f"{self._seed}:{symbol}:fills"
            rng = self._fill_rngs[symbol] = random.Random(seed)
        return rng

    @staticmethod
    def _stop_hit(order: Order, market: SymbolMarket) -> bool:
        last, stop = market.last_px, order.terms.stop_px
        if last is None or stop is None:
            return False
        return last >= stop if order.terms.side == BUY else last <= stop

    def _trigger_stops(self, market: SymbolMarket, config: MarketConfig,
                       when: datetime) -> list[Report]:  # fmt: skip
        reports: list[Report] = []
        while True:  # a triggered stop's trades move the last, which may trigger another
            hit = [order for order in self._live(self._stops, market.symbol)
                   if self._stop_hit(order, market)]
            if not hit:
                return reports
            for order in sorted(hit, key=lambda order: order.priority):
                if not order.triggered:
                    self._unlist(order)
                    order.triggered = True
                    reports += self._execute(order, market, config, when)
