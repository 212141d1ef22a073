"""Time in force at the close: a venue's queued DAY orders expire without being sent."""

import logging
from datetime import datetime
from uuid import UUID

from django.db import transaction

from dispatch.queue import requests_withdraw_queued
from orders.errors import InvalidTransition
from orders.models import Order, OrderEventType, OrderStatus, TimeInForce
from orders.services.locking import lock_order_in
from orders.services.transitions import transition

logger = logging.getLogger("orders")


def order_expire(*, order_id: UUID, actor: str, reason: str) -> Order:
    """Time in force ran out before a queued order was sent (a DAY order at the close). Only
    a queued one: an order that may be at the venue is the venue's to expire."""
    with transaction.atomic():
        order = lock_order_in(order_id, {OrderStatus.QUEUED},
                              refusal="only a queued order expires here.")
        requests_withdraw_queued(order_id=order.pk, reason=reason)
        return transition(
            order,
            to_status=OrderStatus.EXPIRED,
            event=OrderEventType.EXPIRED,
            actor=actor,
            data={"reason": reason},
        )


def order_expire_day_orders(*, venue_code: str, closed_at: datetime) -> dict[str, int]:
    """At a venue's close, expire its queued DAY orders accepted before the close: they are
    never sent. Live ones are the venue's to expire (it reports each, 150=C), and one held
    back at the send gate after the close expires there. GTC orders wait for the next
    session. Idempotent: a repeated close finds nothing left to do.
    """
    day_orders = Order.objects.filter(
        venue_id=venue_code, time_in_force=TimeInForce.DAY, created_at__lt=closed_at
    )
    done = {"expired": 0}
    queued = day_orders.filter(status=OrderStatus.QUEUED)
    for order_id in queued.order_by("pk").values_list("pk", flat=True).iterator():
        try:
            order_expire(order_id=order_id, actor=_CLOSE_ACTOR,
                         reason=f"DAY order expired at the close of {venue_code}")
            done["expired"] += 1
        except InvalidTransition:
            pass  # it moved on (claimed, cancelled) after we listed it
    if any(done.values()):
        logger.info("close of %s: %s", venue_code, done)
    return done


_CLOSE_ACTOR = "system:session-close"
