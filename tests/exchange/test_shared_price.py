"""Venues of one exchange process share one price per symbol (exchange/tape.py), and each keeps
its own book on it (exchange/market.py): its levels and sizes, what orders take there, its
pins, its prints. Driven as the process drives them: a timer every 20 ms calls each venue's
`advance_market` with the same clock reading."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange.config import ExchangeConfig, Latency, VenueConfig
from exchange.market import SymbolMarket
from exchange.market_config import MarketConfig
from exchange.service import Exchange
from exchange.tape import Tape, to_ticks
from exchange.venue import Venue

from .clock import FakeClock, FakeWallClock
from .market_helpers import levels, order, send, trades
from .test_http_api import FakeFix

TICK = Decimal("0.01")
TIMER_NS = 20_000_000  # the process's market timer
PRICES = {"market": True, "symbols": "AAPL=190.00,MSFT=320.00", "volatilityTicks": 2,
          "tickMs": 100, "fillProbability": 1}  # fmt: skip
# Shaped like `./oms run`'s demo venues: the same price settings, their own books.
SHAPES = {"XFAST": {"levels": 10, "depth": 1000}, "XSLOW": {"levels": 3, "depth": 100},
          "XMOCK": {"levels": 5, "depth": 500}}  # fmt: skip


class Process:
    """Venues sharing one tape, and the timer that drives them."""

    def __init__(self, seed: str | None = "7", names: tuple[str, ...] = ("XFAST", "XSLOW"),
                 **market: Any) -> None:  # fmt: skip
        self.clock = FakeClock()
        self.tape = Tape(seed)
        self.venues = {
            name: Venue(name, VenueConfig(latency=Latency.parse(0)).updated(
                {**PRICES, **SHAPES[name], **market}), seed=seed, monotonic_ns=self.clock,
                wall_clock=FakeWallClock(), tape=self.tape)
            for name in names
        }  # fmt: skip
        for venue in self.venues.values():
            for symbol in ("AAPL", "MSFT"):
                venue.market.market_for(symbol)

    def tick(self) -> None:
        self.clock.now_ns += TIMER_NS
        for venue in self.venues.values():
            venue.advance_market(self.clock.now_ns)

    def books(self, symbol: str = "AAPL") -> dict[str, SymbolMarket]:
        markets = {name: venue.market.markets.get(symbol) for name, venue in self.venues.items()}
        assert all(markets.values())
        return markets  # type: ignore[return-value]

    def shared(self, symbol: str = "AAPL") -> Decimal:
        walk = self.tape.get(symbol)
        assert walk is not None
        return walk.price

    def snapshots(self) -> dict[str, dict[str, Any]]:
        return {f"{name}:{symbol}": market.snapshot()
                for symbol in ("AAPL", "MSFT") for name, market in self.books(symbol).items()}


def test_venues_quote_one_price_a_tick_apart_at_most_and_never_cross() -> None:
    process = Process()
    prices, offsets = set(), set()
    for _ in range(3000):  # a minute of the timer
        process.tick()
        for symbol in ("AAPL", "MSFT"):
            books, shared = process.books(symbol), to_ticks(process.shared(symbol), TICK)
            centres = [market.mid_ticks for market in books.values()]
            offsets |= {centre - shared for centre in centres}
            assert max(centres) - min(centres) <= 1
            best_bid = max(market.bids[0].price for market in books.values())
            best_ask = min(market.asks[0].price for market in books.values())
            assert best_bid < best_ask  # the consolidated book: never locked, never crossed
        prices.add(process.shared())
        fast, slow = process.books().values()
        assert (len(fast.bids), len(fast.asks), len(slow.bids), len(slow.asks)) == (10, 10, 3, 3)
        assert all(500 <= lv.size <= 1500 for lv in fast.bids + fast.asks)
        assert all(50 <= lv.size <= 150 for lv in slow.bids + slow.asks)
    assert offsets == {0, 1}
    # 100 ms steps in the 59.98 s since the tape's origin, its first reading (the first tick).
    assert process.tape.get("AAPL").index == 599  # type: ignore[union-attr]
    assert len(prices) > 20  # the shared price walks: a minute is not a standstill
    fast, slow = process.books().values()
    assert fast.version > 599 and slow.version > 599  # each venue stepped on each move


def test_what_an_order_takes_at_one_venue_is_gone_there_only() -> None:
    process, quiet = Process(), Process()
    for run in (process, quiet):
        for _ in range(50):
            run.tick()
    fast, slow = process.venues.values()
    before = process.books()["XSLOW"].snapshot()
    asks = [(lv.price, lv.size) for lv in process.books()["XFAST"].asks]
    limit = str(asks[1][0])
    reports = send(fast, order("T", qty=str(asks[0][1] + 1), price=limit, tif="3"))
    assert [(r[32], r[31]) for r in trades(reports)] == [
        (str(asks[0][1]), str(asks[0][0])), ("1", limit)]
    after = [(lv.price, lv.size) for lv in process.books()["XFAST"].asks]
    assert after == [(asks[1][0], asks[1][1] - 1)] + asks[2:]
    assert process.books()["XSLOW"].snapshot() == before  # XSLOW's book untouched
    assert process.books()["XFAST"].last_px == Decimal(limit)  # XFAST's own print
    assert slow.market.trades.as_json() == []
    for _ in range(100):  # nor does it move the shared price
        process.tick()
        quiet.tick()
        assert process.shared() == quiet.shared()
        assert process.books()["XSLOW"].snapshot() == quiet.books()["XSLOW"].snapshot()


def test_a_pinned_book_moves_neither_the_other_venue_nor_the_shared_price() -> None:
    process, quiet = Process(), Process()
    fast = process.venues["XFAST"]
    fast.set_book("AAPL", levels(("150.00", "10")), levels(("151.00", "20")), Decimal("150.50"))
    pinned = process.books()["XFAST"].snapshot()
    for _ in range(500):
        process.tick()
        quiet.tick()
        assert process.shared() == quiet.shared()
        assert process.books()["XSLOW"].snapshot() == quiet.books()["XSLOW"].snapshot()
        slow_centre = process.books()["XSLOW"].mid_ticks - to_ticks(process.shared(), TICK)
        assert slow_centre in (0, 1)
    assert process.books()["XFAST"].snapshot() == pinned  # as set, to the last
    fast.market.unpin("AAPL")  # back on the shared price, where it is now
    assert process.books()["XFAST"].mid_ticks == to_ticks(process.shared(), TICK)
    for _ in range(100):
        process.tick()
        centres = [market.mid_ticks for market in process.books().values()]
        assert max(centres) - min(centres) <= 1


def test_a_paused_venue_keeps_its_book_while_the_price_goes_on() -> None:
    process = Process()
    slow = process.venues["XSLOW"]
    slow.market.pause()
    held = process.books()["XSLOW"].snapshot()
    for _ in range(200):
        process.tick()
    assert process.books()["XSLOW"].snapshot() == held
    assert process.tape.get("AAPL").index == 39  # type: ignore[union-attr]  # 3.98 s
    slow.market.resume()
    for _ in range(5):  # the next step centres on the price as it is then
        process.tick()
    centres = [market.mid_ticks for market in process.books().values()]
    assert max(centres) - min(centres) <= 1


def test_the_same_seed_walks_the_same_path_however_many_venues_read_it() -> None:
    def path(seed: str | None, names: tuple[str, ...] = ("XFAST", "XSLOW")) -> list[Any]:
        process = Process(seed, names)
        steps = []
        for _ in range(500):
            process.tick()
            steps.append((process.shared("AAPL"), process.shared("MSFT"), process.snapshots()))
        return steps

    first = path("7")
    assert first == path("7")  # prices, books, sizes and prints
    assert first != path("8")
    shared = [(aapl, msft) for aapl, msft, _ in first]
    assert [(a, m) for a, m, _ in path("7", ("XFAST",))] == shared
    assert [(a, m) for a, m, _ in path("7", ("XMOCK", "XSLOW", "XFAST"))] == shared


def test_the_tape_moves_by_whole_intervals_of_its_clock_not_by_its_readers() -> None:
    tape = Tape("1")
    tape.catch_up(5_000_000)  # the origin
    walk = tape.walk("AAPL", Decimal("190.00"), MarketConfig(volatility_ticks=3, tick_ms=100))
    for now_ms in (5, 5, 104, 104, 104):
        tape.catch_up(now_ms * 1_000_000)
        assert walk.index == 0
    tape.catch_up(255_000_000)
    assert walk.index == 2
    tape.catch_up(105_000_000)  # an earlier reading is ignored
    assert walk.index == 2 and tape.index(100) == 2 and tape.index(50) == 5
    # A walk made later starts at its reference price, that many intervals in.
    later = tape.walk("MSFT", Decimal("320.004"), MarketConfig(tick_ms=100))
    assert (later.index, later.price) == (2, Decimal("320.00"))
    assert tape.walk("MSFT", Decimal("1"), MarketConfig()) is later  # made once


def test_the_exchange_gives_its_venues_one_tape_and_a_reset_starts_it_again() -> None:
    config = ExchangeConfig(venues=("XFAST", "XSLOW"), seed="7", summary_interval_s=0,
                            venue=VenueConfig(market=MarketConfig(volatility_ticks=2)))
    exchange = Exchange(config, run_id="t", fix_factory=FakeFix)
    fast, slow = exchange.venues.values()
    assert fast.tape is slow.tape is exchange.tape
    fast.market.market_for("AAPL")
    walk = exchange.tape.get("AAPL")
    assert walk is not None and slow.market.market_for("AAPL").walk is walk  # type: ignore
    for _ in range(5):
        exchange.tape.advance()
    exchange.reset(restore_config=False).result()
    assert exchange.tape.get("AAPL") is None and fast.tape is exchange.tape
    again = fast.market.market_for("AAPL")
    assert again is not None and again.walk.price == Decimal("190.00")
