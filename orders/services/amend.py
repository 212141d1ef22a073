"""The one order's side of a modify or cancel, on the order its caller has locked: shared
by a client's change of an order (changes.py) and a parent's change fanned out to its
children (parent_changes.py)."""

from dispatch.models import RequestKind
from dispatch.queue import request_enqueue, requests_withdraw_queued
from omsproject.decimals import decimal_text
from omsproject.errors import InvalidInput
from orders.errors import InvalidTransition
from orders.models import CANCELLABLE_STATUSES, Order, OrderEventType, OrderStatus
from orders.services.terms import OrderTerms, order_terms_validate
from orders.services.transitions import TERMS, record, terms_data, transition
from sessions.errors import TradingHalted
from sessions.selectors import halt_reason_for

UNSET = object()  # a price not given (None is "remove it")


def terms_after(order: Order, *, quantity, limit_price, stop_price) -> OrderTerms | None:
    """The order's terms once changed, checked; None when nothing would change."""
    after = OrderTerms(
        symbol=order.symbol, side=order.side, order_type=order.order_type,
        time_in_force=order.time_in_force,
        quantity=order.quantity if quantity is None else quantity,
        limit_price=order.limit_price if limit_price is UNSET else limit_price,
        stop_price=order.stop_price if stop_price is UNSET else stop_price,
    )
    if all(getattr(order, f) == getattr(after, f) for f in TERMS):
        return None
    order_terms_validate(terms=after)
    if after.quantity <= order.filled_quantity:
        # Read under the order's lock: a fill that committed first is counted, one
        # that comes later finds the replace pending, and the venue refuses a quantity
        # at or below what it has filled (docs/fix.md): never half accepted.
        filled = decimal_text(order.filled_quantity)
        raise InvalidInput(
            f"Quantity must stay above the {filled} already filled.",
            details={"quantity": [f"Must be more than the {filled} already filled."]},
        )
    return after


def modify_locked(order: Order, after: OrderTerms, *, actor: str) -> Order:
    """Change the (locked, modifiable) order's terms: in place while queued, else by a
    MODIFY to its venue (refused while the venue is halted)."""
    new_terms = {field: getattr(after, field) for field in TERMS}
    data = terms_data(order, new_terms)
    if order.status != OrderStatus.QUEUED:
        if (why := halt_reason_for(venue_code=order.venue_id)) is not None:
            raise TradingHalted(
                f"Halted: {why}; live orders are not replaced until it resumes; they "
                "can be cancelled.", details={"status": order.status})
        request_enqueue(order_id=order.pk, venue_code=order.venue_id,
                        kind=RequestKind.MODIFY, **new_terms)
        return transition(order, to_status=OrderStatus.PENDING_REPLACE,
                          event=OrderEventType.REPLACE_REQUESTED, actor=actor, data=data)
    changed = tuple(f for f in TERMS if new_terms[f] != getattr(order, f))
    for field in changed:
        setattr(order, field, new_terms[field])
    return record(order, event=OrderEventType.MODIFIED, actor=actor, data=data,
                  also_update=changed)


def cancel_locked(order: Order, *, actor: str, data: dict | None) -> Order:
    if order.status == OrderStatus.QUEUED:
        requests_withdraw_queued(order_id=order.pk, reason="cancelled before it was sent")
        return transition(order, to_status=OrderStatus.CANCELED,
                          event=OrderEventType.CANCELED, actor=actor, data=data)
    if order.status not in CANCELLABLE_STATUSES:
        raise InvalidTransition(
            f"Order is {order.status}; it cannot be cancelled now.",
            details={"status": order.status},
        )
    request_enqueue(order_id=order.pk, venue_code=order.venue_id, kind=RequestKind.CANCEL)
    return transition(order, to_status=OrderStatus.PENDING_CANCEL,
                      event=OrderEventType.CANCEL_REQUESTED, actor=actor, data=data)
