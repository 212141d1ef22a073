import logging

import redis

from dispatch.limits import redis_client

logger = logging.getLogger(__name__)

# Intake nudges a venue's dispatchers at most this often: at 1,000 orders/s one task per
# order would keep the dispatchers busy starting drains that find a drain already running.
COALESCE_MS = 100
_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def _nudge_key(venue_code: str) -> str:
    return f"oms:nudge:{venue_code}"


def dispatch_nudge(*, venue_code: str, coalesce: bool = True) -> None:
    """Tell a dispatcher there is work for the venue. Only a nudge: the queue is the table,
    and the sweeper re-nudges whatever waits, so a nudge that cannot be sent is logged and
    dropped rather than failing the request that queued the work."""
    from dispatch.tasks import dispatch_drain_task  # tasks import this module

    try:
        if coalesce and not redis_client().set(_nudge_key(venue_code), 1, nx=True, px=COALESCE_MS):
            return  # a nudge went out moments ago; the drain it started will see this work
        # A transient broker error gets a quick second try; a broker that stays down costs
        # under half a second here, and the sweeper finds the work later.
        dispatch_drain_task.apply_async(args=[venue_code], retry=True, retry_policy=_RETRY)
    except Exception as exc:  # Redis or the broker is down: the sweeper finds the work
        logger.warning("could not nudge dispatch for %s: %r", venue_code, exc)


def dispatch_nudge_forget(*, venue_code: str) -> None:
    """A drain found the queue empty: the next order nudges at once, not after the window."""
    try:
        redis_client().delete(_nudge_key(venue_code))
    except redis.RedisError:
        pass  # the key expires within COALESCE_MS anyway
