"""The markets' timer and their HTTP operations (set a book, force a fill, bust or correct a
trade, pause and resume, read the trade log and a symbol's book), on the asyncio thread.

Each one changes its venue under the exchange's lock and queues the reports it made, due at
once: they are the venue's unsolicited reports, sent behind anything already queued for the
session. Bodies come in with JSON numbers read as Decimals (never floats) or as strings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from exchange.fees import MAKER, TAKER
from exchange.market import Level
from exchange.market_config import parse_decimal
from exchange.reports import Report
from exchange.trades import TradeError
from exchange.venue import Venue

logger = logging.getLogger("exchange")

Queue = Callable[[str, list[Report], int], None]
LIQUIDITY = {"MAKER": MAKER, "TAKER": TAKER, MAKER: MAKER, TAKER: TAKER}


def _fields(body: Any, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise TradeError("invalid_body", "body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise TradeError("invalid_field", f"unknown fields: {', '.join(sorted(unknown))}")
    missing = required - set(body)
    if missing:
        raise TradeError("invalid_field", f"missing fields: {', '.join(sorted(missing))}")
    return body


def _decimal(name: str, value: Any) -> Decimal:
    if isinstance(value, Decimal):
        value = str(value)
    try:
        return parse_decimal(name, value, positive=True)
    except ValueError as error:
        raise TradeError("invalid_field", str(error)) from None


def _levels(name: str, value: Any) -> list[Level]:
    if not isinstance(value, list):
        raise TradeError("invalid_field", f"{name} must be a list of {{price, size}}")
    levels = []
    for level in value:
        fields = _fields(level, {"price", "size"}, {"price", "size"})
        levels.append(Level(_decimal(f"{name}.price", fields["price"]),
                            _decimal(f"{name}.size", fields["size"])))  # fmt: skip
    if len({level.price for level in levels}) != len(levels):
        raise TradeError("invalid_field", f"{name} repeats a price")
    return levels


class MarketControl:
    def __init__(self, venues: dict[str, Venue], lock: threading.Lock, queue: Queue) -> None:
        self._venues = venues
        self._lock = lock
        self._queue = queue

    def _apply(self, name: str, change: Callable[[Venue], tuple[list[Report], Any]]) -> Any:
        venue = self._venues[name]  # KeyError: the HTTP layer answers unknown_venue
        with self._lock:
            reports, result = change(venue)
        self._queue(name, reports, time.monotonic_ns())
        return result

    def advance(self) -> None:
        """The timer: each venue's market steps when due; market-data updates go out."""
        now = time.monotonic_ns()
        for name, venue in self._venues.items():
            with self._lock:
                reports = venue.advance_market(now)
            self._queue(name, reports, now)

    def set_book(self, name: str, symbol: str, body: Any) -> dict[str, Any]:
        fields = _fields(body, {"bids", "asks", "last"}, set())
        bids = _levels("bids", fields.get("bids", []))
        asks = _levels("asks", fields.get("asks", []))
        last = None if fields.get("last") is None else _decimal("last", fields["last"])
        logger.info("book set venue=%s symbol=%s bids=%d asks=%d", name, symbol, len(bids),
                    len(asks))  # fmt: skip

        def change(venue: Venue) -> tuple[list[Report], Any]:
            reports = venue.set_book(symbol, bids, asks, last)
            return reports, self._book(venue, symbol)

        return self._apply(name, change)

    def unpin(self, name: str, symbol: str) -> dict[str, Any]:
        def change(venue: Venue) -> tuple[list[Report], Any]:
            venue.market.unpin(symbol)
            return [], self._book(venue, symbol)

        return self._apply(name, change)

    def book(self, name: str, symbol: str) -> dict[str, Any]:
        return self._apply(name, lambda venue: ([], self._book(venue, symbol)))

    @staticmethod
    def _book(venue: Venue, symbol: str) -> dict[str, Any]:
        snapshot = venue.market.snapshot(symbol)
        if snapshot is None:
            raise TradeError("unknown_symbol", f"{venue.name} has no market for {symbol!r}")
        return {"venue": venue.name, **snapshot}

    def trades(self, name: str) -> dict[str, Any]:
        return self._apply(name, lambda venue: ([], {"venue": name,
                                                     "trades": venue.market.trades.as_json()}))

    def pause(self, name: str, paused: bool) -> dict[str, Any]:
        def change(venue: Venue) -> tuple[list[Report], Any]:
            venue.market.pause() if paused else venue.market.resume()
            return [], {"venue": name, "paused": venue.market.paused}

        result = self._apply(name, change)
        logger.info("market venue=%s %s", name, "paused" if paused else "resumed")
        return result

    def force_fill(self, name: str, cl_ord_id: str, body: Any) -> dict[str, Any]:
        fields = _fields(body, {"qty", "price", "liquidity"}, {"qty", "price"})
        quantity, price = _decimal("qty", fields["qty"]), _decimal("price", fields["price"])
        liquidity = LIQUIDITY.get(str(fields.get("liquidity", "MAKER")).upper())
        if liquidity is None:
            raise TradeError("invalid_field", "liquidity must be MAKER or TAKER")

        def change(venue: Venue) -> tuple[list[Report], Any]:
            report, order = venue.force_fill(cl_ord_id, quantity, price, liquidity)
            trade = venue.market.trades.get(report.get(17) or "")
            return [report], {"venue": name, "trade": trade.as_json(), "order": order.as_json()}

        logger.info("forced fill venue=%s clOrdId=%s qty=%s price=%s", name, cl_ord_id,
                    quantity, price)  # fmt: skip
        return self._apply(name, change)

    def bust(self, name: str, exec_id: str) -> dict[str, Any]:
        def change(venue: Venue) -> tuple[list[Report], Any]:
            report = venue.bust(exec_id)
            trade = venue.market.trades.get(exec_id)
            return [report], {"venue": name, "execId": report.get(17), "trade": trade.as_json(),
                              "order": trade.order.as_json()}  # fmt: skip

        logger.info("bust venue=%s execId=%s", name, exec_id)
        return self._apply(name, change)

    def correct(self, name: str, exec_id: str, body: Any) -> dict[str, Any]:
        fields = _fields(body, {"qty", "price"}, {"qty", "price"})
        quantity, price = _decimal("qty", fields["qty"]), _decimal("price", fields["price"])

        def change(venue: Venue) -> tuple[list[Report], Any]:
            report = venue.correct(exec_id, quantity, price)
            trade = venue.market.trades.get(exec_id)
            return [report], {"venue": name, "execId": report.get(17), "trade": trade.as_json(),
                              "order": trade.order.as_json()}  # fmt: skip

        logger.info("correction venue=%s execId=%s qty=%s price=%s", name, exec_id, quantity,
                    price)  # fmt: skip
        return self._apply(name, change)
