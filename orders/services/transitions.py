"""The one way an order's status changes: checked against ALLOWED_TRANSITIONS, saved with
only the fields that changed, and audited by an OrderEvent in the same transaction."""

import logging
from functools import partial

from django.db import transaction

from omsproject.decimals import decimal_text
from orders.errors import InvalidTransition
from orders.models import ALLOWED_TRANSITIONS, Order, OrderEvent, OrderEventType, OrderStatus
from orders.services.parents import child_changed
from orders.tally import order_untally

logger = logging.getLogger("orders")

TERMS = ("quantity", "limit_price", "stop_price")


def transition(
    order: Order, *, to_status: str, event: str, actor: str, data: dict | None = None,
    also_update: tuple[str, ...] = (), also_allowed: frozenset[str] = frozenset(),
) -> Order:
    """Move the (locked) order to `to_status`, saving `also_update` too. `also_allowed`:
    the moves a trade's bust or correction adds (models.AFTER_TRADE_AMENDED)."""
    if to_status not in ALLOWED_TRANSITIONS[order.status] | also_allowed:
        raise InvalidTransition(
            f"Order is {order.status}; it cannot become {to_status}.",
            details={"status": order.status},
        )
    from_status = order.status
    untallied = order_untally(order)  # a done order counted by /metrics, amended
    order.status = to_status
    order.save(update_fields=sorted({"status", "updated_at", *also_update, *untallied}))
    OrderEvent.objects.create(order=order, type=event, from_status=from_status,
                              to_status=to_status, actor=actor, data=data or {})
    # Once the change is committed: a rolled-back change was never the order's status.
    transaction.on_commit(partial(logger.info, "order %s %s -> %s (%s, %s)", order.pk,
                                  from_status, to_status, event, actor))
    if order.parent_id is not None:
        child_changed(order, from_status=from_status, event=event, actor=actor, data=data)
    return order


def record(order: Order, *, event: str, actor: str, data: dict | None = None,
           also_update: tuple[str, ...] = ()) -> Order:
    """An audit event that changes no status (saving `also_update` if given)."""
    if also_update:
        order.save(update_fields=sorted({"updated_at", *also_update}))
    OrderEvent.objects.create(order=order, type=event, from_status=order.status,
                              to_status=order.status, actor=actor, data=data or {})
    if order.parent_id is not None:
        child_changed(order, from_status=order.status, event=event, actor=actor, data=data)
    return order


def flag(order: Order, *, why: str, actor: str, data: dict | None = None) -> Order:
    """Something about the order needs an operator: say so on it, and in its history."""
    order.flag = why[:200]
    logger.warning("order %s flagged: %s", order.pk, why)
    return record(order, event=OrderEventType.FLAGGED, actor=actor,
                  data={"why": why, **(data or {})}, also_update=("flag",))


def live_status(order: Order) -> str:
    """The status a live order has when nothing is pending: by what has been filled."""
    return OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.NEW


def terms_data(order: Order, after: dict) -> dict:
    """before/after of the terms that change, as the audit trail shows them."""
    changed = [f for f in TERMS if f in after and after[f] != getattr(order, f)]
    return {"before": {f: decimal_text(getattr(order, f)) for f in changed},
            "after": {f: decimal_text(after[f]) for f in changed}}
