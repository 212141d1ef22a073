"""The queue's rows as the order books change them: requests queued by intake and client
changes, answered, re-queued or withdrawn as the venue answers. Requests are locked after
the caller has locked their order (dispatch/locks.py)."""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from dispatch.locks import locked
from dispatch.models import RequestKind, RequestState, UnmatchedResponse, VenueRequest
from dispatch.nudge import dispatch_nudge

logger = logging.getLogger(__name__)

_OPEN = (RequestState.QUEUED, RequestState.SENDING)


def request_enqueue(
    *, order_id: UUID, venue_code: str, kind: str, quantity: Decimal | None = None,
    limit_price: Decimal | None = None, stop_price: Decimal | None = None, nudge: bool = True,
) -> VenueRequest:
    """Queue a request for the venue, in the caller's transaction; nudge a dispatcher on
    commit (nudge=False: the caller nudges, once for many requests)."""
    request = VenueRequest.objects.create(
        order_id=order_id, venue_id=venue_code, kind=kind, quantity=quantity,
        limit_price=limit_price, stop_price=stop_price,
    )
    if nudge:
        transaction.on_commit(lambda: dispatch_nudge(venue_code=venue_code))
    return request


def requests_withdraw_queued(*, order_id: UUID, reason: str = "") -> int:
    """What still waits for this order is never sent (it closed, or its NEW was cancelled)."""
    return VenueRequest.objects.filter(order_id=order_id, state=RequestState.QUEUED).update(
        state=RequestState.WITHDRAWN, reason=reason[:200])


def requests_enqueue_status(*, venue_code: str, order_ids: list[UUID]) -> int:
    """Ask the venue about each of these orders (FIX 35=H), unless a question is already
    waiting for an answer; in bulk (every open order at a logon)."""
    asking = set(VenueRequest.objects.filter(
        order_id__in=order_ids, kind=RequestKind.STATUS, state__in=_OPEN,
    ).values_list("order_id", flat=True))
    rows = [VenueRequest(order_id=pk, venue_id=venue_code, kind=RequestKind.STATUS)
            for pk in order_ids if pk not in asking]
    VenueRequest.objects.bulk_create(rows, batch_size=1000)
    if rows:
        transaction.on_commit(lambda: dispatch_nudge(venue_code=venue_code))
    return len(rows)


def request_find(*, venue_code: str, key: str) -> VenueRequest | None:
    """The request a venue's message names (its ClOrdID or OrdStatusReqID), not locked:
    the caller locks its order first, then the request (request_lock)."""
    try:
        request_id = UUID(key)
    except (ValueError, TypeError, AttributeError):
        return None
    return VenueRequest.objects.filter(request_id=request_id, venue_id=venue_code).first()


def request_find_by_seq_num(*, venue_code: str, seq_num: int) -> VenueRequest | None:
    """The request we sent with this MsgSeqNum (a session-level Reject names only that);
    the latest, as numbers start again after a sequence reset."""
    return (VenueRequest.objects.filter(venue_id=venue_code, msg_seq_num=seq_num)
            .order_by("-id").first())


def request_lock(pk: int) -> VenueRequest:
    return locked(VenueRequest.objects.filter(pk=pk)).get()


def changes_pending(*, order_id: UUID) -> bool:
    """A cancel or replace of the order is queued or on its way: the order stays pending."""
    return VenueRequest.objects.filter(
        order_id=order_id, kind__in=(RequestKind.CANCEL, RequestKind.MODIFY), state__in=_OPEN,
    ).exists()


def new_request_answered(*, order_id: UUID) -> bool:
    """The venue accepted this order's NEW at some point: it knew the order."""
    return VenueRequest.objects.filter(
        order_id=order_id, kind=RequestKind.NEW, state=RequestState.ANSWERED, result="ACCEPT",
    ).exists()


def requests_unresolved(*, order_id: UUID, before: int | None = None) -> list[VenueRequest]:
    """The order's claimed requests still waiting for an answer (outcome unknown), locked."""
    rows = VenueRequest.objects.filter(order_id=order_id, state=RequestState.SENDING)
    if before is not None:
        rows = rows.filter(id__lt=before)
    return list(locked(rows))


def status_pending(*, order_id: UUID) -> bool:
    return VenueRequest.objects.filter(
        order_id=order_id, kind=RequestKind.STATUS, state__in=_OPEN).exists()


def request_answer(
    request: VenueRequest, *, accepted: bool, reason: str, response: dict,
    latency_micros: int | None, at: datetime | None = None,
) -> None:
    """The venue's first answer to a request we sent."""
    _complete_slot(request)
    request.state = RequestState.ANSWERED
    request.result = "ACCEPT" if accepted else "REJECT"
    request.reason = reason[:200]
    request.response = response
    request.responded_at = at or timezone.now()
    request.latency_micros = latency_micros
    request.save(update_fields=["state", "result", "reason", "response", "responded_at",
                                "latency_micros", "slot"])


def request_requeue(request: VenueRequest, *, why: str, delay: timedelta | None = None) -> None:
    """The venue did not act on it (or never got it): queued again at its place, to be sent
    with the same ids, after `delay`."""
    _complete_slot(request)
    request.state = RequestState.QUEUED
    request.reason = why[:200]
    request.claimed_at = None
    request.sent_at = None
    request.not_before = timezone.now() + delay if delay else None
    request.save(update_fields=["state", "reason", "claimed_at", "sent_at", "not_before",
                                "slot"])


def request_withdraw(request: VenueRequest, *, why: str) -> None:
    _complete_slot(request)
    request.state = RequestState.WITHDRAWN
    request.reason = why[:200]
    request.save(update_fields=["state", "reason", "slot"])


def unmatched_record(*, venue_code: str, key: str, why: str, payload: dict) -> None:
    UnmatchedResponse.objects.create(venue_id=venue_code, request_id=key[:64], why=why[:200],
                                     payload=payload)
    logger.warning("venue %s: stored a message for an operator (%s): %s", venue_code, why, key)


def _complete_slot(request: VenueRequest) -> None:
    # The session's holder completed the slot the moment it read the venue's first answer
    # (Outbox.answered): re-stamping it again, later, would only make it count longer. A
    # slot whose answer the holder never read ages out on its own (dispatch/limiter.py).
    request.slot = ""
