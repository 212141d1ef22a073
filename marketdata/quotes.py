"""The latest market data per venue and symbol: a cache in Redis, never in the database.

One hash per venue and symbol, `oms:md:{venue}:{symbol}`, holds the venue's last full
refresh (FIX 35=W): best bid and offer with their sizes, the last trade, the book's levels
(JSON, best first) and `ts`, the refresh's SendingTime (ISO-8601 UTC). A set per symbol,
`oms:md:venues:{symbol}`, names the venues that have one, so a read needs no scan.

The newest refresh wins, by the venue's own clock: a refresh is written only when it is
newer than the one stored (one Lua call, so two writers cannot interleave). A resent
refresh (PossDup) is judged by its OrigSendingTime, and so is old news. Each key lives a
day after its last write: a symbol nobody quotes any more leaves by itself.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import redis

KEY_TTL_SECONDS = 24 * 3600

Level = tuple[Decimal, Decimal]  # (price, size)

_STORE = """
local newest = tonumber(redis.call('HGET', KEYS[1], 'tsMicros') or '-1')
if newest >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'tsMicros', ARGV[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


def quote_key(venue_code: str, symbol: str) -> str:
    return f"oms:md:{venue_code}:{symbol}"


def venues_key(symbol: str) -> str:
    return f"oms:md:venues:{symbol}"


# Symbols someone needed a quote for and found none (a routed order): the FIX holders look
# here every WANTED_POLL_SECONDS and subscribe to what they have not yet.
WANTED_KEY = "oms:md:wanted"


@dataclass(frozen=True)
class Quote:
    """A venue's full refresh for one symbol, as of `sent_at` (the venue's clock)."""

    venue_code: str
    symbol: str
    sent_at: datetime
    bids: tuple[Level, ...] = ()  # best first
    asks: tuple[Level, ...] = ()  # best first
    last: Decimal | None = None
    last_size: Decimal | None = None

    def fields(self) -> dict[str, str]:
        best_bid = self.bids[0] if self.bids else (None, None)
        best_ask = self.asks[0] if self.asks else (None, None)
        return {
            "bid": _text(best_bid[0]), "bidSize": _text(best_bid[1]),
            "ask": _text(best_ask[0]), "askSize": _text(best_ask[1]),
            "last": _text(self.last), "lastSize": _text(self.last_size),
            "ts": iso_utc(self.sent_at),
            "bids": json.dumps([[str(p), str(s)] for p, s in self.bids]),
            "asks": json.dumps([[str(p), str(s)] for p, s in self.asks]),
        }


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


class QuoteStore:
    """Writes and reads the cache. One instance per process (it holds the Lua script)."""

    def __init__(self, client: redis.Redis):
        self._client = client
        self._store = client.register_script(_STORE)

    def put(self, quotes: list[Quote]) -> int:
        """Store each quote that is newer than the one held; returns how many were."""
        if not quotes:
            return 0
        pipe = self._client.pipeline(transaction=False)
        for quote in quotes:
            args = [_micros(quote.sent_at), quote.venue_code, KEY_TTL_SECONDS]
            for name, value in quote.fields().items():
                args += [name, value]
            self._store(keys=[quote_key(quote.venue_code, quote.symbol),
                              venues_key(quote.symbol)], args=args, client=pipe)
        return sum(int(done) for done in pipe.execute())

    def want(self, symbol: str) -> None:
        """Ask the venues' holders for this symbol's market data (kept a day)."""
        pipe = self._client.pipeline(transaction=False)
        pipe.sadd(WANTED_KEY, symbol)
        pipe.expire(WANTED_KEY, KEY_TTL_SECONDS)
        pipe.execute()

    def wanted(self) -> set[str]:
        return {symbol.decode() for symbol in self._client.smembers(WANTED_KEY)}

    def for_venue(self, venue: str, symbol: str) -> dict[str, str]:
        """One venue's stored fields for `symbol` ({} when none)."""
        stored = self._client.hgetall(quote_key(venue, symbol))
        return {k.decode(): v.decode() for k, v in stored.items()}

    def for_symbol(self, symbol: str) -> dict[str, dict[str, str]]:
        """Each venue's stored fields for `symbol`, by venue code."""
        venues = sorted(v.decode() for v in self._client.smembers(venues_key(symbol)))
        if not venues:
            return {}
        pipe = self._client.pipeline(transaction=False)
        for venue in venues:
            pipe.hgetall(quote_key(venue, symbol))
        found = {}
        for venue, stored in zip(venues, pipe.execute(), strict=True):
            if stored:
                found[venue] = {k.decode(): v.decode() for k, v in stored.items()}
        return found
