"""What happens to orders as dispatch claims their NEWs, and as the send gate holds some
back: called by the receivers of dispatch's signals (orders/receivers.py), inside dispatch's
transactions, which already hold the claimed orders' row locks."""

import logging
from uuid import UUID

from django.db.models import Case, Value, When

from dispatch.queue import requests_withdraw_queued
from orders.live.wake import events_written
from orders.models import Order, OrderEvent, OrderEventType, OrderStatus
from orders.services.locking import lock_orders
from orders.services.parents import parents_follow_claims
from orders.services.transitions import transition

logger = logging.getLogger("orders")

DISPATCH_ACTOR = "system:dispatch"


def orders_mark_claimed(*, venue_code: str, claimed: list[tuple[Order, str]]) -> None:
    """Their NEWs are committed as possibly on the wire: QUEUED -> PENDING_NEW, known at the
    venue by the NEW's ClOrdID (`claimed`: each order as the claim read and locked it, with
    that ClOrdID). In bulk (a claim holds up to 64): one UPDATE, one INSERT, and the
    parents' roll-up only when a claimed order is a child."""
    cl_ord_ids = {order.pk: cl for order, cl in claimed}
    moved = Order.objects.filter(pk__in=list(cl_ord_ids), status=OrderStatus.QUEUED).update(
        status=OrderStatus.PENDING_NEW,
        venue_cl_ord_id=Case(*[When(pk=pk, then=Value(cl)) for pk, cl in cl_ord_ids.items()]),
    )
    if moved != len(cl_ord_ids):
        # A NEW is claimable only while its order is QUEUED (a cancel withdraws it under the
        # same row lock): this would be a bug, and the books must say so.
        logger.error("venue %s: %d of %d claimed NEWs had an order not QUEUED", venue_code,
                     len(cl_ord_ids) - moved, len(cl_ord_ids))
    OrderEvent.objects.bulk_create(
        OrderEvent(order_id=pk, type=OrderEventType.SENT, from_status=OrderStatus.QUEUED,
                   to_status=OrderStatus.PENDING_NEW, actor=DISPATCH_ACTOR,
                   data={"clOrdId": cl})
        for pk, cl in cl_ord_ids.items()
    )
    children = [order.pk for order, _ in claimed if order.parent_id]
    if children:
        # At a trickle of orders of their own, this query found no parent for a seventh
        # of a dispatcher's time (py-spy, 60 orders/s).
        parents_follow_claims(child_ids=children, actor=DISPATCH_ACTOR,
                              event=OrderEventType.SENT)
    events_written(None)  # bulk_create sends no post_save: wake the live streams here


def order_new_returned(order: Order, *, why: str, actor: str) -> Order:
    """The (locked) order's NEW never reached the venue: it waits in the queue again at its
    place, or, when a cancel is pending, it is cancelled here and now (nothing to cancel there)."""
    if order.status == OrderStatus.PENDING_CANCEL:
        requests_withdraw_queued(order_id=order.pk, reason="the order never reached the venue")
        return transition(order, to_status=OrderStatus.CANCELED, event=OrderEventType.CANCELED,
                          actor=actor, data={"why": why, "neverSent": True})
    if order.status != OrderStatus.PENDING_NEW:
        return order
    return transition(order, to_status=OrderStatus.QUEUED, event=OrderEventType.RETURNED,
                      actor=actor, data={"why": why})


def orders_return_unsent(*, order_ids: list[UUID], why: str) -> None:
    for order in lock_orders(order_ids):
        order_new_returned(order, why=why, actor=DISPATCH_ACTOR)


def orders_expire_unsent(*, order_ids: list[UUID], why: str) -> None:
    """DAY orders whose NEW was held back past the close: they expire without being sent."""
    for order in lock_orders(order_ids):
        if order.status not in (OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL):
            continue
        requests_withdraw_queued(order_id=order.pk, reason=why)
        transition(order, to_status=OrderStatus.EXPIRED, event=OrderEventType.EXPIRED,
                   actor=DISPATCH_ACTOR, data={"reason": why, "neverSent": True})
