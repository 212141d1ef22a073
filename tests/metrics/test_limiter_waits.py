"""dispatch/limiter.py counts, in Redis, each acquire that had to wait and for how long."""

import time

from dispatch.limiter import SlidingWindowLimiter, wait_metric_keys

WAITS, WAIT_SECONDS = wait_metric_keys("XMOCK")


def limiter(client) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(client, key="XMOCK", pending_ms=6000)


def test_an_acquire_that_did_not_wait_counts_nothing(limiter_redis):
    slot = limiter(limiter_redis).acquire(limit=2, window_ms=1000, timeout=1)

    assert slot is not None
    assert limiter_redis.get(WAITS) is None
    assert limiter_redis.get(WAIT_SECONDS) is None


def test_an_acquire_that_waited_counts_once_with_its_wait(limiter_redis):
    sender = limiter(limiter_redis)
    sender.complete(sender.acquire(limit=1, window_ms=300, timeout=1))

    started = time.monotonic()
    slot = sender.acquire(limit=1, window_ms=300, timeout=2)
    waited = time.monotonic() - started

    assert slot is not None
    assert int(limiter_redis.get(WAITS)) == 1
    assert 0.2 < float(limiter_redis.get(WAIT_SECONDS)) <= waited


def test_an_acquire_that_timed_out_counts_once_though_it_polled_many_times(limiter_redis):
    sender = limiter(limiter_redis)
    # Not completed: the send is still under way, so the limiter says to look again in 1 ms.
    assert sender.acquire(limit=1, window_ms=1000, timeout=1) is not None

    assert sender.acquire(limit=1, window_ms=1000, timeout=0.2) is None

    assert int(limiter_redis.get(WAITS)) == 1
    assert 0.2 <= float(limiter_redis.get(WAIT_SECONDS)) < 0.5
