"""Every row lock the orders app takes goes through here. Orders are locked before their
venue requests; several orders, in id order."""

from uuid import UUID

from orders.errors import InvalidTransition, OrderNotFound
from orders.models import Order


def lock_order(order_id: UUID) -> Order:
    """Lock one order for the rest of the transaction."""
    try:
        return Order.objects.select_for_update().get(pk=order_id)
    except (Order.DoesNotExist, ValueError) as exc:
        raise OrderNotFound(f"Order {order_id} does not exist.") from exc


def lock_order_in(order_id: UUID, statuses, *, refusal: str) -> Order:
    """Lock the order; refuse with InvalidTransition unless its status is one of `statuses`."""
    order = lock_order(order_id)
    if order.status not in statuses:
        raise InvalidTransition(
            f"Order is {order.status}; {refusal}", details={"status": order.status}
        )
    return order


def lock_orders(order_ids) -> list[Order]:
    return list(Order.objects.select_for_update().filter(pk__in=list(order_ids)).order_by("pk"))


def lock_orders_now(queryset) -> list[Order]:
    """Lock the orders without waiting (in id order); DatabaseError if one is held."""
    return list(queryset.select_for_update(nowait=True).order_by("pk"))
