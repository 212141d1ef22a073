"""The price process (exchange/tape.py) and a venue's simulated book on it (exchange/market.py):
exact, shaped as configured, and reproducible: the same seed and the same inputs give the same
prices. Venues sharing one price: test_shared_price.py."""

from __future__ import annotations

from decimal import Decimal

from exchange.market import SymbolMarket
from exchange.market_config import MarketConfig
from exchange.tape import Tape

from .market_helpers import book_of, market_venue, order, send, set_book, step

CONFIG = MarketConfig(tick_size=Decimal("0.05"), volatility_ticks=2, levels=4, depth=300)


def on_tape(reference: str, config: MarketConfig, seed: str | None,
            symbol: str = "AAPL") -> tuple[Tape, SymbolMarket]:  # fmt: skip
    """A venue's market of `symbol` on a tape of its own."""
    tape = Tape(seed)
    return tape, SymbolMarket(symbol, tape.walk(symbol, Decimal(reference), config), config, seed)


def walk(seed: str | None, steps: int = 100, config: MarketConfig = CONFIG) -> list[dict]:
    tape, market = on_tape("190.00", config, seed)
    snapshots = [market.snapshot()]
    for _ in range(steps):
        tape.advance()
        market.step()
        snapshots.append(market.snapshot())
    return snapshots


def test_the_same_seed_gives_the_same_prices_and_another_seed_others() -> None:
    assert walk("42") == walk("42")
    assert walk("42") != walk("43")
    # The book is redrawn at every step, the walk moves: not a constant.
    assert len({s["last"]["price"] for s in walk("42")}) > 5


def test_orders_do_not_change_the_walk() -> None:
    """Orders that trade (taking liquidity, drawing the fill probability's coin) leave the
    price process exactly where it would have been without them."""
    quiet = market_venue(volatilityTicks=3, fillProbability=0.5)
    busy = market_venue(volatilityTicks=3, fillProbability=0.5)
    assert book_of(quiet) == book_of(busy)  # both markets made now, at the reference price
    walks = [venue.market.markets.get("AAPL") for venue in (quiet, busy)]
    for n in range(30):
        send(busy, order(f"T{n}", qty="60", price=None, ord_type="1", tif="3"))
        send(busy, order(f"R{n}", qty="1000", price="100.08"))
        step(quiet)
        step(busy)  # resting orders, reached now and then, draw the fill coin
        assert walks[0].mid_ticks == walks[1].mid_ticks
        assert walks[0]._rng.getstate() == walks[1]._rng.getstate()
    assert len(busy.market.trades) > 30
    assert any(t["liquidity"] == "MAKER" for t in busy.market.trades.as_json())


def test_the_book_has_its_levels_on_ticks_around_the_last_with_sizes_around_depth() -> None:
    tape, market = on_tape("190.00", CONFIG, "7")
    previous, offsets = market.walk.price, set()
    for _ in range(200):
        tape.advance()
        market.step()
        shared, last = market.walk.price, market.last_px
        assert last is not None
        assert abs(shared - previous) <= 2 * CONFIG.tick_size  # volatility: 2 ticks a step
        offsets.add(last - shared)  # the book centres on the shared price or a tick above
        previous = shared
        bids, asks = [lv.price for lv in market.bids], [lv.price for lv in market.asks]
        assert bids == [last - CONFIG.tick_size * i for i in range(1, 5)]
        assert asks == [last + CONFIG.tick_size * i for i in range(1, 5)]
        for level in market.bids + market.asks:
            assert level.price % CONFIG.tick_size == 0
            assert 150 <= level.size <= 450 and level.size == level.size.to_integral_value()
    assert offsets == {Decimal(0), CONFIG.tick_size}


def test_a_reference_price_off_the_tick_is_rounded_onto_it() -> None:
    _, market = on_tape("10.03", CONFIG, "1", symbol="X")
    assert str(market.walk.price) == str(market.last_px) == "10.05"
    assert str(market.asks[0].price) == "10.10"


def test_volatility_zero_keeps_the_price_still() -> None:
    prices = {s["last"]["price"] for s in walk("1", config=MarketConfig(volatility_ticks=0))}
    assert prices == {"190.00"}


def test_taking_liquidity_is_exact_and_gone_until_the_next_refresh() -> None:
    _, market = on_tape("190.00", MarketConfig(levels=2, depth=100), "3")
    first, second = (level.size for level in market.asks)
    taken = market.take("1", first + second + 10, Decimal("190.02"))
    assert taken == [(Decimal("190.01"), first), (Decimal("190.02"), second)]
    assert market.asks == [] and market.available("1", None) == 0
    market.step()
    assert len(market.asks) == 2


def test_a_pinned_book_stays_as_set_until_released_on_the_shared_price() -> None:
    venue = market_venue(volatilityTicks=5)
    set_book(venue, bids=(("99.00", "10"),), asks=(("101.00", "20"),), last="100.00")
    step(venue, 10)
    assert book_of(venue) == {"bids": [("99.00", "10")], "asks": [("101.00", "20")]}
    shared = venue.tape.get("AAPL")
    assert shared is not None and shared.index == 10  # the price went on meanwhile
    venue.market.unpin("AAPL")
    asks = book_of(venue)["asks"]
    assert len(asks) == 3 and Decimal(asks[0][0]) == shared.price + Decimal("0.01")
