"""A drain: claim a venue's queue, in order, at no more than its limit, for a few seconds,
waking the session's holder after each claim. Celery's `dispatch.drain` task runs one per
nudge (dispatch/nudge.py: at most one waits a venue).

One drain of a venue runs at a time (dispatch_drain_turn): a drain message that finds one
running leaves at once, marking the venue to be looked at again, so a backlogged venue holds
one worker thread, however many nudges it gets, and the others are free for other venues.
The drain that runs claims for DRAIN_BUDGET_SECONDS, then hands over to a fresh message at
the back of the broker's queue.

A drain that empties the queue waits for more for OMS_DISPATCH_DRAIN_IDLE_SECONDS
(dispatch/nudge.py: dispatch_listen), woken by intake's nudge, before it ends: at a trickle
one drain claims order after order (a claim each) instead of a Celery task starting for each.
It holds its worker thread meanwhile, as a backlogged venue's drain does; the budget's hand-
over still puts it behind other venues' messages every few seconds.
"""

import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from dispatch import sql
from dispatch.claim import dispatch_claim
from dispatch.limits import limiter_for, redis_client
from dispatch.nudge import (
    dispatch_listen,
    dispatch_listen_wait,
    dispatch_nudge,
    dispatch_nudge_again_mark,
    dispatch_nudge_again_take,
    dispatch_nudge_forget,
    dispatch_nudge_taken,
    dispatch_unlisten,
)
from venues.fix.wake import wake
from venues.models import Venue

logger = logging.getLogger(__name__)

MAX_BATCH = 64
DRAIN_BUDGET_SECONDS = 5.0
# A listening drain's mark outlives the longest claim (which may wait for a slot until the
# budget ends) by this much; it only matters if the drain's process dies.
LISTEN_GRACE_SECONDS = 2.0


def batch_size(limit: int) -> int:
    # A claim waits for its first slot while it holds its rows; at most a twentieth of the
    # limit per claim keeps that hold, and the slots granted together, small at low limits.
    return max(1, min(MAX_BATCH, limit // 20))


@dataclass(frozen=True)
class DrainResult:
    claimed: int
    stopped: str  # "empty" (or idle that long), "gated" (venue not logged on), "budget"


def dispatch_drain_turn(*, venue_code: str,
                        idle_seconds: float | None = None) -> DrainResult | None:
    """What a drain message does: drain the venue unless another drain of it is running
    (None), then hand over to a fresh message if work may remain."""
    if idle_seconds is None:
        idle_seconds = settings.OMS_DISPATCH_DRAIN_IDLE_SECONDS
    dispatch_nudge_taken(venue_code=venue_code)  # from now on a nudge sends a new message
    if not sql.try_lock_drain_turn(venue_code):
        # The running drain takes the mark after it lets go of the turn. Marked, then tried
        # again: if it let go in between (and so may have missed the mark), the turn is ours.
        if not dispatch_nudge_again_mark(venue_code=venue_code) or \
                not sql.try_lock_drain_turn(venue_code):
            return None
    try:
        dispatch_nudge_again_take(venue_code=venue_code)  # this drain looks after the mark
        result = dispatch_drain(venue_code=venue_code, idle_seconds=idle_seconds)
    finally:
        _let_go(venue_code)
    # Work may remain: the budget ran out, or a drain came while this one ran (its work
    # committed after this one last looked, perhaps). A gated venue waits for its logon.
    again = dispatch_nudge_again_take(venue_code=venue_code)
    if result.stopped == "budget" or (again and result.stopped != "gated"):
        dispatch_nudge(venue_code=venue_code, coalesce=False)
    return result


def dispatch_drain(*, venue_code: str, budget_seconds: float | None = None,
                   idle_seconds: float = 0.0) -> DrainResult:
    """Claim the venue's queue until it is empty (and, with idle_seconds, has stayed empty
    that long), the venue is gated, or the budget (DRAIN_BUDGET_SECONDS) ends."""
    limiter = limiter_for(venue_code)
    deadline = time.monotonic() + (budget_seconds or DRAIN_BUDGET_SECONDS)
    # Read once per drain (a few seconds): an operator's change applies to the next drain.
    limit = Venue.objects.values_list("throttle_per_second", flat=True).get(pk=venue_code)
    size = batch_size(limit)
    if idle_seconds > 0:
        return _drain_listening(venue_code, limiter, limit, size, deadline, idle_seconds)
    claimed = 0
    rechecked = False
    while time.monotonic() < deadline:
        claim = dispatch_claim(venue_code=venue_code, limiter=limiter, limit=limit, size=size,
                               deadline=deadline)
        if claim.claimed:
            claimed += claim.claimed
            _wake(venue_code)
        if claim.stopped == "gated":
            return DrainResult(claimed, "gated")
        if claim.claimed and claim.found == size:
            rechecked = False
            continue
        if claim.stopped == "budget":
            continue
        # The queue had fewer heads than asked for (or none): forget the nudge, then look
        # once more, so an order committed just now is either seen here or nudges afresh.
        if rechecked and not claim.claimed:
            return DrainResult(claimed, "empty")
        if not rechecked:
            dispatch_nudge_forget(venue_code=venue_code)
            rechecked = True
    return DrainResult(claimed, "budget")


def _drain_listening(venue_code: str, limiter, limit: int, size: int, deadline: float,
                     idle_seconds: float) -> DrainResult:
    claimed = 0
    idle_until = time.monotonic() + idle_seconds
    try:
        while (now := time.monotonic()) < deadline:
            if not dispatch_listen(venue_code=venue_code,
                                   seconds=deadline - now + LISTEN_GRACE_SECONDS):
                break  # no Redis to wait on: look once more below, then end
            claim = dispatch_claim(venue_code=venue_code, limiter=limiter, limit=limit,
                                   size=size, deadline=deadline)
            if claim.claimed:
                claimed += claim.claimed
                idle_until = time.monotonic() + idle_seconds
                _wake(venue_code)
            if claim.stopped == "gated":
                return DrainResult(claimed, "gated")
            if claim.found == size or claim.claimed < claim.found:
                continue  # more may wait, or no slot came in time for all of them
            # The queue had fewer heads than asked for, all claimed: wait for a nudge's token
            # (an order committed since the claim's snapshot pushed one, as this drain
            # listens).
            wait = min(idle_until, deadline) - time.monotonic()
            if wait <= 0:
                break
            dispatch_listen_wait(venue_code=venue_code, timeout=wait)
    finally:
        dispatch_unlisten(venue_code=venue_code)
    if time.monotonic() >= deadline:
        return DrainResult(claimed, "budget")  # handed over: the next drain looks
    # Intake's nudges send messages again from here; an order whose nudge found this drain
    # still listening committed before that, so this last look sees it.
    dispatch_nudge_forget(venue_code=venue_code)
    claim = dispatch_claim(venue_code=venue_code, limiter=limiter, limit=limit, size=size,
                           deadline=time.monotonic() + 1.0)
    if claim.claimed or claim.stopped == "budget":
        if claim.claimed:
            _wake(venue_code)
        return DrainResult(claimed + claim.claimed, "budget")  # more may wait: hand over
    return DrainResult(claimed, "gated" if claim.stopped == "gated" else "empty")


def _let_go(venue_code: str) -> None:
    try:
        sql.unlock_drain_turn(venue_code)
    except DatabaseError as exc:
        # Closing the session lets go of the lock for certain (a connection kept open with
        # it held would stop the venue's drains); what the drain raised matters more.
        logger.warning("could not let go of %s's drain turn: %r", venue_code, exc)
        connection.close()


def _wake(venue_code: str) -> None:
    try:
        wake(redis_client(), venue_code)
    except redis.RedisError as exc:
        # The holder looks every half second anyway.
        logger.warning("could not wake the FIX session holder of %s: %r", venue_code, exc)
