"""What a client or an operator changes on an order: modify and cancel.

A queued order changes here and now (its NEW is sent with the terms it has when claimed, and
a cancelled one never leaves). From the moment its NEW is claimed (possibly on the wire) the
order is the venue's as much as ours: a modify or cancel then becomes a REPLACE or CANCEL
queued behind the NEW, and the order is PENDING_REPLACE / PENDING_CANCEL until the venue
answers.
"""

from decimal import Decimal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from orders.errors import InvalidTransition
from orders.models import CANCELLABLE_STATUSES, MODIFIABLE_STATUSES, Order, OrderStatus
from orders.services import hooks, parent_changes
from orders.services.amend import UNSET, cancel_locked, modify_locked, terms_after
from orders.services.locking import lock_order, lock_order_in
from routing import Policy


def order_modify(
    *,
    order_id: UUID,
    actor: str,
    quantity: Decimal | None = None,
    limit_price: Decimal | None | object = UNSET,
    stop_price: Decimal | None | object = UNSET,
) -> Order:
    """Change quantity and/or prices.

    A queued order changes in place and keeps its queue position. A live order (NEW,
    PARTIALLY_FILLED) becomes PENDING_REPLACE and a MODIFY joins the venue's queue; the terms
    change when the venue accepts it. While trading is halted a live order is not replaced.
    A routed order's change fans out to its children (parent_changes.py); a child's terms
    are its parent's to change.
    """
    if order_is_parent(order_id):
        return parent_changes.parent_modify(order_id=order_id, actor=actor, quantity=quantity,
                                            limit_price=limit_price, stop_price=stop_price)
    with transaction.atomic():
        order = lock_order_in(order_id, MODIFIABLE_STATUSES, refusal="it cannot be modified now.")
        if order.parent_id is not None:
            raise InvalidTransition(
                "This order is a child of a routed order: modify its parent.",
                details={"parentOrderId": str(order.parent_id)})
        after = terms_after(order, quantity=quantity, limit_price=limit_price,
                            stop_price=stop_price)
        if after is None:
            return order
        hooks.run_amend_checks(order=order, after=after)
        return modify_locked(order, after, actor=actor)


def order_cancel(*, order_id: UUID, actor: str, reason: str = "") -> Order:
    """Cancel an order.

    A queued order is cancelled at once: its NEW leaves the queue and never reaches the
    venue. An order at the venue (or possibly on its way there) becomes PENDING_CANCEL and a
    CANCEL joins the venue's queue, sent once every earlier request of the order is answered.
    A routed order's cancel fans out to its live children (parent_changes.py).
    """
    data = {"reason": reason} if reason else None
    if order_is_parent(order_id):
        return parent_changes.parent_cancel(order_id=order_id, actor=actor, data=data)
    with transaction.atomic():
        return cancel_locked(lock_order(order_id), actor=actor, data=data)


def order_is_parent(order_id: UUID) -> bool:
    """Whether the order is routed (a parent of children); read without a lock: it never
    changes."""
    try:
        return (Order.objects.filter(pk=order_id).exclude(routing=Policy.DIRECTED)
                .exists())
    except ValidationError:
        return False  # not an order id: lock_order says so


def orders_cancel_open(*, actor: str, reason: str, venue_code: str | None = None,
                       account_code: str | None = None) -> dict:
    """Cancel every open order (of one venue, one account, or all): the kill switch's "take
    risk off"."""
    open_orders = Order.objects.filter(status__in=CANCELLABLE_STATUSES)
    if venue_code is not None:
        open_orders = open_orders.filter(venue_id=venue_code)  # a parent's children there
    else:
        open_orders = open_orders.filter(parent__isnull=True)  # a parent takes its children
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
