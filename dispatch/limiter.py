"""The global per-venue send limiter: at most L sends in any sliding second *as the venue
counts them*, across every worker on every host, held in Redis.

How it stays exact whatever the scheduling jitter or network delay: each send has an entry
in a sorted set. While the send is on its way the entry counts as inside the window; when
the venue's answer is back, `complete` re-stamps it with Redis's clock. The venue received
the message before it answered, and we read the answer before re-stamping, so an entry
stamped at f was received by the venue no later than f. A slot is granted at Redis time g
only while fewer than L entries are newer than g - window (window >= 1 s); the new message
reaches the venue after g. So every earlier message the venue might count with it was
received more than one second before it, by causality alone: no margin for jitter to guess.
The cost: a slot is reused one round trip after the second it needs, about 1% of the limit
at a few milliseconds of venue latency.

Several slots at once (a dispatcher sending a batch): one call grants k = min(wanted, L - n)
slots at Redis time g, where n entries are in the window. That is k single grants at the same
instant, the i-th made while n + i - 1 < L entries are in the window, so the argument above
holds for each of them. `complete_many` re-stamps several answered sends at once, no earlier
than each answer was read, which can only make them count longer.

Why not the `limits` library (which we would rather use): its Redis moving window stamps each
entry with the caller's time.time() at grant and never revises it, so hosts with skewed
clocks, or a send delayed between grant and wire, break the limit as the venue counts it
(measured here: 101 and 108 sends in a venue's sliding second at L=100 with grant-time
stamps), and its windows are whole seconds.

Redis restart: the entries are gone, and an empty log would let L more sends through at
once; a Redis restored from an older snapshot, or a replica promoted, has a log that misses
the latest sends. A marker key records which Redis (its `run_id`, which changes at every
start, read by the script itself) this limiter's state began in, and when. When the marker
is missing or names another run_id, the log cannot be trusted: nothing is granted until
every send made before could have left any window, that is one window plus the longest a
send may stay unanswered after the last slot was granted. When the last grant was long ago
(a first start, a restart after a quiet night) that costs nothing. The last grant comes from
the caller's durable record (`last_grant_age`: dispatch passes the age of the venue's latest
claim in PostgreSQL, made while its claim lock is held, so no claim is half done); without
one, the whole cool-down applies.
"""

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

# The last grant's age is read off timestamps that workers' clocks wrote; hosts are expected
# to agree within this much (NTP keeps them within milliseconds), and it is taken off.
CLOCK_SKEW_SECONDS = 1.0

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local pending = tonumber(ARGV[3])
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local marker = redis.call('GET', KEYS[2])
local born = nil
if marker then
  local marker_run, marker_born = string.match(marker, '^(%w+):(%d+)$')
  if marker_run == run_id then born = tonumber(marker_born) end
end
if not born then
  -- A new Redis, a restarted one, or one restored from another run: the log may lack sends.
  local quiet = tonumber(ARGV[7])
  if quiet < 0 then
    return {2}  -- the caller looks up how long ago its last slot was granted, and asks again
  end
  local guard = math.max(window + pending - quiet, 0)
  born = now - window - pending + guard
  redis.call('SET', KEYS[2], run_id .. ':' .. string.format('%.0f', born))
end
if now - born < window + pending then
  return {0, born + window + pending - now}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local free = limit - redis.call('ZCARD', KEYS[1])
if free > 0 then
  local waited = tonumber(ARGV[5])
  if waited > 0 then
    -- Counted for /metrics in this same round trip: nothing more between grant and send.
    redis.call('INCR', KEYS[3])
    redis.call('INCRBYFLOAT', KEYS[4], waited / 1000000)
  end
  local granted = {1}
  local prefix = string.format('%.0f', now) .. ':' .. ARGV[4]
  -- Until completed, an entry sits in the future: it counts while the send is under way,
  -- and ages out on its own if the sender dies.
  for i = 1, math.min(free, tonumber(ARGV[6])) do
    local member = prefix .. i
    redis.call('ZADD', KEYS[1], now + pending, member)
    granted[#granted + 1] = member
  end
  redis.call('PEXPIRE', KEYS[1], math.floor((window + pending) / 1000) + 1000)
  return granted
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
if oldest > now then
  return {0, 1000}  -- every entry is a send still under way: look again in a millisecond
end
return {0, oldest + window - now}
"""

_COMPLETE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #ARGV do
  redis.call('ZADD', KEYS[1], now, ARGV[i])
end
return now
"""


def wait_metric_keys(key: str) -> tuple[str, str]:
    """Redis keys counting, for `key`, the acquires that had to wait and the seconds waited."""
    return f"oms:metrics:limiter:{key}:waits", f"oms:metrics:limiter:{key}:wait_seconds"


@dataclass(frozen=True)
class Slot:
    member: str


class SlidingWindowLimiter:
    """At most `limit` sends in any sliding `window_ms`, for one key, globally.

    acquire -> send -> complete (answer read) or release (nothing was sent). A slot neither
    completed nor released (the sender died) counts for `pending_ms` and then ages out.
    """

    def __init__(self, client: redis.Redis, *, key: str, pending_ms: int,
                 last_grant_age: Callable[[], float | None] | None = None):
        """`last_grant_age`: seconds since this key's latest slot was granted, from a record
        that outlives Redis (None: never); asked only when Redis's state is new."""
        self._client = client
        self._last_grant_age = last_grant_age
        self._log_key = f"oms:limiter:{key}:log"
        self._born_key = f"oms:limiter:{key}:born"
        self._waits_key, self._wait_seconds_key = wait_metric_keys(key)
        self._pending_us = pending_ms * 1000
        self._acquire = client.register_script(_ACQUIRE)
        self._complete = client.register_script(_COMPLETE)

    def try_acquire(
        self, *, limit: int, window_ms: int, waited: float = 0.0
    ) -> tuple[Slot | None, float]:
        """One attempt: (slot, 0) or (None, seconds until one may be free).

        `waited`: seconds this caller has already waited for this slot, counted for /metrics
        if the attempt succeeds.
        """
        slots, wait = self.try_acquire_many(count=1, limit=limit, window_ms=window_ms,
                                            waited=waited)
        return (slots[0] if slots else None), wait

    def try_acquire_many(
        self, *, count: int, limit: int, window_ms: int, waited: float = 0.0
    ) -> tuple[list[Slot], float]:
        """One attempt at up to `count` slots: (1 to count slots, 0) or ([], seconds until
        one may be free)."""
        keys = [self._log_key, self._born_key, self._waits_key, self._wait_seconds_key]
        args = [limit, window_ms * 1000, self._pending_us, secrets.token_hex(6),
                int(waited * 1_000_000), count]
        granted, *values = self._acquire(keys=keys, args=[*args, -1])
        if granted == 2:  # Redis's state is new: how long has it been quiet?
            granted, *values = self._acquire(keys=keys, args=[*args, self._quiet_us()])
        if granted:
            return [Slot(v.decode() if isinstance(v, bytes) else v) for v in values], 0.0
        return [], max(int(values[0]), 0) / 1_000_000

    def acquire(self, *, limit: int, window_ms: int, timeout: float) -> Slot | None:
        """Wait up to `timeout` seconds for a slot."""
        slots = self.acquire_many(count=1, limit=limit, window_ms=window_ms, timeout=timeout)
        return slots[0] if slots else None

    def acquire_many(
        self, *, count: int, limit: int, window_ms: int, timeout: float
    ) -> list[Slot]:
        """Wait up to `timeout` seconds until at least one slot is free; take up to `count`
        of those free then. Never waits for more than the first."""
        started = time.monotonic()
        deadline = started + timeout
        waited = False
        while True:
            slots, wait = self.try_acquire_many(
                count=count, limit=limit, window_ms=window_ms,
                waited=time.monotonic() - started if waited else 0.0,
            )
            if slots:
                return slots
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if waited:
                    self._count_wait(time.monotonic() - started)
                return []
            waited = True
            # Waking when the oldest send leaves the window keeps the limit used; the floor
            # keeps many waiting workers from spinning on Redis.
            time.sleep(min(max(wait, 0.0005), remaining))

    def _quiet_us(self) -> int:
        """Microseconds since the last slot was granted, as the durable record says; 0 when
        there is no record to ask (the whole cool-down applies)."""
        if self._last_grant_age is None:
            return 0
        age = self._last_grant_age()
        if age is None:  # never granted: nothing can be in any window
            return 10**15
        return max(int((age - CLOCK_SKEW_SECONDS) * 1_000_000), 0)

    def _count_wait(self, seconds: float) -> None:
        # A wait that ended without a slot, for /metrics (metrics/collectors.py); a granted
        # one is counted by the acquire script itself. In Redis, not process memory, because
        # dispatchers are many processes on many hosts. A failure here costs nothing else.
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.incr(self._waits_key)
            pipe.incrbyfloat(self._wait_seconds_key, seconds)
            pipe.execute()
        except redis.RedisError as exc:
            logger.warning("could not count a rate-limit wait for /metrics: %s", exc)

    def complete(self, slot: Slot) -> None:
        """The venue's answer is in: the send counts from now (Redis's clock) on."""
        self.complete_many([slot])

    def complete_many(self, slots: list[Slot]) -> None:
        """The venue's answers to these sends are in: each counts from now on."""
        if slots:
            self._complete(keys=[self._log_key], args=[slot.member for slot in slots])

    def release(self, slot: Slot) -> None:
        """Give back a slot that was not used for a send: the log holds only real sends."""
        self.release_many([slot])

    def release_many(self, slots: list[Slot]) -> None:
        if slots:
            self._client.zrem(self._log_key, *(slot.member for slot in slots))
