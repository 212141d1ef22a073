"""The venue's send limiter as dispatch uses it (dispatch/limiter.py is the mechanism)."""

from functools import lru_cache

import redis
from django.conf import settings

from dispatch import sql
from dispatch.limiter import SlidingWindowLimiter


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def slot_seconds() -> float:
    """How long a granted slot counts as a send under way unless completed: the longest a
    venue may take to answer, plus a second."""
    return settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS + 1.0


def limiter_for(venue_code: str) -> SlidingWindowLimiter:
    # A Redis that lost the log asks PostgreSQL when the venue last got a slot, so a first
    # start, or a restart after a quiet spell, sends at once (dispatch/limiter.py).
    return SlidingWindowLimiter(redis_client(), key=venue_code,
                                pending_ms=int(slot_seconds() * 1000),
                                last_grant_age=lambda: sql.seconds_since_last_claim(venue_code))


def window_ms() -> int:
    return 1000 + settings.OMS_THROTTLE_MARGIN_MS
