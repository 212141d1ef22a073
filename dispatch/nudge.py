"""Nudges: Celery messages that tell a dispatcher a venue has work. The queue is the table,
so a nudge only wakes; the sweeper re-nudges whatever waits.

However many nudges a venue gets (intake, the sweeper every two seconds, a drain handing over
at the end of its budget), at most one drain message of the venue waits in the broker: a
nudge while one waits is dropped, as the drain it starts will see the work. So the
`dispatch` queue holds at most one message a venue, however long a backlog lasts, and a
quiet venue's message is never behind more than one of a busy venue's. (Which drain runs is
dispatch/drain.py's: one a venue at a time.)
"""

import logging

import redis

from dispatch.limits import redis_client

logger = logging.getLogger(__name__)

# Intake nudges a venue's dispatchers at most this often: at 1,000 orders/s one task per
# order would keep the dispatchers busy starting drains that find a drain already running.
COALESCE_MS = 100
# How long a waiting drain message keeps other nudges of its venue away. It is taken as the
# drain starts, normally within milliseconds; this only bounds how long a message that never
# starts (purged, its worker killed before starting it) holds the venue's nudges back. Such
# a message expires with it, so it cannot start a second drain later.
WAITING_SECONDS = 30
_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def _nudge_key(venue_code: str) -> str:
    return f"oms:nudge:{venue_code}"


def waiting_key(venue_code: str) -> str:
    """The Redis key saying a drain message of the venue waits (whoever drops the broker's
    messages drops these too, or the venue's nudges wait WAITING_SECONDS)."""
    return f"oms:nudge:{venue_code}:waiting"


def _again_key(venue_code: str) -> str:
    return f"oms:nudge:{venue_code}:again"


def dispatch_nudge(*, venue_code: str, coalesce: bool = True) -> None:
    """Tell a dispatcher there is work for the venue, unless a drain message of the venue is
    already waiting. Only a nudge: one that cannot be sent is logged and dropped rather than
    failing the request that queued the work (the sweeper finds the work).

    coalesce=False skips intake's COALESCE_MS window (the sweeper, a drain handing over), not
    the one-waiting-message rule."""
    from dispatch.tasks import dispatch_drain_task  # tasks import this module

    try:
        client = redis_client()
        if coalesce and not client.set(_nudge_key(venue_code), 1, nx=True, px=COALESCE_MS):
            return  # a nudge went out moments ago; the drain it started will see this work
        if not client.set(waiting_key(venue_code), 1, nx=True, ex=WAITING_SECONDS):
            return  # a drain message of the venue waits; its drain will see this work
        try:
            # A transient broker error gets a quick second try; a broker that stays down
            # costs under half a second here, and the sweeper finds the work later.
            dispatch_drain_task.apply_async(args=[venue_code], retry=True, retry_policy=_RETRY,
                                            expires=WAITING_SECONDS)
        except Exception:
            client.delete(waiting_key(venue_code))  # none waits: the next nudge sends one
            raise
    except Exception as exc:  # Redis or the broker is down: the sweeper finds the work
        logger.warning("could not nudge dispatch for %s: %r", venue_code, exc)


def dispatch_nudge_taken(*, venue_code: str) -> None:
    """A drain message of the venue has started: the next nudge sends another."""
    try:
        redis_client().delete(waiting_key(venue_code))
    except redis.RedisError:
        pass  # it expires within WAITING_SECONDS


def dispatch_nudge_forget(*, venue_code: str) -> None:
    """A drain found the queue empty: the next order nudges at once, not after the window."""
    try:
        redis_client().delete(_nudge_key(venue_code))
    except redis.RedisError:
        pass  # the key expires within COALESCE_MS anyway


def dispatch_nudge_again_mark(*, venue_code: str) -> bool:
    """A drain started while another drain of the venue ran: ask the running one to look
    again before it ends. False if Redis could not take the mark."""
    try:
        redis_client().set(_again_key(venue_code), 1, ex=WAITING_SECONDS)
        return True
    except redis.RedisError as exc:
        logger.warning("could not mark %s to be drained again: %r", venue_code, exc)
        return False


def dispatch_nudge_again_take(*, venue_code: str) -> bool:
    """Whether a drain asked to look again since the mark was last taken; takes it."""
    try:
        with redis_client().pipeline(transaction=True) as pipe:
            pipe.get(_again_key(venue_code))
            pipe.delete(_again_key(venue_code))
            marked, _ = pipe.execute()
        return marked is not None
    except redis.RedisError as exc:
        logger.warning("could not read whether %s is to be drained again: %r", venue_code, exc)
        return True  # unsure: look again (one more drain at most)
