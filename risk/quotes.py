"""The latest market per venue and symbol, as the FIX holder caches it in Redis from the
venues' market data (35=W): a hash `oms:md:{venue}:{symbol}` with bid, ask, bidSize, askSize,
last and ts (ISO-8601 UTC). A quote older than OMS_MARKET_DATA_STALE_SECONDS is stale and not
used for risk."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import redis
from django.conf import settings

_client = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2,
                                       socket_connect_timeout=1, decode_responses=True)
    return _client


@dataclass(frozen=True)
class Quote:
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    at: datetime

    @property
    def mid(self) -> Decimal | None:
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.last


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        return None
    return number if number.is_finite() and number > 0 else None


def fresh_quote(venue: str, symbol: str, *, now: datetime | None = None) -> Quote | None:
    """The venue's quote for the symbol if it is fresh, else None (also when Redis is down:
    risk then acts as if there were no market)."""
    try:
        fields = _redis().hgetall(f"oms:md:{venue}:{symbol}")
    except redis.RedisError:
        return None
    try:
        at = datetime.fromisoformat(fields["ts"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    age = ((now or datetime.now(UTC)) - at).total_seconds()
    if age > settings.OMS_MARKET_DATA_STALE_SECONDS:
        return None
    quote = Quote(bid=_decimal(fields.get("bid")), ask=_decimal(fields.get("ask")),
                  last=_decimal(fields.get("last")), at=at)
    return quote if quote.mid is not None else None
