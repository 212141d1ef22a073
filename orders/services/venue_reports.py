"""What a venue says about an order, applied to the books, one message per transaction:
execution reports (35=8), cancel rejects (35=9), and rejects of messages it did not act on
(35=3 session level, 35=j business level). Status answers (150=I) are venue_status.py's.

The venue has the last word on an order, within our rules: its OrdStatus is followed (a
live status yields to a cancel or replace of ours still pending, as FIX's status precedence
has it), a replace it accepted brings its terms, and its trades, busts and corrections are
booked as fills, which make the order's cumQty and avgPx (venue_fills.py). A report that our
rules cannot follow (an unknown value, a move out of a terminal status, more filled than
ordered) is stored and flagged for an operator, and changes nothing else.
"""

import logging
from datetime import timedelta

from dispatch.models import RequestKind, RequestState, VenueRequest
from dispatch.queue import (
    changes_pending,
    request_answer,
    request_find,
    request_find_by_seq_num,
    request_lock,
    request_requeue,
    requests_withdraw_queued,
    unmatched_record,
)
from executions.models import ExecutionReport
from executions.services import execution_report_flag, execution_report_record
from omsproject.decimals import decimal_text
from orders.models import (
    AFTER_TRADE_AMENDED,
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    Order,
    OrderEventType,
    OrderStatus,
)
from orders.services.claims import order_new_returned
from orders.services.locking import lock_order
from orders.services.transitions import TERMS, flag, live_status, record, terms_data, transition
from orders.services.venue_fills import fills_follow
from venues.fix.codec import VenueMessage

logger = logging.getLogger("orders")

ACTOR = "system:venue"
S = OrderStatus

# OrdStatus (39) -> ours. Done for day, replaced, stopped, suspended, accepted for bidding
# and calculated leave a live order live (by what is filled).
VENUE_STATUS = {"0": S.NEW, "1": S.PARTIALLY_FILLED, "2": S.FILLED, "4": S.CANCELED,
                "8": S.REJECTED, "C": S.EXPIRED, "A": S.PENDING_NEW, "6": S.PENDING_CANCEL,
                "E": S.PENDING_REPLACE}
EVENT_FOR_EXEC_TYPE = {
    "0": OrderEventType.ACKNOWLEDGED, "A": OrderEventType.ACKNOWLEDGED,
    "8": OrderEventType.REJECTED, "4": OrderEventType.CANCELED, "5": OrderEventType.REPLACED,
    "C": OrderEventType.EXPIRED, "F": OrderEventType.FILLED, "G": OrderEventType.CORRECTED,
    "H": OrderEventType.BUSTED, "I": OrderEventType.RECONCILED,
}
ORD_REJ_REASONS = {"0": "BROKER_OPTION", "1": "UNKNOWN_SYMBOL", "2": "EXCHANGE_CLOSED",
                   "3": "ORDER_EXCEEDS_LIMIT", "4": "TOO_LATE_TO_ENTER", "5": "UNKNOWN_ORDER",
                   "6": "DUPLICATE_ORDER", "8": "STALE_ORDER", "13": "INCORRECT_QUANTITY",
                   "15": "UNKNOWN_ACCOUNT", "99": "OTHER"}
CXL_REJ_REASONS = {"0": "TOO_LATE_TO_CANCEL", "1": "UNKNOWN_ORDER", "2": "BROKER_OPTION",
                   "3": "ALREADY_PENDING", "6": "DUPLICATE_CLORDID", "99": "OTHER"}
# BusinessRejectReason (380) values by which a venue says "not now" rather than "never":
# other (a throttle, in the mock), application or firm not available.
RETRYABLE_BUSINESS_REJECTS = frozenset({"0", "4", "7"})
MAX_ATTEMPTS = 5


def reason_text(codes: dict, code: str, text: str) -> str:
    name = codes.get(code, code)
    return ": ".join(part for part in (name, text) if part)


# --- execution reports -----------------------------------------------------------------------


def execution_report_apply(*, venue_code: str, message: VenueMessage,
                           latency_micros: int | None) -> None:
    found = (request_find(venue_code=venue_code, key=message.cl_ord_id)
             or request_find(venue_code=venue_code, key=message.orig_cl_ord_id))
    report, created = execution_report_record(
        venue_code=venue_code, message=message, order_id=found.order_id if found else None,
        request_id=found.pk if found else None)
    if not created:
        return  # this ExecID was applied already: the same fact changes nothing twice
    if found is None:
        execution_report_flag(report, "matches no order of ours")
        logger.warning("venue %s: execution report %s matches no order", venue_code,
                       message.exec_id)
        return
    order = lock_order(found.order_id)
    request = request_lock(found.pk)
    answering = None
    if (request.state == RequestState.QUEUED and request.kind == RequestKind.NEW
            and request.attempts and order.status == S.QUEUED
            and request.cl_ord_id == message.cl_ord_id):
        # We had put it back in the queue (the venue said it did not have it, or not yet),
        # and here the venue acts on it after all: it is on the wire, and this answers it.
        # (One never claimed never left: a report about it is one our rules cannot follow.)
        transition(order, to_status=S.PENDING_NEW, event=OrderEventType.SENT, actor=ACTOR,
                   data={"why": "the venue reports it", "clOrdId": request.cl_ord_id})
        request.state = RequestState.SENDING
    if request.state == RequestState.SENDING and request.cl_ord_id == message.cl_ord_id:
        answering = request
        rejected = message.exec_type == "8"
        request_answer(request, accepted=not rejected,
                       reason=reason_text(ORD_REJ_REASONS, message.ord_rej_reason, message.text)
                       if rejected else "", response=message.as_dict(),
                       latency_micros=latency_micros)
    follow_venue(order, report, message, answering=answering,
                 event=EVENT_FOR_EXEC_TYPE.get(message.exec_type, OrderEventType.RESTATED))


def follow_venue(order: Order, report: ExecutionReport, message: VenueMessage, *,
                 answering: VenueRequest | None, event: str,
                 reconcile_terms: bool = False) -> None:
    """Bring the (locked) order to what the report says, within our rules."""
    data = {"execId": report.exec_id, "execType": report.exec_type,
            "ordStatus": report.ord_status}
    if report.text:
        data["text"] = report.text
    if report.flag:
        flag(order, why=f"venue report {report.exec_id}: {report.flag}", actor=ACTOR, data=data)
        return
    changed: list[str] = []
    venue_order_id = message.order_id if message.order_id not in ("", "NONE") else ""
    if venue_order_id and order.venue_order_id != venue_order_id:
        order.venue_order_id = venue_order_id[:64]
        changed.append("venue_order_id")
    current = _current_cl_ord_id(answering, message, reconcile_terms)
    if current and current != order.venue_cl_ord_id:
        order.venue_cl_ord_id = current[:64]
        changed.append("venue_cl_ord_id")
    if report.exec_type == "5" or reconcile_terms:
        terms = _terms_from(report, order, answering)
        if terms["quantity"] < order.filled_quantity:
            # A venue does not replace an order to less than it has filled (docs/fix.md,
            # rule 4): half of such a replace cannot be taken, so none of it is.
            _unfollowable(order, report, data, f"the venue's quantity "
                          f"{decimal_text(terms['quantity'])} is below the "
                          f"{decimal_text(order.filled_quantity)} filled here")
            return
        if any(terms[f] != getattr(order, f) for f in TERMS):
            data |= terms_data(order, terms)
            for field in TERMS:
                if terms[field] != getattr(order, field):
                    setattr(order, field, terms[field])
                    changed.append(field)
    booking = fills_follow(order, report)
    if booking.stop:
        _unfollowable(order, report, data | booking.data, booking.problem)
        return
    data |= booking.data
    changed += [f for f in booking.changed if f not in changed]
    target = _target_status(order, report)
    amended = report.exec_type in ("G", "H")
    if target == order.status:
        if changed or answering is not None:
            record(order, event=event, actor=ACTOR, data=data, also_update=tuple(changed))
    elif target in ALLOWED_TRANSITIONS[order.status] or (
        amended and target in AFTER_TRADE_AMENDED.get(order.status, ())
    ):
        if target in TERMINAL_STATUSES:
            requests_withdraw_queued(order_id=order.pk, reason=f"the venue reports {target}")
        transition(order, to_status=target, event=event, actor=ACTOR, data=data,
                   also_update=tuple(changed),
                   also_allowed=AFTER_TRADE_AMENDED.get(order.status, frozenset())
                   if amended else frozenset())
    else:
        # The status cannot follow (the order is closed here, or never left). A trade it
        # reports that could be booked was (late: it happened, the position is real); the
        # rest of the report waits for an operator, with the stored report.
        if booking.booked:
            record(order, event=event, actor=ACTOR, data=data, also_update=tuple(changed))
        booking.note(f"the venue says {target}; the order is {order.status} here")
    if booking.problem:
        _unfollowable(order, report, data, booking.problem)


def _unfollowable(order: Order, report: ExecutionReport, data: dict, why: str) -> None:
    """Flag the report and the order for an operator (nothing else of the order is saved)."""
    execution_report_flag(report, why)
    flag(order, why=f"venue report {report.exec_id}: {why}", actor=ACTOR, data=data)


def _current_cl_ord_id(answering, message, reconcile: bool) -> str:
    # An accepted NEW or replace makes its ClOrdID the order's current one at the venue; a
    # status answer tells the current one outright.
    if reconcile:
        return message.cl_ord_id if message.ord_status != "8" else ""
    if answering is not None and answering.kind in (RequestKind.NEW, RequestKind.MODIFY) and (
        message.exec_type != "8"
    ):
        return answering.cl_ord_id
    return ""


def _terms_from(report: ExecutionReport, order: Order, answering: VenueRequest | None) -> dict:
    fallback = answering if answering is not None and answering.kind == RequestKind.MODIFY \
        else order
    return {
        "quantity": report.order_quantity if report.order_quantity is not None
        else fallback.quantity,
        "limit_price": report.price if report.price is not None else fallback.limit_price,
        "stop_price": report.stop_price if report.stop_price is not None
        else fallback.stop_price,
    }


def _target_status(order: Order, report: ExecutionReport) -> str:
    if report.ord_status == "B":  # calculated: done, fees known
        venue = S.FILLED if report.leaves_quantity == 0 else None
    else:
        venue = VENUE_STATUS.get(report.ord_status)
    if venue in TERMINAL_STATUSES:
        return venue
    if order.status in (S.PENDING_CANCEL, S.PENDING_REPLACE) and changes_pending(
        order_id=order.pk
    ):
        return order.status  # our cancel or replace is still on its way: it stays pending
    if venue in (S.PENDING_NEW, S.PENDING_CANCEL, S.PENDING_REPLACE):
        return order.status if order.status != S.QUEUED else venue
    return live_status(order)


# --- cancel rejects --------------------------------------------------------------------------


def cancel_reject_apply(*, venue_code: str, message: VenueMessage,
                        latency_micros: int | None) -> None:
    found = request_find(venue_code=venue_code, key=message.cl_ord_id)
    if found is None:
        unmatched_record(venue_code=venue_code, key=message.cl_ord_id,
                         why="a cancel reject for no request of ours", payload=message.as_dict())
        return
    order = lock_order(found.order_id)
    request = request_lock(found.pk)
    if request.state != RequestState.SENDING:
        return  # answered already: the same answer again changes nothing
    reason = reason_text(CXL_REJ_REASONS, message.cxl_rej_reason, message.text)
    request_answer(request, accepted=False, reason=reason, response=message.as_dict(),
                   latency_micros=latency_micros)
    event = (OrderEventType.CANCEL_REJECTED if request.kind == RequestKind.CANCEL
             else OrderEventType.REPLACE_REJECTED)
    data = {"reason": reason, "ordStatus": message.ord_status}
    closed = {"2": S.FILLED, "4": S.CANCELED, "C": S.EXPIRED, "8": S.REJECTED}
    target = closed.get(message.ord_status)
    if target is not None:
        # The venue says the order is closed (or unknown to it): it must not look live here.
        if target == order.status:
            record(order, event=event, actor=ACTOR, data=data)
        elif target in ALLOWED_TRANSITIONS[order.status]:
            requests_withdraw_queued(order_id=order.pk, reason=f"the venue reports {target}")
            transition(order, to_status=target, event=event, actor=ACTOR, data=data)
            if target == S.REJECTED:
                flag(order, why="the venue does not know this order", actor=ACTOR, data=data)
        else:
            flag(order, why=f"the venue says {target}; the order is {order.status} here",
                 actor=ACTOR, data=data)
        return
    _back_to_live(order, event=event, data=data)


def _back_to_live(order: Order, *, event: str, data: dict) -> None:
    if order.status in (S.PENDING_CANCEL, S.PENDING_REPLACE) and not changes_pending(
        order_id=order.pk
    ):
        transition(order, to_status=live_status(order), event=event, actor=ACTOR, data=data)
    else:
        record(order, event=event, actor=ACTOR, data=data)


# --- messages the venue did not act on -------------------------------------------------------


def message_reject_apply(*, venue_code: str, message: VenueMessage,
                         latency_micros: int | None) -> None:
    """35=3 (the message failed the venue's session checks) or 35=j (it refused it at the
    business level): either way it did not act on it."""
    found = None
    if message.msg_type == "j":
        found = request_find(venue_code=venue_code, key=message.business_reject_ref_id)
    if found is None and message.ref_seq_num.isdigit():
        found = request_find_by_seq_num(venue_code=venue_code, seq_num=int(message.ref_seq_num))
    if found is None:
        unmatched_record(venue_code=venue_code, key=message.business_reject_ref_id,
                         why=f"a {message.msg_type} reject for no request of ours",
                         payload=message.as_dict())
        return
    order = lock_order(found.order_id)
    request = request_lock(found.pk)
    if request.state != RequestState.SENDING:
        return
    code = message.business_reject_reason if message.msg_type == "j" \
        else message.session_reject_reason
    reason = f"{'business' if message.msg_type == 'j' else 'session'} reject {code}: " \
             f"{message.text}".strip()
    if message.msg_type == "j" and code in RETRYABLE_BUSINESS_REJECTS and (
        request.attempts < MAX_ATTEMPTS
    ):
        # Not now: the same message again later, with the same ids.
        request_requeue(request, why=reason,
                        delay=timedelta(seconds=min(2 ** request.attempts, 30)))
        if request.kind == RequestKind.NEW:
            order_new_returned(order, why=reason, actor=ACTOR)
        logger.warning("venue %s refused %s %s for now (%s); it goes again later", venue_code,
                       request.kind, request.cl_ord_id, reason)
        return
    request_answer(request, accepted=False, reason=reason, response=message.as_dict(),
                   latency_micros=latency_micros)
    data = {"reason": reason}
    if request.kind == RequestKind.NEW and order.status in (S.PENDING_NEW, S.PENDING_CANCEL):
        requests_withdraw_queued(order_id=order.pk, reason="the venue refused the order")
        transition(order, to_status=S.REJECTED, event=OrderEventType.REJECTED, actor=ACTOR,
                   data=data)
    elif request.kind == RequestKind.MODIFY:
        _back_to_live(order, event=OrderEventType.REPLACE_REJECTED, data=data)
    elif request.kind == RequestKind.CANCEL:
        _back_to_live(order, event=OrderEventType.CANCEL_REJECTED, data=data)
