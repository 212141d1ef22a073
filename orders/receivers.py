"""The order books' side of what lower apps announce (they import nothing of orders)."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from dispatch.signals import (
    new_orders_claimed,
    new_orders_expired,
    new_orders_returned,
    status_questions_given_up,
)
from orders import services
from orders.live.wake import events_written
from orders.models import OrderEvent
from sessions.signals import session_window_closed, trading_halt_changed

logger = logging.getLogger("orders")


@receiver(session_window_closed, dispatch_uid="orders.expire_day_orders")
def expire_day_orders_at_close(sender, *, venue_code: str, closed_at, **kwargs) -> None:
    services.order_expire_day_orders(venue_code=venue_code, closed_at=closed_at)


@receiver(new_orders_claimed, dispatch_uid="orders.claimed")
def orders_claimed(sender, *, venue_code: str, claimed, **kwargs) -> None:
    services.orders_mark_claimed(venue_code=venue_code, claimed=claimed)


@receiver(new_orders_returned, dispatch_uid="orders.returned")
def orders_returned(sender, *, venue_code: str, order_ids, why: str, **kwargs) -> None:
    services.orders_return_unsent(order_ids=order_ids, why=why)


@receiver(new_orders_expired, dispatch_uid="orders.expired_unsent")
def orders_expired(sender, *, venue_code: str, order_ids, why: str, **kwargs) -> None:
    services.orders_expire_unsent(order_ids=order_ids, why=why)


@receiver(status_questions_given_up, dispatch_uid="orders.ask_again")
def ask_again(sender, *, venue_code: str, order_ids, **kwargs) -> int:
    return services.orders_ask_venue_again(venue_code=venue_code, order_ids=order_ids)


@receiver(trading_halt_changed, dispatch_uid="orders.cancel_on_halt")
def cancel_open_orders_on_halt(sender, *, halted: bool, cancel_open_orders: bool, actor: str,
                               venue_code: str | None = None, **kwargs) -> None:
    if not (halted and cancel_open_orders):
        return
    # After the halt commits: no new order or replace can leave any more, and the cancels,
    # each its own transaction, do not hold the halt row's lock.
    transaction.on_commit(lambda: _cancel_all(actor, venue_code))


def _cancel_all(actor: str, venue_code: str | None) -> None:
    done = services.orders_cancel_open(actor=actor, venue_code=venue_code,
                                       reason="kill switch: cancel every open order")
    logger.warning("kill switch%s: %s", f" of {venue_code}" if venue_code else "", done)


@receiver(post_save, sender=OrderEvent, dispatch_uid="orders.live.event_written")
def event_written(sender, instance: OrderEvent, created: bool, **kwargs) -> None:
    """Wake the live streams of the event's account once its transaction commits."""
    if created:
        known = OrderEvent.order.is_cached(instance)  # no query for it on a hot path
        events_written([instance.order.account_id] if known else None)
