"""A venue's market settings: whether it trades at all, its price process, its book, its
fill probability and its fees, with their parsing.

The same parsers serve the command line, the environment and `PUT /venues/{venue}/config`
(whose body takes these fields next to the venue's others). Prices, sizes and fees are
Decimals parsed from text, never floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from exchange.config_error import ConfigError

# The demo market, on by default: `python -m exchange` is a market that trades. Test and
# benchmark harnesses that need orders to rest say `--market off` (exchange/README.md).
DEFAULT_MARKET = True
DEFAULT_SYMBOLS = (
    "AAPL=190.00,MSFT=320.00,GOOGL=170.00,AMZN=185.00,NVDA=120.00,TSLA=250.00,SPY=550.00"
)
DEFAULT_TICK_SIZE = "0.01"
DEFAULT_VOLATILITY_TICKS = 1
DEFAULT_LEVELS = 5
DEFAULT_DEPTH = 500
DEFAULT_TICK_MS = 100
DEFAULT_FILL_PROBABILITY = 1.0
# Per share, in the instrument's currency: a taker pays 0.30 per 100 shares, a maker gets a
# 0.20 rebate (negative commission), like a US equity venue's price list.
DEFAULT_MAKER_FEE = "-0.0020"
DEFAULT_TAKER_FEE = "0.0030"

MAX_LEVELS = 50
MAX_VOLATILITY_TICKS = 100
MIN_TICK_MS, MAX_TICK_MS = 10, 60_000

MARKET_FIELDS = ("market", "symbols", "tickSize", "volatilityTicks", "levels", "depth",
                 "tickMs", "fillProbability", "makerFeePerShare", "takerFeePerShare")  # fmt: skip

# The command line and environment of each field: (option, variable, field, help).
MARKET_OPTIONS = (
    ("--market", "EXCHANGE_MARKET", "market",
     (f"on or off (default {'on' if DEFAULT_MARKET else 'off'}): off is a venue without a "
      "market (orders rest as NEW, IOC and FOK too; V gets 35=j)")),
    ("--symbols", "EXCHANGE_SYMBOLS", "symbols",
     f"reference prices SYMBOL=PRICE,... (default {DEFAULT_SYMBOLS})"),
    ("--tick-size", "EXCHANGE_TICK_SIZE", "tickSize",
     f"price increment (default {DEFAULT_TICK_SIZE})"),
    ("--volatility-ticks", "EXCHANGE_VOLATILITY_TICKS", "volatilityTicks",
     f"largest move of one step, in ticks (default {DEFAULT_VOLATILITY_TICKS})"),
    ("--levels", "EXCHANGE_LEVELS", "levels", f"book levels a side (default {DEFAULT_LEVELS})"),
    ("--depth", "EXCHANGE_DEPTH", "depth", f"mean size of a level (default {DEFAULT_DEPTH})"),
    ("--tick-ms", "EXCHANGE_TICK_MS", "tickMs",
     f"milliseconds between steps of the price process (default {DEFAULT_TICK_MS})"),
    ("--fill-probability", "EXCHANGE_FILL_PROBABILITY", "fillProbability",
     f"chance per step that a reached resting order fills (default {DEFAULT_FILL_PROBABILITY:g})"),
    ("--maker-fee", "EXCHANGE_MAKER_FEE", "makerFeePerShare",
     f"per share; negative is a rebate (default {DEFAULT_MAKER_FEE})"),
    ("--taker-fee", "EXCHANGE_TAKER_FEE", "takerFeePerShare",
     f"per share (default {DEFAULT_TAKER_FEE})"),
)  # fmt: skip

_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}")
_ON = {"on", "true", "1", "yes"}
_OFF = {"off", "false", "0", "no"}


def parse_switch(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _ON | _OFF:
        return value.strip().lower() in _ON
    raise ConfigError(f"{name} must be on or off (true or false), not {value!r}")


def parse_decimal(name: str, value: Any, *, positive: bool = False) -> Decimal:
    """A Decimal from a JSON string or integer (a float would already be inexact)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(f"{name} must be a decimal number written as a string, like \"0.01\"")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ConfigError(f"{name} {value!r} is not a decimal number") from None
    if not number.is_finite() or (positive and number <= 0):
        raise ConfigError(f"{name} {value!r} must be a finite number{' above 0' * positive}")
    return number


def parse_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer")
    try:
        number = int(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r} is not an integer") from None
    if isinstance(value, float) and value != number:
        raise ConfigError(f"{name} {value!r} is not an integer")
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return number


def parse_probability(value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError("fillProbability must be a number between 0 and 1")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(f"fillProbability {value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"fillProbability {value!r} must be between 0 and 1")
    return number


def parse_symbols(value: Any) -> dict[str, Decimal]:
    """Reference prices: "AAPL=190.00,MSFT=420" or {"AAPL": "190.00"}; "" is none."""
    if isinstance(value, str):
        pairs = []
        for part in value.split(","):
            if part.strip():
                symbol, sep, price = part.partition("=")
                if not sep:
                    raise ConfigError(f"symbols: {part.strip()!r} is not SYMBOL=PRICE")
                pairs.append((symbol.strip(), price.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise ConfigError("symbols must be 'AAPL=190.00,MSFT=420.00' or an object of prices")
    prices = {}
    for symbol, price in pairs:
        if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
            raise ConfigError(f"symbols: {symbol!r} is not a symbol")
        prices[symbol] = parse_decimal(f"symbols[{symbol}]", price, positive=True)
    return prices


@dataclass(frozen=True)
class MarketConfig:
    on: bool = DEFAULT_MARKET
    symbols: dict[str, Decimal] = field(default_factory=lambda: parse_symbols(DEFAULT_SYMBOLS))
    tick_size: Decimal = Decimal(DEFAULT_TICK_SIZE)
    volatility_ticks: int = DEFAULT_VOLATILITY_TICKS
    levels: int = DEFAULT_LEVELS
    depth: int = DEFAULT_DEPTH
    tick_ms: int = DEFAULT_TICK_MS
    fill_probability: float = DEFAULT_FILL_PROBABILITY
    maker_fee: Decimal = Decimal(DEFAULT_MAKER_FEE)
    taker_fee: Decimal = Decimal(DEFAULT_TAKER_FEE)

    def updated(self, changes: dict[str, Any]) -> MarketConfig:
        """Apply the market fields of a `PUT /config` body (validated before any applies)."""
        parsers = {
            "market": ("on", lambda v: parse_switch("market", v)),
            "symbols": ("symbols", parse_symbols),
            "tickSize": ("tick_size", lambda v: parse_decimal("tickSize", v, positive=True)),
            "volatilityTicks": ("volatility_ticks",
                                lambda v: parse_int("volatilityTicks", v, 0, MAX_VOLATILITY_TICKS)),
            "levels": ("levels", lambda v: parse_int("levels", v, 1, MAX_LEVELS)),
            "depth": ("depth", lambda v: parse_int("depth", v, 1, 10**9)),
            "tickMs": ("tick_ms", lambda v: parse_int("tickMs", v, MIN_TICK_MS, MAX_TICK_MS)),
            "fillProbability": ("fill_probability", parse_probability),
            "makerFeePerShare": ("maker_fee", lambda v: parse_decimal("makerFeePerShare", v)),
            "takerFeePerShare": ("taker_fee", lambda v: parse_decimal("takerFeePerShare", v)),
        }  # fmt: skip
        values = {}
        for name, value in changes.items():
            attribute, parse = parsers[name]
            values[attribute] = parse(value)
        return replace(self, **values)

    def as_json(self) -> dict[str, Any]:
        return {
            "market": self.on,
            "symbols": {symbol: str(price) for symbol, price in self.symbols.items()},
            "tickSize": str(self.tick_size),
            "volatilityTicks": self.volatility_ticks,
            "levels": self.levels,
            "depth": self.depth,
            "tickMs": self.tick_ms,
            "fillProbability": self.fill_probability,
            "makerFeePerShare": str(self.maker_fee),
            "takerFeePerShare": str(self.taker_fee),
        }
