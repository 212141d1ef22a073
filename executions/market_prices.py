"""The latest market price of a symbol, for marking positions: a read of the market data
cache in Redis (marketdata/quotes.py writes it; this module only reads, across venues).

Key layout, one Redis hash per venue and symbol:

    oms:md:{venue}:{symbol}   e.g. oms:md:XMOCK:AAPL
        bid, ask          best bid and offer (decimal strings)
        bidSize, askSize  their sizes (decimal strings)
        last              the last trade's price (decimal string)
        ts                when the venue last changed any of these: ISO-8601 UTC,
                          e.g. 2026-12-01T14:30:00.123456Z (or +00:00)

`latest_price(symbol)` looks at the hash of every configured venue and takes the freshest
by `ts`: its `last`, or the mid of bid and ask when it has no last, or None when no venue
has a usable price (no hash, no `ts`, unreadable fields, or Redis unreachable: a mark is a
cache, and marking is best effort). Prices are exact decimals; the mid is (bid + ask) / 2.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import redis
from django.conf import settings

from marketdata.quotes import quote_key
from venues.models import Venue

FIELDS = ("bid", "ask", "last", "ts")


@dataclass(frozen=True)
class Mark:
    price: Decimal
    venue: str
    ts: datetime
    source: str  # "last" or "mid"


def _decimal(raw: bytes | None) -> Decimal | None:
    try:
        value = Decimal(raw.decode()) if raw else None
    except (InvalidOperation, UnicodeDecodeError):
        return None
    return value if value is not None and value.is_finite() and value > 0 else None


def _timestamp(raw: bytes | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw.decode().replace("Z", "+00:00")) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _mark(venue: str, values: list) -> Mark | None:
    bid, ask, last, ts = (values[0], values[1], values[2], values[3])
    moment = _timestamp(ts)
    if moment is None:
        return None
    if (price := _decimal(last)) is not None:
        return Mark(price=price, venue=venue, ts=moment, source="last")
    bid, ask = _decimal(bid), _decimal(ask)
    if bid is not None and ask is not None:
        return Mark(price=(bid + ask) / 2, venue=venue, ts=moment, source="mid")
    return None


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5,
                                socket_connect_timeout=0.5)


def latest_marks(symbols: Iterable[str]) -> dict[str, Mark]:
    """The freshest usable mark of each symbol that has one (one Redis round trip)."""
    symbols = sorted(set(symbols))
    venues = list(Venue.objects.order_by("code").values_list("code", flat=True))
    if not symbols or not venues:
        return {}
    pairs = [(symbol, venue) for symbol in symbols for venue in venues]
    try:
        with _client() as client:
            pipe = client.pipeline(transaction=False)
            for symbol, venue in pairs:
                pipe.hmget(quote_key(venue, symbol), FIELDS)
            rows = pipe.execute()
    except redis.RedisError:
        return {}
    marks: dict[str, Mark] = {}
    for (symbol, venue), values in zip(pairs, rows, strict=True):
        mark = _mark(venue, values)
        if mark is not None and (symbol not in marks or mark.ts > marks[symbol].ts):
            marks[symbol] = mark
    return marks


def latest_price(symbol: str) -> Decimal | None:
    """The last trade price (or mid) of the venue with the freshest data; None if none."""
    mark = latest_marks([symbol]).get(symbol)
    return mark.price if mark is not None else None
