from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum

from omsproject.decimals import QUANTITY_DIGITS
from omsproject.scoping import visible_to
from orders.errors import OrderNotFound
from orders.models import TERMINAL_STATUSES, Order

_QUANTITY = DecimalField(**QUANTITY_DIGITS)


def order_visible_to(*, user: AbstractBaseUser) -> QuerySet[Order]:
    """Operators see every order; a client only the orders of accounts granted to it. Each
    with `children_leaves`, a routed parent's open quantity (Order.leaves_quantity): one
    subquery a row on the order_children index, empty for any other order."""
    open_children = (Order.objects.filter(parent=OuterRef("pk"))
                     .exclude(status__in=TERMINAL_STATUSES).order_by()
                     .values("parent")
                     .annotate(leaves=Sum(F("quantity") - F("filled_quantity")))
                     .values("leaves"))
    orders = Order.objects.select_related("account", "venue").annotate(
        children_leaves=Subquery(open_children, output_field=_QUANTITY))
    return visible_to(orders, user=user)


def order_get_for_user(*, user: AbstractBaseUser, order_id: UUID) -> Order:
    """The order with its audit trail, or OrderNotFound: another account's order is not found."""
    order = (
        order_visible_to(user=user)
        .prefetch_related("events", "requests", "fills",
                          Prefetch("children", queryset=Order.objects.order_by("id")
                                   .prefetch_related("fills")))
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise OrderNotFound(f"Order {order_id} does not exist.")
    return order


def order_open_symbols(*, venue_code: str) -> list[str]:
    """The symbols of the venue's orders that are not done (queued ones included)."""
    return sorted(set(
        Order.objects.filter(venue_id=venue_code).exclude(status__in=TERMINAL_STATUSES)
        .values_list("symbol", flat=True)
    ))
