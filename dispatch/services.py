"""Sending the outbound queue to venues: claim, throttle, send, record.

One send is one transaction: claim the head of the venue's queue (SELECT ... FOR UPDATE
SKIP LOCKED, locking the request and its order), share-lock the venue's session and the
halt, send, record the answer and move the order, commit. So:

* a request is either still editable (modify/cancel lock the order first) or claimed, never
  both; a cancel that commits first withdraws the NEW and it is never sent;
* a logout or halt waits for sends already under way and no send starts after it;
* a worker killed mid-send (SIGKILL) rolls its claim back: the request is queued again at
  its place and resent with the same requestId and clientOrderId, which the venue answers
  as a duplicate. Nothing is lost and nothing acts twice.

A send whose outcome is unknown (timeout, broken connection, an answer for some other
request) is committed as SENDING; the sweeper queues it again after a back-off, and the
resend carries the same ids.

The rate-limit slot is taken after the claim, immediately before the send, and completed when
the venue's answer is read, which is what makes the limit exact as the venue counts it
(dispatch/limiter.py); a slot that is not used for a send is given back, so every slot
spent is a send.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from dispatch.limiter import SlidingWindowLimiter, Slot
from dispatch.models import (
    RequestKind,
    RequestState,
    UnmatchedResponse,
    VenueRequest,
    VenueResult,
)
from dispatch.nudge import dispatch_nudge, dispatch_nudge_forget
from orders import services as order_services
from orders.errors import InvalidTransition
from orders.models import OrderStatus
from sessions.selectors import session_can_send, session_hold_for_send
from sessions.services import session_mark_dropped
from venues.gateway import GatewayError, VenueAnswer, VenueGateway, gateway_get
from venues.models import Venue

logger = logging.getLogger(__name__)

ACTOR = "system:dispatch"
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# Rejections by which the venue says it did not act on the message at all.
GATE_REJECTS = frozenset({"NOT_LOGGED_ON", "RATE_LIMIT"})


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def limiter_for(venue_code: str) -> SlidingWindowLimiter:
    # A send unanswered for this long has failed (the gateway's timeout); its slot may go.
    pending_ms = int(settings.OMS_EXCHANGE_TIMEOUT_SECONDS * 1000) + 1000
    return SlidingWindowLimiter(_redis(), key=venue_code, pending_ms=pending_ms)


def window_ms() -> int:
    return 1000 + settings.OMS_THROTTLE_MARGIN_MS


class _Rollback(Exception):
    """Undo the claim: the message was not sent, or the venue did not act on it."""

    def __init__(self, outcome: str, reason: str = ""):
        super().__init__(outcome)
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True)
class DrainResult:
    sent: int
    stopped: str  # "empty", "gated" (venue not logged on / halted), "budget"


def dispatch_drain(
    *, venue_code: str, budget_seconds: float = 5.0, gateway: VenueGateway | None = None
) -> DrainResult:
    """Send the venue's queue, in order, at no more than its limit, for up to the budget."""
    gateway = gateway or gateway_get()
    if hasattr(gateway, "connect"):
        # Connected before any slot is taken: building a client takes tens of ms, which would
        # otherwise hold a slot (and the claimed row) before the first send.
        gateway.connect()
    limiter = limiter_for(venue_code)
    deadline = time.monotonic() + budget_seconds
    # Read once per drain (a few seconds): an operator's change applies to the next drain.
    limit = Venue.objects.values_list("throttle_per_second", flat=True).get(pk=venue_code)
    sent = 0
    rechecked = False
    while time.monotonic() < deadline:
        outcome = _send_one(
            venue_code=venue_code, gateway=gateway, limiter=limiter, limit=limit,
            deadline=deadline,
        )
        if outcome in ("sent", "unknown"):
            sent += 1
            rechecked = False
        elif outcome == "empty" and not rechecked:
            # Intake skips nudging while a recent nudge stands. Forget it, then look once
            # more: an order committed just now is either seen here or nudges afresh.
            dispatch_nudge_forget(venue_code=venue_code)
            rechecked = True
        elif outcome in ("empty", "gated"):
            return DrainResult(sent, outcome)
    return DrainResult(sent, "budget")


def _claimable(venue_code: str):
    earlier_unresolved = VenueRequest.objects.filter(
        order_id=OuterRef("order_id"),
        id__lt=OuterRef("id"),
        state__in=(RequestState.QUEUED, RequestState.SENDING),
    )
    # A request waits until every earlier request of its order is answered: a CANCEL never
    # overtakes the NEW it cancels.
    return VenueRequest.objects.filter(venue_id=venue_code, state=RequestState.QUEUED).exclude(
        Exists(earlier_unresolved)
    )


def _claim_head(venue_code: str) -> VenueRequest | None:
    return (
        _claimable(venue_code)
        .select_for_update(skip_locked=True, of=("self", "order"))
        .select_related("order")
        .order_by("id")
        .first()
    )


def _send_one(
    *,
    venue_code: str,
    gateway: VenueGateway,
    limiter: SlidingWindowLimiter,
    limit: int,
    deadline: float,
) -> str:
    slot: Slot | None = None
    on_the_wire = False
    try:
        with transaction.atomic():
            if not session_hold_for_send(venue_code=venue_code):
                raise _Rollback("gated")
            request = _claim_head(venue_code)
            if request is None:
                raise _Rollback("empty")
            _claim(request)
            # The slot is taken last, so a claim that finds nothing never holds one. Waiting
            # here holds the claimed row, about one slot's interval under a backlog; a cancel
            # meanwhile waits and then finds the order sent.
            slot = limiter.acquire(
                limit=limit, window_ms=window_ms(),
                timeout=max(deadline - time.monotonic(), 0.05),
            )
            if slot is None:
                raise _Rollback("budget")
            request.sent_at = timezone.now()
            on_the_wire = True
            try:
                answer = gateway.send(venue_code, request.message)
            except GatewayError as exc:
                # The venue may still receive it later: the slot keeps counting until it
                # ages out (pending_ms), rather than being completed now.
                _mark_unknown(request, why=str(exc))
                return "unknown"
            try:
                limiter.complete(slot)
            except redis.RedisError as exc:
                # The venue acted and answered: record it whatever Redis says. Not re-stamped,
                # the entry keeps counting as a send under way until it ages out (later than
                # needed, never earlier); a restarted Redis is covered by the cool-down.
                logger.warning("venue %s answered but the limiter slot was not completed: %r",
                               venue_code, exc)
            return _record_answer(request, answer)
    except _Rollback as rollback:
        if slot is not None and not on_the_wire:
            # Nothing was sent on it. A send the venue refused at its gate (NOT_LOGGED_ON,
            # RATE_LIMIT) keeps its slot: the venue counts it in its window.
            limiter.release(slot)
        if rollback.reason == "NOT_LOGGED_ON":
            session_mark_dropped(venue_code=venue_code, reason="venue answered NOT_LOGGED_ON")
        elif rollback.reason:
            logger.error("venue %s answered %s: the send was undone and stays queued",
                         venue_code, rollback.reason)
        return rollback.outcome


def _claim(request: VenueRequest) -> None:
    order = request.order
    if request.kind == RequestKind.NEW:
        if order.status == OrderStatus.QUEUED:
            order_services.order_mark_sent(order_id=order.pk, actor=ACTOR, locked=order)
        # Sent with the order's terms as they are now: in-place modifies are included.
        request.quantity = order.quantity
        request.limit_price = order.limit_price
        request.stop_price = order.stop_price
    request.message = _message(request)
    request.state = RequestState.SENDING
    request.claimed_at = timezone.now()
    request.claimed_by = WORKER_ID[:100]
    request.attempts += 1


def _decimal(value) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _message(request: VenueRequest) -> dict:
    order = request.order
    message = {
        "kind": request.kind,
        "requestId": str(request.request_id),
        "clientOrderId": str(order.pk),
    }
    if request.kind != RequestKind.CANCEL:
        message |= {
            "quantity": _decimal(request.quantity),
            "limitPrice": _decimal(request.limit_price),
            "stopPrice": _decimal(request.stop_price),
        }
    if request.kind == RequestKind.NEW:
        message |= {
            "symbol": order.symbol,
            "side": order.side,
            "orderType": order.order_type,
            "timeInForce": order.time_in_force,
            "account": order.account_id,
        }
    return message


def _mark_unknown(request: VenueRequest, *, why: str) -> None:
    request.reason = why[:200]
    request.save()
    logger.warning("send of %s %s has an unknown outcome: %s", request.kind,
                   request.request_id, why)


def _record_answer(request: VenueRequest, answer: VenueAnswer) -> str:
    body = answer.body
    if body.get("requestId") != str(request.request_id):
        UnmatchedResponse.objects.create(
            venue_id=request.venue_id,
            request_id=str(body.get("requestId", ""))[:64],
            why=f"answer to a send of request {request.request_id} names another request",
            payload=body,
        )
        _mark_unknown(request, why="the answer named another request")
        return "unknown"
    result = body.get("result")
    reason = str(body.get("reason") or "")
    if result == VenueResult.REJECT and reason in GATE_REJECTS:
        raise _Rollback("gated", reason)
    if result not in VenueResult.values:
        UnmatchedResponse.objects.create(
            venue_id=request.venue_id, request_id=str(request.request_id),
            why=f"answer has no valid result ({result!r})", payload=body,
        )
        _mark_unknown(request, why="the answer had no valid result")
        return "unknown"
    request.state = RequestState.ANSWERED
    request.result = result
    request.reason = reason[:200]
    request.response = body
    request.responded_at = timezone.now()
    request.latency_micros = answer.latency_micros
    request.save()
    try:
        # No savepoint needed: the order services check before they write, so a refusal
        # leaves this transaction clean and the answer stays recorded on its request.
        _apply_to_order(request, accepted=result == VenueResult.ACCEPT, reason=reason)
    except InvalidTransition as exc:
        # The answer is kept on its request; that it fits no transition is flagged for a human.
        UnmatchedResponse.objects.create(
            venue_id=request.venue_id, request_id=str(request.request_id),
            why=f"answer does not fit the order's state: {exc.message}"[:200], payload=body,
        )
    return "sent"


def _apply_to_order(request: VenueRequest, *, accepted: bool, reason: str) -> None:
    # The claim locked the order in this transaction: the services use that instance.
    order = {"order_id": request.order_id, "actor": ACTOR, "locked": request.order}
    match (request.kind, accepted):
        case (RequestKind.NEW, True):
            order_services.order_acknowledge(**order)
        case (RequestKind.NEW, False):
            order_services.order_reject(**order, reason=reason)
        case (RequestKind.MODIFY, True):
            order_services.order_replace_accept(
                **order, quantity=request.quantity, limit_price=request.limit_price,
                stop_price=request.stop_price,
            )
        case (RequestKind.MODIFY, False):
            order_services.order_replace_reject(**order, reason=reason)
        case (RequestKind.CANCEL, True):
            order_services.order_cancel_accept(**order)
        case (RequestKind.CANCEL, False):
            order_services.order_cancel_reject(**order, reason=reason)


# --- the sweeper ---------------------------------------------------------------------------------


def _resend_after(attempts: int) -> timedelta:
    # Back-off for a venue that is down: the base wait, doubled per attempt, at most 1 minute.
    base = settings.OMS_DISPATCH_RESEND_AFTER_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 60))


def dispatch_sweep(*, now: datetime | None = None) -> dict:
    """Queue again what was claimed with an unknown outcome, and nudge every venue with work.

    Celery messages are only nudges: one lost with a Redis restart, or a worker that died,
    leaves rows in the table, and this finds them.
    """
    now = now or timezone.now()
    requeued = 0
    with transaction.atomic():
        candidates = VenueRequest.objects.select_for_update(skip_locked=True).filter(
            state=RequestState.SENDING,
            claimed_at__lt=now - timedelta(seconds=settings.OMS_DISPATCH_RESEND_AFTER_SECONDS),
        )
        for request in candidates.order_by("id"):
            if request.claimed_at < now - _resend_after(request.attempts):
                request.state = RequestState.QUEUED
                request.save(update_fields=["state"])
                requeued += 1
    venues = list(
        VenueRequest.objects.filter(state=RequestState.QUEUED)
        .values_list("venue_id", flat=True)
        .distinct()
    )
    for venue_code in venues:
        if session_can_send(venue_code=venue_code):
            dispatch_nudge(venue_code=venue_code, coalesce=False)
    return {"requeued": requeued, "nudged": venues}
