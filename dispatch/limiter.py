"""The global per-venue send limiter: at most L sends in any sliding window, across every
worker on every host, held in Redis.

Why not the `limits` library (which we would rather use): its Redis moving window stamps
each entry with the *caller's* time.time() and keeps entries in insertion order, so two hosts
whose clocks differ by d ms can together exceed the limit within d ms; and its windows are
whole seconds, which leaves no room for the margin below. This script reads Redis's own
clock (TIME), so every worker on every host is measured on one clock, to the microsecond.

Exact *as the venue sees it*: a slot's time is taken in Redis, the venue stamps the message
when it receives it, a little later. Send-path jitter (scheduling, the network) can move two
sends closer together at the venue than they were here, so the window is 1 s plus a margin
(OMS_THROTTLE_MARGIN_MS), and a slot that has waited longer than the margin before its
send is given back and taken afresh rather than used late. Cost: L / (1 s + margin) is the
most that can be sent, e.g. 97.6% of L with a 25 ms margin.

Redis restart: the log of recent sends is gone, and an empty log would let a full L more
sends through at once. A marker key records when this limiter's state began; when it is
missing (a new or restarted Redis) no slot is granted for one window, so the sends made just
before the restart have left any window by the time new ones go out.
"""

import secrets
import time
from dataclasses import dataclass

import redis

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local born = redis.call('GET', KEYS[2])
if not born then
  redis.call('SET', KEYS[2], string.format('%.0f', now))
  return {0, window}
end
born = tonumber(born)
if now - born < window then
  return {0, born + window - now}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  local member = string.format('%.0f', now) .. ':' .. ARGV[3]
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return {1, member}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""


@dataclass(frozen=True)
class Slot:
    member: str
    granted_at: float  # time.monotonic() here, to bound the wait before the send

    def age(self) -> float:
        return time.monotonic() - self.granted_at


class SlidingWindowLimiter:
    """At most `limit` grants in any sliding window of `window_ms`, for one key, globally."""

    def __init__(self, client: redis.Redis, *, key: str):
        self._client = client
        self._log_key = f"oms:limiter:{key}:log"
        self._born_key = f"oms:limiter:{key}:born"
        self._acquire = client.register_script(_ACQUIRE)

    def try_acquire(self, *, limit: int, window_ms: int) -> tuple[Slot | None, float]:
        """One attempt: (slot, 0) or (None, seconds until one may be free)."""
        granted, value = self._acquire(
            keys=[self._log_key, self._born_key],
            args=[limit, window_ms * 1000, secrets.token_hex(6)],
        )
        if granted:
            member = value.decode() if isinstance(value, bytes) else value
            return Slot(member, time.monotonic()), 0.0
        return None, max(int(value), 0) / 1_000_000

    def acquire(self, *, limit: int, window_ms: int, timeout: float) -> Slot | None:
        """Wait up to `timeout` seconds for a slot."""
        deadline = time.monotonic() + timeout
        while True:
            slot, wait = self.try_acquire(limit=limit, window_ms=window_ms)
            if slot is not None:
                return slot
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            # Waking exactly when the oldest send leaves the window keeps the limit used;
            # the floor keeps many waiting workers from spinning on Redis.
            time.sleep(min(max(wait, 0.0005), remaining))

    def release(self, slot: Slot) -> None:
        """Give back a slot that was not used for a send: the log holds only real sends."""
        self._client.zrem(self._log_key, slot.member)
