"""Per-token API throttling: one client cannot starve the others.

DRF's SimpleRateThrottle keeps a sliding log of request times per user in the cache, which is
Redis (settings.CACHES), so the limit holds across every web process on every host. Two
known weaknesses, both acceptable for a *fairness* throttle and the reason it must never be
used for the venue limit (that is dispatch/limiter.py, exact by construction):

* read-modify-write race: two processes that read the same history both append, one write
  wins, so under contention a client can get a little more than its rate;
* cost: each request reads and writes the whole log, O(rate x window). A short window keeps
  the log small, which is why there is one per-second rate and no per-hour one.
"""

import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class PerTokenRateThrottle(UserRateThrottle):
    """UserRateThrottle keyed by user (a token belongs to one user), with its rate read from
    settings.OMS_API_THROTTLE_RATE on every request.

    DRF copies DEFAULT_THROTTLE_RATES into the class when it is defined, so neither an
    environment change after import nor override_settings would reach it; reading the setting
    here does.
    """

    scope = "per_token"

    def get_rate(self):
        return settings.OMS_API_THROTTLE_RATE or None  # empty: throttling off

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - the cache (Redis) is down or misbehaving
            # Fail open: a fairness throttle that is unavailable must not take the API down
            # with it (losing Redis may delay work, never refuse it: DESIGN.md).
            logger.warning("API throttle cache unavailable; request let through", exc_info=True)
            return True

    def wait(self):
        # DRF returns None when a raced history holds more than the rate; a 429 should still
        # say when to come back, and one full window is always enough.
        wait = super().wait()
        return self.duration if wait is None else wait
