"""A routed order's modify and cancel, fanned out to its live children: a queued child
changes (or is cancelled) in place, a live one gets a REPLACE (or a CANCEL) to its venue.
The parent's status follows its children's (parents.py): PENDING_CANCEL / PENDING_REPLACE
until every child has answered, then what they say.

Locks are taken children first, then the parent (the order every other path takes them
in). A child the router adds between our listing and the parent's lock (an IOC remainder
routed again) is locked without waiting; if it is busy the whole change starts again.

A modify's new terms are the parent's at once. Prices go to every live child. More
quantity goes to the oldest live child; less comes off the newest ones first, a child that
would keep nothing of its open quantity being cancelled instead. Were a venue to refuse a
child's reduction and fill it, the parent's quantity follows what was traded, flagged.
"""

from decimal import Decimal
from uuid import UUID

from django.db import DatabaseError, transaction

from orders.errors import InvalidTransition
from orders.models import (
    CANCELLABLE_STATUSES,
    MODIFIABLE_STATUSES,
    TERMINAL_STATUSES,
    Order,
    OrderEventType,
    OrderStatus,
)
from orders.services import hooks
from orders.services.amend import UNSET, cancel_locked, modify_locked, terms_after
from orders.services.locking import lock_order, lock_orders, lock_orders_now
from orders.services.terms import OrderTerms
from orders.services.transitions import TERMS, record, terms_data

ATTEMPTS = 5


class _Busy(Exception):
    """A child appeared after the listing and another transaction holds it."""


def _locked_family(parent_id: UUID) -> tuple[Order, list[Order]]:
    """Lock the parent's open children, then the parent; (parent, open children)."""
    listed = list(Order.objects.filter(parent_id=parent_id)
                  .exclude(status__in=TERMINAL_STATUSES).values_list("pk", flat=True))
    children = lock_orders(listed)
    parent = lock_order(parent_id)
    late = (Order.objects.filter(parent_id=parent_id).exclude(status__in=TERMINAL_STATUSES)
            .exclude(pk__in=listed))
    try:
        children += lock_orders_now(late)
    except DatabaseError as exc:
        raise _Busy from exc
    return parent, [child for child in children if child.status not in TERMINAL_STATUSES]


def _with_family(parent_id: UUID, change):
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                parent, children = _locked_family(parent_id)
                return change(parent, children)
        except _Busy:
            if attempt == ATTEMPTS - 1:
                raise InvalidTransition("The order's children are changing; try again.",
                                        details={"orderId": str(parent_id)}) from None
    raise AssertionError("unreachable")


def parent_cancel(*, order_id: UUID, actor: str, data: dict | None) -> Order:
    def change(parent: Order, children: list[Order]) -> Order:
        if parent.status not in CANCELLABLE_STATUSES:
            raise InvalidTransition(f"Order is {parent.status}; it cannot be cancelled now.",
                                    details={"status": parent.status})
        record(parent, event=OrderEventType.CANCEL_REQUESTED, actor=actor,
               data={**(data or {}), "children": [str(c.pk) for c in children]})
        for child in children:
            if child.status in CANCELLABLE_STATUSES:
                cancel_locked(child, actor=actor, data=data)
        parent.refresh_from_db()
        return parent

    return _with_family(order_id, change)


def parent_modify(*, order_id: UUID, actor: str, quantity: Decimal | None = None,
                  limit_price=UNSET, stop_price=UNSET) -> Order:
    def change(parent: Order, children: list[Order]) -> Order:
        if parent.status not in MODIFIABLE_STATUSES:
            raise InvalidTransition(f"Order is {parent.status}; it cannot be modified now.",
                                    details={"status": parent.status})
        after = terms_after(parent, quantity=quantity, limit_price=limit_price,
                            stop_price=stop_price)
        if after is None:
            return parent
        hooks.run_amend_checks(order=parent, after=after)
        plan = _children_after(parent, children, after)
        new_terms = {field: getattr(after, field) for field in TERMS}
        data = terms_data(parent, new_terms)
        changed = tuple(f for f in TERMS if new_terms[f] != getattr(parent, f))
        for field in changed:
            setattr(parent, field, new_terms[field])
        record(parent, event=OrderEventType.REPLACE_REQUESTED, actor=actor,
               data={**data, "children": {str(c.pk): _text(q) for c, q in plan}},
               also_update=changed)
        for child, child_quantity in plan:
            if child_quantity is None:
                cancel_locked(child, actor=actor, data={"reason": "parent reduced"})
                continue
            child_after = OrderTerms(
                symbol=child.symbol, side=child.side, order_type=child.order_type,
                time_in_force=child.time_in_force, quantity=child_quantity,
                limit_price=after.limit_price, stop_price=after.stop_price)
            if any(getattr(child, f) != getattr(child_after, f) for f in TERMS):
                modify_locked(child, child_after, actor=actor)
        parent.refresh_from_db()
        return parent

    return _with_family(order_id, change)


def _children_after(parent: Order, children: list[Order],
                    after: OrderTerms) -> list[tuple[Order, Decimal | None]]:
    """Each open child's quantity once the parent's changes (None: cancel it)."""
    movable = [c for c in children if c.status in MODIFIABLE_STATUSES]
    if len(movable) != len(children):
        raise InvalidTransition("A child of this order is waiting for its venue; try again "
                                "once it has answered.", details={"status": parent.status})
    quantities = {child.pk: child.quantity for child in movable}
    delta = after.quantity - parent.quantity
    if delta > 0 and movable:
        quantities[movable[0].pk] += delta
    for child in sorted(movable, key=lambda c: c.pk, reverse=True):
        if delta >= 0:
            break
        room = child.quantity - child.filled_quantity
        if -delta >= room:
            quantities[child.pk] = None
            delta += room
        else:
            quantities[child.pk] = child.quantity + delta
            delta = Decimal(0)
    if delta != 0:
        raise InvalidTransition("The order's children cannot take this quantity now.",
                                details={"quantity": [str(after.quantity)]})
    return [(child, quantities[child.pk]) for child in movable]


def _text(quantity: Decimal | None) -> str:
    return "cancel" if quantity is None else format(quantity.normalize(), "f")
