"""What a client or an operator changes on an order: modify and cancel.

A queued order changes here and now (its NEW is sent with the terms it has when claimed, and
a cancelled one never leaves). From the moment its NEW is claimed (possibly on the wire) the
order is the venue's as much as ours: a modify or cancel then becomes a REPLACE or CANCEL
queued behind the NEW, and the order is PENDING_REPLACE / PENDING_CANCEL until the venue
answers.
"""

from decimal import Decimal
from uuid import UUID

from django.db import transaction

from dispatch.models import RequestKind
from dispatch.queue import request_enqueue, requests_withdraw_queued
from omsproject.decimals import decimal_text
from omsproject.errors import InvalidInput
from orders.errors import InvalidTransition
from orders.models import (
    CANCELLABLE_STATUSES,
    MODIFIABLE_STATUSES,
    Order,
    OrderEventType,
    OrderStatus,
)
from orders.services import hooks
from orders.services.intake import OrderTerms, order_terms_validate
from orders.services.locking import lock_order, lock_order_in
from orders.services.transitions import TERMS, record, terms_data, transition
from sessions.errors import TradingHalted
from sessions.selectors import halt_reason_for

_UNSET = object()


def order_modify(
    *,
    order_id: UUID,
    actor: str,
    quantity: Decimal | None = None,
    limit_price: Decimal | None | object = _UNSET,
    stop_price: Decimal | None | object = _UNSET,
) -> Order:
    """Change quantity and/or prices.

    A queued order changes in place and keeps its queue position. A live order (NEW,
    PARTIALLY_FILLED) becomes PENDING_REPLACE and a MODIFY joins the venue's queue; the terms
    change when the venue accepts it. While trading is halted a live order is not replaced.
    """
    with transaction.atomic():
        order = lock_order_in(order_id, MODIFIABLE_STATUSES, refusal="it cannot be modified now.")
        after = OrderTerms(
            symbol=order.symbol, side=order.side, order_type=order.order_type,
            time_in_force=order.time_in_force,
            quantity=order.quantity if quantity is None else quantity,
            limit_price=order.limit_price if limit_price is _UNSET else limit_price,
            stop_price=order.stop_price if stop_price is _UNSET else stop_price,
        )
        new_terms = {field: getattr(after, field) for field in TERMS}
        if all(getattr(order, f) == v for f, v in new_terms.items()):
            return order
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
        hooks.run_amend_checks(order=order, after=after)
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


def order_cancel(*, order_id: UUID, actor: str, reason: str = "") -> Order:
    """Cancel an order.

    A queued order is cancelled at once: its NEW leaves the queue and never reaches the
    venue. An order at the venue (or possibly on its way there) becomes PENDING_CANCEL and a
    CANCEL joins the venue's queue, sent once every earlier request of the order is answered.
    """
    data = {"reason": reason} if reason else None
    with transaction.atomic():
        order = lock_order(order_id)
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


def orders_cancel_open(*, actor: str, reason: str, venue_code: str | None = None,
                       account_code: str | None = None) -> dict:
    """Cancel every open order (of one venue, one account, or all): the kill switch's "take
    risk off"."""
    open_orders = Order.objects.filter(status__in=CANCELLABLE_STATUSES)
    if venue_code is not None:
        open_orders = open_orders.filter(venue_id=venue_code)
    if account_code is not None:
        open_orders = open_orders.filter(account_id=account_code)
    done = {"cancelled": 0, "cancel_requested": 0, "skipped": 0}
    for order_id in open_orders.order_by("pk").values_list("pk", flat=True).iterator():
        try:
            order = order_cancel(order_id=order_id, actor=actor, reason=reason)
        except InvalidTransition:
            done["skipped"] += 1  # it moved on (answered, filled) after we listed it
            continue
        key = "cancelled" if order.status == OrderStatus.CANCELED else "cancel_requested"
        done[key] += 1
    return done
