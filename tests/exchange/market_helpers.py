"""A venue with its market on, driven by hand: books set exactly, steps taken when a test says,
every report it makes read back as tag -> value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange.market import Level
from exchange.order_rules import Inbound
from exchange.reports import Report
from exchange.venue import Venue

from .clock import FakeClock, FakeWallClock
from .venue_messages import make_venue, message


def market_venue(clock: FakeClock | None = None, wall: FakeWallClock | None = None,
                 **market: Any) -> Venue:  # fmt: skip
    """AAPL at 100.00, a book of 3 levels of about 100 a side that the walk does not move
    (volatility 0), resting orders filled whenever reached (probability 1)."""
    settings = {"market": True, "symbols": "AAPL=100.00", "volatilityTicks": 0, "levels": 3,
                "depth": 100, "fillProbability": 1, **market}  # fmt: skip
    return make_venue(clock, wall, market=settings)


def levels(*pairs: tuple[str, str]) -> list[Level]:
    return [Level(Decimal(price), Decimal(size)) for price, size in pairs]


def set_book(venue: Venue, *, bids=(), asks=(), last: str | None = None,
             symbol: str = "AAPL") -> list[dict[int, str]]:  # fmt: skip
    """Pin the book; returns the reports of the resting orders it filled."""
    reports = venue.set_book(symbol, levels(*bids), levels(*asks),
                             None if last is None else Decimal(last))  # fmt: skip
    return [as_dict(report) for report in reports]


def as_dict(report: Report) -> dict[int, str]:
    return {35: report.msg_type, **dict(report.fields)}


def send(venue: Venue, inbound: Inbound) -> list[dict[int, str]]:
    """Every report the message made: its answers, then what it set off for other orders."""
    receipt = venue.receive(inbound)
    return [as_dict(report) for report in receipt.answers + receipt.follow + receipt.after]


def step(venue: Venue, times: int = 1) -> list[dict[int, str]]:
    reports: list[dict[int, str]] = []
    for _ in range(times):
        reports += [as_dict(report) for report in venue.step_market()]
    return reports


def order(cl_ord_id: str, side: str = "1", qty: str = "100", price: str | None = "100.00", *,
          ord_type: str = "2", tif: str = "0", stop: str | None = None,
          symbol: str = "AAPL", client: str = "OMS") -> Inbound:  # fmt: skip
    fields = {11: cl_ord_id, 526: f"c-{cl_ord_id}", 1: "ACC1", 55: symbol, 54: side,
              60: "20260302-12:00:00.000", 38: qty, 40: ord_type, 59: tif}  # fmt: skip
    if ord_type in ("2", "4"):
        fields[44] = price
    if ord_type in ("3", "4"):
        fields[99] = stop
    return message("D", fields, client=client)


def trades(reports: list[dict[int, str]], cl_ord_id: str | None = None) -> list[dict[int, str]]:
    return [r for r in reports if r.get(150) == "F" and cl_ord_id in (None, r[11])]


def fills(reports: list[dict[int, str]]) -> list[tuple[str, str]]:
    """(LastQty, LastPx) of each trade, in order."""
    return [(r[32], r[31]) for r in trades(reports)]


def book_of(venue: Venue, symbol: str = "AAPL") -> dict[str, list[tuple[str, str]]]:
    snapshot = venue.market.snapshot(symbol)
    assert snapshot is not None
    return {side: [(level["price"], level["size"]) for level in snapshot[side]]
            for side in ("bids", "asks")}  # fmt: skip


def order_of(venue: Venue, cl_ord_id: str) -> dict[str, Any]:
    return venue.book()[cl_ord_id]
