"""Claiming the head of a venue's queue: the moment a request becomes possibly on the wire.

One claim is one transaction, one at a time per venue (dispatch/sql.py: lock_venue_queue):

1. read the send gate (the venue's session is up and should stay up; the kill switch);
2. lock up to N heads of the queue in id order (FOR UPDATE SKIP LOCKED, with their orders);
3. take up to that many rate-limit slots in one call, waiting only for the first;
4. for each head that got a slot: build its FIX message, mark it SENDING with its slot, and
   move a NEW's order to PENDING_NEW (a signal to the order books); commit.

Only then is the session's holder woken to write them, in id order. So a request is
recorded as possibly sent before any byte of it can reach the venue, and from that commit
on a cancel or modify of its order becomes a CANCEL or REPLACE queued behind it.

Heads that got no slot stay QUEUED, untouched; a slot whose claim rolls back is given back.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from dispatch import sql
from dispatch.limiter import SlidingWindowLimiter
from dispatch.limits import window_ms
from dispatch.messages import message_for
from dispatch.models import RequestKind, RequestState
from dispatch.signals import new_orders_claimed
from sessions.selectors import session_gate_for_send

logger = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"[:100]
_CLAIM_FIELDS = ("state", "quantity", "limit_price", "stop_price", "message", "attempts",
                 "claimed_at", "claimed_by", "slot")


@dataclass(frozen=True)
class Claim:
    claimed: int
    stopped: str  # "" (claimed), "empty", "gated" (not logged on), "budget" (no slot in time)
    found: int = 0  # heads the queue had, up to the size asked for

def dispatch_claim(
    *, venue_code: str, limiter: SlidingWindowLimiter, limit: int, size: int, deadline: float
) -> Claim:
    slots = []
    try:
        with transaction.atomic():
            sql.lock_venue_queue(venue_code)
            # Read, not held: the claim may wait for a slot below, and a halt or a logout
            # must not wait behind it. The writer holds the gate while it writes.
            gate = session_gate_for_send(venue_code=venue_code, hold=False)
            if gate is None or not gate.open:
                return Claim(0, "gated")
            now = timezone.now()
            heads = sql.claim_heads(venue_code, size, halted=gate.halted, now=now)
            if not heads:
                return Claim(0, "empty")
            # Waiting here holds the claimed rows, about one slot's interval under a backlog;
            # a cancel meanwhile waits and then finds the order claimed or still queued.
            slots = limiter.acquire_many(
                count=len(heads), limit=limit, window_ms=window_ms(),
                timeout=max(deadline - time.monotonic(), 0.05),
            )
            if not slots:
                return Claim(0, "budget", len(heads))
            claimed = heads[:len(slots)]
            now = timezone.now()
            for request, slot in zip(claimed, slots):
                request.message = message_for(request)
                request.state = RequestState.SENDING
                request.claimed_at = now
                request.claimed_by = WORKER_ID
                request.attempts += 1
                request.slot = slot.member
            sql.save_requests(claimed, _CLAIM_FIELDS)
            new = [r for r in claimed if r.kind == RequestKind.NEW]
            if new:
                new_orders_claimed.send(sender=None, venue_code=venue_code,
                                        claimed=[(r.order, r.cl_ord_id) for r in new])
        slots = []  # committed: each slot now belongs to its request
        return Claim(len(claimed), "", len(heads))
    finally:
        if slots:
            limiter.release_many(slots)
