"""Nudges: Celery messages that tell a dispatcher a venue has work. The queue is the table,
so a nudge only wakes; the sweeper re-nudges whatever waits.

However many nudges a venue gets (intake, the sweeper every two seconds, a drain handing over
at the end of its budget), at most one drain message of the venue waits in the broker: a
nudge while one waits is dropped, as the drain it starts will see the work. So the
`dispatch` queue holds at most one message a venue, however long a backlog lasts, and a
quiet venue's message is never behind more than one of a busy venue's. (Which drain runs is
dispatch/drain.py's: one a venue at a time.)

A drain that has emptied its venue's queue waits a little for more (OMS_DISPATCH_DRAIN_IDLE_
SECONDS) while it says it listens: intake's nudge then pushes a token it waits on (a
blocking Redis read) instead of sending a Celery message, so a trickle is claimed by one
running drain, not a task an order. The sweeper's and hand-overs' nudges push the token
too, and send a message as before whether or not a drain listens (a dead one's mark
outlives it by a few seconds).
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


def listening_key(venue_code: str) -> str:
    """Set while a drain of the venue waits for work (dispatch_listen)."""
    return f"oms:nudge:{venue_code}:listening"


def _work_key(venue_code: str) -> str:
    return f"oms:nudge:{venue_code}:work"


def dispatch_nudge(*, venue_code: str, coalesce: bool = True) -> None:
    """Tell a dispatcher there is work for the venue, unless a drain message of the venue is
    already waiting. Only a nudge: one that cannot be sent is logged and dropped rather than
    failing the request that queued the work (the sweeper finds the work).

    coalesce=False skips intake's COALESCE_MS window (the sweeper, a drain handing over), not
    the one-waiting-message rule."""
    from dispatch.tasks import dispatch_drain_task  # tasks import this module

    try:
        client = redis_client()
        work = _work_key(venue_code)
        pipe = client.pipeline(transaction=False)
        pipe.lpush(work, 1)  # wakes a drain waiting for work (one token at most)
        pipe.ltrim(work, 0, 0)
        pipe.expire(work, WAITING_SECONDS)
        pipe.exists(listening_key(venue_code))
        if coalesce:
            pipe.set(_nudge_key(venue_code), 1, nx=True, px=COALESCE_MS)
        listening, *fresh = pipe.execute()[3:]
        if coalesce and listening:
            return  # a drain waits for work: the token wakes it (or it looks once more)
        if coalesce and not fresh[0]:
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


def dispatch_listen(*, venue_code: str, seconds: float) -> bool:
    """A drain is about to claim and then wait for work: from now on intake's nudges push a
    token instead of sending messages, for `seconds` unless renewed. Tokens pushed before
    this are dropped: the claim that follows sees their work (it committed before the nudge
    pushed). False if Redis could not say so (the drain then does not wait)."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.set(listening_key(venue_code), 1, px=max(1, int(seconds * 1000)))
        pipe.delete(_work_key(venue_code))
        pipe.execute()
        return True
    except redis.RedisError as exc:
        logger.warning("drain of %s cannot wait for work: %r", venue_code, exc)
        return False


def dispatch_listen_wait(*, venue_code: str, timeout: float) -> bool:
    """Until a nudge pushes a token or the timeout (at most a second); True when woken."""
    try:
        return redis_client().blpop([_work_key(venue_code)],
                                    timeout=min(max(timeout, 0.01), 1.0)) is not None
    except redis.RedisError as exc:
        logger.warning("drain of %s could not wait for work: %r", venue_code, exc)
        return False


def dispatch_unlisten(*, venue_code: str) -> None:
    """The drain no longer waits: intake's nudges send messages again. The drain looks at
    its queue once more after this, for work whose nudge found it still listening."""
    try:
        redis_client().delete(listening_key(venue_code))
    except redis.RedisError:
        pass  # the mark expires within the drain's budget and a few seconds
