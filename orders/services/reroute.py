"""What an IOC (or MARKET) child leaves unfilled is routed again, to the next best venue,
while the parent's limit allows: in the transaction of the report that closed the child,
under the parent's lock, before the parent rolls up (so a new child keeps it open).

Only liquidity displayed within the limit is taken (sweep_only), on venues where no child of
this parent is done yet (each venue gets one chance, so it ends); a child cancelled by us (a
cancel of ours was pending: the parent's, an operator's, a kill switch's; or it never left
our queue) is not routed again. A remainder goes by BEST_PRICE whatever split the parent was
first routed by: it is the next best venue that is wanted. What cannot be placed is said on
the parent (ROUTE_FAILED) and the parent settles with what it has.
"""

import logging

from django.db import transaction

from omsproject.decimals import decimal_text
from omsproject.errors import DomainError
from orders.models import (
    TERMINAL_STATUSES,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from orders.services.children import ROUTER_ACTOR, child_terms, children_create, route_request
from routing import NoRoute, Policy, route

logger = logging.getLogger("orders")

S = OrderStatus
_ENDED_UNFILLED = frozenset({S.CANCELED, S.EXPIRED, S.REJECTED})
# A child that ends from one of these was not left unfilled by a venue's market: it never
# reached one (QUEUED), or a cancel of ours was pending, or it was closed already.
_NOT_FROM_THE_VENUE = TERMINAL_STATUSES | {S.QUEUED, S.PENDING_CANCEL}


def _takes_liquidity_only(child: Order) -> bool:
    return child.time_in_force == TimeInForce.IOC or child.order_type == OrderType.MARKET


def remainder_reroute(parent: Order, child: Order, *, from_status: str) -> list[Order]:
    """Route again what `child` (just closed) left, if it should be; the new children."""
    if (child.status not in _ENDED_UNFILLED or from_status in _NOT_FROM_THE_VENUE or not _takes_liquidity_only(child)
            or parent.status in TERMINAL_STATUSES or parent.status == S.PENDING_CANCEL):
        return []
    children = list(Order.objects.filter(parent_id=parent.pk))
    if any(c.status == S.PENDING_CANCEL for c in children):
        return []  # a cancel of ours is on its way: the parent is being taken down
    placed = sum((c.filled_quantity if c.status in TERMINAL_STATUSES else c.quantity
                  for c in children), start=0)
    remainder = parent.quantity - placed
    if remainder <= 0:
        return []
    # Every venue a child of this parent is done at: one left unfilled has shown what it
    # has; one filled in full may still show, in a quote not yet refreshed, what we took.
    tried = frozenset(c.venue_id for c in children if c.status in TERMINAL_STATUSES)
    request = route_request(account_code=parent.account_id, terms=child_terms(parent, remainder),
                            policy=Policy.BEST_PRICE, quantity=remainder, exclude=tried,
                            sweep_only=True)
    try:
        plan = route(request)
    except NoRoute as exc:
        return _failed(parent, remainder, exc.message, {**exc.details, "tried": sorted(tried)})
    if not plan.slices:
        return _failed(parent, remainder, "no venue left shows liquidity within the limit",
                       {"audit": plan.audit, "tried": sorted(tried)})
    try:
        with transaction.atomic():
            created = children_create(parent, plan, actor=ROUTER_ACTOR)
    except DomainError as exc:
        return _failed(parent, remainder, exc.message, {"code": exc.code, **exc.details})
    logger.info("order %s: %s unfilled by %s routed again to %s", parent.pk,
                decimal_text(remainder), child.venue_id,
                ", ".join(f"{c.venue_id} {decimal_text(c.quantity)}" for c in created))
    return created


def _failed(parent: Order, remainder, why: str, details: dict) -> list[Order]:
    OrderEvent.objects.create(order=parent, type=OrderEventType.ROUTE_FAILED,
                              from_status=parent.status, to_status=parent.status,
                              actor=ROUTER_ACTOR,
                              data={"remainder": decimal_text(remainder), "why": why,
                                    **details})
    return []
