"""Per-token API throttling: one client cannot starve the others.

A sliding one-window log per token (user) in Redis, shared by every web process on every
host: `limits`' moving window, one Lua call a request (read the entry `rate` places back,
push, trim), so it is exact (no read-modify-write race between processes) and costs the same
however high the rate. DRF's own SimpleRateThrottle, which this replaced, read and wrote the
whole log through the cache on every request, O(rate), racing other processes: with a log of
2,000 (a token at the default rate) it cost 672 us a request against 116 us for this one
(`python -m bench.throttle_cost`, interleaved rounds, 2 shared vCPUs: 5.8x).

It is a *fairness* throttle: it fails open when Redis is down (losing Redis may delay work,
never refuse it), which is why it must never be used for a venue's limit (that is
dispatch/limiter.py).
"""

import logging
import time
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

KEY_PREFIX = "oms:throttle"


@lru_cache(maxsize=8)
def _limiter(location: str) -> MovingWindowRateLimiter:
    # A hung Redis must not hang requests: short timeouts, then the throttle fails open.
    storage = RedisStorage(location, key_prefix=KEY_PREFIX, socket_timeout=0.5,
                           socket_connect_timeout=0.5)
    return MovingWindowRateLimiter(storage)


@lru_cache(maxsize=8)
def _rate(text: str) -> RateLimitItem:
    return parse(text)


class PerTokenRateThrottle(BaseThrottle):
    """OMS_API_THROTTLE_RATE ("2000/second"; empty: off) per user, read on every request
    (so an environment change or override_settings reaches it), kept in the Redis of
    settings.CACHES["default"]."""

    scope = "per_token"

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        text = settings.OMS_API_THROTTLE_RATE
        if not text:
            return True
        user = request.user
        ident = f"user:{user.pk}" if user is not None and user.is_authenticated \
            else f"ip:{self.get_ident(request)}"
        item = _rate(text)
        try:
            limiter = _limiter(settings.CACHES["default"]["LOCATION"])
            if limiter.hit(item, self.scope, ident):
                return True
            reset, _ = limiter.get_window_stats(item, self.scope, ident)
        except Exception:  # noqa: BLE001 - Redis is down or misbehaving
            logger.warning("API throttle unavailable; request let through", exc_info=True)
            return True
        self._wait = max(reset - time.time(), 0.0)
        return False

    def wait(self) -> float | None:
        return self._wait
