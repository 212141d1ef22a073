"""A drain: claim a venue's queue, in order, at no more than its limit, for a few seconds,
waking the session's holder after each claim. Celery's `dispatch.drain` task runs one per
nudge; claims of one venue take turns (dispatch/claim.py), so a second drain of a busy venue
waits its turn and finds the work already claimed.
"""

import logging
import time
from dataclasses import dataclass

import redis

from dispatch.claim import dispatch_claim
from dispatch.limits import limiter_for, redis_client
from dispatch.nudge import dispatch_nudge_forget
from venues.fix.wake import wake
from venues.models import Venue

logger = logging.getLogger(__name__)

MAX_BATCH = 64


def batch_size(limit: int) -> int:
    # A claim waits for its first slot while it holds its rows; at most a twentieth of the
    # limit per claim keeps that hold, and the slots granted together, small at low limits.
    return max(1, min(MAX_BATCH, limit // 20))


@dataclass(frozen=True)
class DrainResult:
    claimed: int
    stopped: str  # "empty", "gated" (venue not logged on), "budget"


def dispatch_drain(*, venue_code: str, budget_seconds: float = 5.0) -> DrainResult:
    """Claim the venue's queue until it is empty, the venue is gated, or the budget ends."""
    limiter = limiter_for(venue_code)
    deadline = time.monotonic() + budget_seconds
    # Read once per drain (a few seconds): an operator's change applies to the next drain.
    limit = Venue.objects.values_list("throttle_per_second", flat=True).get(pk=venue_code)
    size = batch_size(limit)
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


def _wake(venue_code: str) -> None:
    try:
        wake(redis_client(), venue_code)
    except redis.RedisError as exc:
        # The holder looks every half second anyway.
        logger.warning("could not wake the FIX session holder of %s: %r", venue_code, exc)
