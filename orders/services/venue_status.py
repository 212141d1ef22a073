"""Asking the venue, and following its answer: reconciliation.

The OMS asks the venue about an order (FIX 35=H, a STATUS request) when the outcome of a
request is unknown (dispatch/sweeper.py) and for every open order at each logon. The answer
(an ExecutionReport with ExecType I) settles every request of the order written before the
question, and the books move to what the venue says, with an audit event that says so:

* the venue has the order: a NEW is answered; a replace is answered if the venue's current
  ClOrdID is its own, else it is queued again (same ClOrdID: a venue that had refused it
  repeats its refusal); a cancel likewise by whether the order is cancelled there. Status,
  terms, CumQty and AvgPx follow the venue's (our pending cancel or replace still prevails).
* the venue does not know the order: a NEW it never received is queued again at its place;
  an order it once accepted and no longer knows is rejected here and flagged.

A venue's restatement of a request we sent again (its answer to a duplicate ClOrdID, 150=I
without a status request) settles that request the same way.
"""

from dispatch.models import RequestKind, RequestState, VenueRequest
from dispatch.queue import (
    new_request_answered,
    request_answer,
    request_find,
    request_lock,
    request_requeue,
    requests_enqueue_status,
    requests_unresolved,
    requests_withdraw_queued,
    unmatched_record,
)
from executions.services import execution_report_flag, execution_report_record
from orders.models import ALLOWED_TRANSITIONS, LIVE_STATUSES, Order, OrderEventType, OrderStatus
from orders.services.claims import order_new_returned
from orders.services.locking import lock_order
from orders.services.transitions import flag, transition
from orders.services.venue_reports import ACTOR, follow_venue
from venues.fix.codec import VenueMessage

CLOSED_AT_VENUE = frozenset({"2", "4", "C", "8"})


def status_answer_apply(*, venue_code: str, message: VenueMessage,
                        latency_micros: int | None) -> None:
    asked = request_find(venue_code=venue_code, key=message.ord_status_req_id) \
        if message.ord_status_req_id else None
    named = request_find(venue_code=venue_code, key=message.cl_ord_id)
    anchor = asked or named
    report, _ = execution_report_record(
        venue_code=venue_code, message=message, order_id=anchor.order_id if anchor else None,
        request_id=anchor.pk if anchor else None)
    if anchor is None:
        execution_report_flag(report, "a status answer for no order of ours")
        unmatched_record(venue_code=venue_code, key=message.ord_status_req_id or message.cl_ord_id,
                         why="a status answer for no order of ours", payload=message.as_dict())
        return
    order = lock_order(anchor.order_id)
    unknown = message.ord_status == "8" and message.ord_rej_reason == "5"
    if asked is not None:
        asked = request_lock(asked.pk)
        if asked.state == RequestState.SENDING:
            request_answer(asked, accepted=not unknown,
                           reason="unknown to the venue" if unknown else "",
                           response=message.as_dict(), latency_micros=latency_micros)
        # What this answer settles: the order's requests written no later than the question
        # (the venue answers in the order it receives). Ones written after it have answers
        # of their own on the way.
        unresolved = [r for r in requests_unresolved(order_id=order.pk)
                      if r.kind != RequestKind.STATUS and _written_before(r, asked)]
    else:
        named = request_lock(named.pk)
        unresolved = [named] if named.state == RequestState.SENDING and (
            named.kind != RequestKind.STATUS) else []
    if unknown:
        _unknown_to_venue(order, unresolved, message)
        return
    for request in unresolved:
        _settle(request, message)
    follow_venue(order, report, message, answering=None, event=OrderEventType.RECONCILED,
                 reconcile_terms=True)


def _written_before(request: VenueRequest, asked: VenueRequest) -> bool:
    """Was `request` on the wire before the question `asked` (or may it have been: never
    recorded as written)? One batch shares its write time; within it, the MsgSeqNum says."""
    if request.sent_at is None or asked.sent_at is None:
        return True
    if request.sent_at != asked.sent_at:
        return request.sent_at < asked.sent_at
    if request.msg_seq_num is None or asked.msg_seq_num is None:
        return True
    return request.msg_seq_num < asked.msg_seq_num


def _settle(request: VenueRequest, message: VenueMessage) -> None:
    answer = {"response": message.as_dict(), "latency_micros": None}
    closed = message.ord_status in CLOSED_AT_VENUE
    if request.kind == RequestKind.NEW:
        request_answer(request, accepted=True, reason="the venue has the order", **answer)
    elif request.kind == RequestKind.MODIFY and message.cl_ord_id == request.cl_ord_id:
        request_answer(request, accepted=True, reason="applied at the venue", **answer)
    elif request.kind == RequestKind.CANCEL and message.ord_status == "4":
        request_answer(request, accepted=True, reason="cancelled at the venue", **answer)
    elif closed:
        request_answer(request, accepted=False, reason="the order is closed at the venue",
                       **answer)
    else:
        request_requeue(request, why="the venue never applied it")


def _unknown_to_venue(order: Order, unresolved: list[VenueRequest],
                      message: VenueMessage) -> None:
    requeued_new = False
    for request in unresolved:
        if request.kind == RequestKind.NEW:
            request_requeue(request, why="the venue never received it")
            order_new_returned(order, why="the venue never received it", actor=ACTOR)
            requeued_new = True
        else:
            request_answer(request, accepted=False, reason="the venue does not know the order",
                           response=message.as_dict(), latency_micros=None)
    if requeued_new or order.status not in LIVE_STATUSES:
        return
    if not new_request_answered(order_id=order.pk):
        return  # its NEW is still on the way (written after the question): wait for it
    # The venue accepted this order once and now does not know it: it is not live there.
    data = {"why": "the venue does not know this order", "ordStatus": message.ord_status}
    if OrderStatus.REJECTED in ALLOWED_TRANSITIONS[order.status]:
        requests_withdraw_queued(order_id=order.pk, reason="unknown to the venue")
        transition(order, to_status=OrderStatus.REJECTED, event=OrderEventType.RECONCILED,
                   actor=ACTOR, data=data)
    flag(order, why="the venue does not know this order", actor=ACTOR, data=data)


def orders_ask_venue(*, venue_code: str) -> int:
    """At a logon: ask the venue about every order we think is open there."""
    open_orders = list(Order.objects.filter(venue_id=venue_code, status__in=LIVE_STATUSES)
                       .values_list("pk", flat=True))
    return requests_enqueue_status(venue_code=venue_code, order_ids=open_orders)


def orders_ask_venue_again(*, venue_code: str, order_ids: list) -> int:
    """Questions about these orders went unanswered and were given up: ask again about those
    still open (the others have nothing left for the venue to tell)."""
    still_open = list(Order.objects.filter(pk__in=order_ids, venue_id=venue_code,
                                           status__in=LIVE_STATUSES)
                      .values_list("pk", flat=True))
    return requests_enqueue_status(venue_code=venue_code, order_ids=still_open)
