"""Reads of the market data cache (marketdata/quotes.py) for the API, routing and risk."""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import redis
from django.conf import settings
from django.utils import timezone

from marketdata.errors import MarketDataNotFound
from marketdata.quotes import QuoteStore

# The symbols orders may carry (orders/serializers.py); anything else names no market data.
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9./-]*$"
SYMBOL_MAX_LENGTH = 32


@lru_cache(maxsize=1)
def quote_store() -> QuoteStore:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)
    return QuoteStore(client)


@dataclass(frozen=True)
class VenueQuote:
    venue: str
    bid: Decimal | None
    bid_size: Decimal | None
    ask: Decimal | None
    ask_size: Decimal | None
    last: Decimal | None
    last_size: Decimal | None
    timestamp: datetime
    age_seconds: float
    stale: bool
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]

    @property
    def mid(self) -> Decimal | None:
        """Halfway between bid and ask; the last trade when a side is missing."""
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.last


def _decimal(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def _levels(value: str) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(s)) for p, s in json.loads(value or "[]")]


def quotes_for_symbol(*, symbol: str, now: datetime | None = None) -> list[VenueQuote]:
    """Every venue's latest quote for `symbol`, `stale` when older than
    OMS_MARKET_DATA_STALE_SECONDS by the venue's SendingTime; MarketDataNotFound when no
    venue has one."""
    stored = quote_store().for_symbol(symbol)
    if not stored:
        raise MarketDataNotFound(f"No market data for {symbol}.")
    now = now or timezone.now()
    return [_venue_quote(venue, fields, now) for venue, fields in stored.items()]


def venue_quote(*, venue: str, symbol: str, now: datetime | None = None) -> VenueQuote | None:
    """One venue's latest quote for `symbol` (stale or not), or None: none stored, one that
    cannot be read, or Redis unreachable (then risk and routing see no market)."""
    try:
        fields = quote_store().for_venue(venue, symbol)
        return _venue_quote(venue, fields, now or timezone.now()) if fields else None
    except (redis.RedisError, KeyError, ValueError, ArithmeticError):
        return None


def _venue_quote(venue: str, fields: dict[str, str], now: datetime) -> VenueQuote:
    timestamp = datetime.fromisoformat(fields["ts"].replace("Z", "+00:00"))
    age = (now - timestamp).total_seconds()
    return VenueQuote(
        venue=venue, bid=_decimal(fields.get("bid", "")),
        bid_size=_decimal(fields.get("bidSize", "")), ask=_decimal(fields.get("ask", "")),
        ask_size=_decimal(fields.get("askSize", "")),
        last=_decimal(fields.get("last", "")),
        last_size=_decimal(fields.get("lastSize", "")), timestamp=timestamp,
        age_seconds=max(age, 0.0), stale=age > settings.OMS_MARKET_DATA_STALE_SECONDS,
        bids=_levels(fields.get("bids", "")), asks=_levels(fields.get("asks", "")),
    )


def consolidated_quote(*, symbol: str, now: datetime | None = None) -> VenueQuote | None:
    """The best bid and the best offer among the venues' fresh quotes for `symbol` (each
    with its venue's size), as one quote named "*"; None when no venue has a fresh one."""
    try:
        fresh = [quote for quote in quotes_for_symbol(symbol=symbol, now=now) if not quote.stale]
    except (MarketDataNotFound, redis.RedisError, KeyError, ValueError, ArithmeticError):
        return None
    if not fresh:
        return None
    bids = [q for q in fresh if q.bid is not None]
    asks = [q for q in fresh if q.ask is not None]
    best_bid = max(bids, key=lambda q: q.bid, default=None)
    best_ask = min(asks, key=lambda q: q.ask, default=None)
    newest = max(fresh, key=lambda q: q.timestamp)
    return VenueQuote(
        venue="*", bid=best_bid and best_bid.bid, bid_size=best_bid and best_bid.bid_size,
        ask=best_ask and best_ask.ask, ask_size=best_ask and best_ask.ask_size,
        last=newest.last, last_size=newest.last_size, timestamp=newest.timestamp,
        age_seconds=newest.age_seconds, stale=False,
        bids=[(best_bid.bid, best_bid.bid_size)] if best_bid else [],
        asks=[(best_ask.ask, best_ask.ask_size)] if best_ask else [],
    )


def market_data_want(*, symbol: str) -> None:
    """No venue has a quote for `symbol`: ask the FIX holders to subscribe to it (each looks
    within a second). Best effort: without Redis there is no market data either."""
    try:
        quote_store().want(symbol)
    except redis.RedisError:
        pass
