"""A parent order follows its children: after every change of a child, in the child's
transaction, the parent's cumQty, avgPx and status are rolled up from all its children, and
an event on the parent says which child did what.

Locks: a child is locked before its parent (the report, claim and cancel paths all take
them in that order), so two transactions never wait for each other in a circle; the
children are read after the parent's lock, so the last of two racing children to commit
rolls up both.

The parent's status, from its children's:
- every child done: FILLED when the children filled the parent's quantity; else by how the
  children that fell short ended: EXPIRED when they all expired (filled or not, as a
  directed order expires), REJECTED when all were rejected and nothing filled, CANCELED
  otherwise (whatever is filled stays filled);
- otherwise PENDING_CANCEL or PENDING_REPLACE while a child waits for one, then
  PARTIALLY_FILLED once anything is filled, NEW once a child is acknowledged (and from then
  on: a later child still on its way does not make the parent look unsent), PENDING_NEW
  while one is on its way, QUEUED before.
A parent never comes back from a terminal status (models.PARENT_TRANSITIONS): a late fill of
a cancelled child moves its figures, not its status. While the parent's IOC remainder is
routed again (reroute.py) a new child keeps it open.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from executions import pnl
from executions.services import parent_fill_totals
from omsproject.decimals import decimal_text
from orders.models import (
    PARENT_TRANSITIONS,
    TERMINAL_STATUSES,
    Order,
    OrderEvent,
    OrderStatus,
)
from orders.services.locking import lock_order, lock_orders
from orders.services.reroute import remainder_reroute

logger = logging.getLogger("orders")

S = OrderStatus
_ACKNOWLEDGED = frozenset({S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE})
_ON_ITS_WAY = frozenset({S.QUEUED, S.PENDING_NEW})


def rolled_up_status(parent: Order, children: Iterable[Order], cum: Decimal) -> str:
    children = list(children)
    if not children:
        return parent.status
    live = {child.status for child in children if child.status not in TERMINAL_STATUSES}
    if not live:
        if cum >= parent.quantity:
            return S.FILLED
        # How the children that did not fill in full ended says how the parent did.
        short = {child.status for child in children if child.status != S.FILLED}
        if not cum and short == {S.REJECTED}:
            return S.REJECTED
        if short == {S.EXPIRED} or (not cum and short <= {S.EXPIRED, S.REJECTED}):
            return S.EXPIRED  # time in force ran out, as a directed order's does
        return S.CANCELED
    if S.PENDING_CANCEL in live:
        return S.PENDING_CANCEL
    if S.PENDING_REPLACE in live:
        return S.PENDING_REPLACE
    if cum:
        return S.PARTIALLY_FILLED
    if live & _ACKNOWLEDGED or parent.status not in _ON_ITS_WAY:
        return S.NEW
    return S.PENDING_NEW if S.PENDING_NEW in live else S.QUEUED


def parent_roll_up(parent: Order, *, event: str, actor: str, data: dict | None = None,
                   child: Order | None = None) -> Order:
    """Roll the (locked) parent up from its children and audit it with `event`, naming the
    child that moved (if one did)."""
    children = list(Order.objects.filter(parent_id=parent.pk).order_by("pk"))
    cum, notional = parent_fill_totals(parent_id=parent.pk)
    average = pnl.average_price(cum, notional)
    changed = []
    if cum > parent.quantity:
        # Only a child's replace the venue refused after the parent was reduced can do
        # this (changes.py): the parent's quantity follows what was traded, for an operator.
        parent.quantity = cum
        parent.flag = f"children filled {decimal_text(cum)}, more than the parent's quantity"
        changed += ["quantity", "flag"]
    if cum != parent.filled_quantity:
        parent.filled_quantity = cum
        changed.append("filled_quantity")
    if average != parent.average_price:
        parent.average_price = average
        changed.append("average_price")
    target = rolled_up_status(parent, children, cum)
    from_status = parent.status
    if target != parent.status and target in PARENT_TRANSITIONS[parent.status]:
        parent.status = target
        changed.append("status")
    if changed:
        parent.save(update_fields=sorted({"updated_at", *changed}))
    event_data = dict(data or {})
    if child is not None:
        event_data["child"] = _child_data(child)
    if changed:
        event_data["cumQty"] = decimal_text(cum)
    OrderEvent.objects.create(order=parent, type=event, from_status=from_status,
                              to_status=parent.status, actor=actor, data=event_data)
    if parent.status != from_status:
        transaction.on_commit(partial(logger.info, "order %s %s -> %s (%s, %s: a child)",
                                      parent.pk, from_status, parent.status, event, actor))
    return parent


def child_changed(child: Order, *, from_status: str, event: str, actor: str,
                  data: dict | None) -> None:
    """A child moved (status, figures, terms, a flag): its parent follows, after routing
    again what an IOC child left unfilled."""
    parent = lock_order(child.parent_id)
    remainder_reroute(parent, child, from_status=from_status)
    parent_roll_up(parent, event=event, actor=actor, data=data, child=child)


def parents_follow_claims(*, child_ids: list, actor: str, event: str) -> None:
    """Children claimed in bulk (their NEWs possibly on the wire): their parents follow,
    locked in id order, after the children the claim holds.

    In a fixed number of queries however many parents: the claim holds its venue's queue
    while it runs, so every query here a parent slowed the venue's sends (a routed burst
    drained at half the rate of the same burst of directed orders). A claim moves no fills,
    so a parent's figures stay as they are (its roll-ups keep them, under its lock) and only
    its status rolls up."""
    by_parent: dict = {}
    for child in Order.objects.filter(pk__in=child_ids, parent__isnull=False).order_by("pk"):
        by_parent.setdefault(child.parent_id, child)
    if not by_parent:
        return
    parents = lock_orders(by_parent)
    siblings: dict = defaultdict(list)
    for child in Order.objects.filter(parent_id__in=list(by_parent)).order_by("pk"):
        siblings[child.parent_id].append(child)
    moved: dict[str, list] = defaultdict(list)
    events = []
    for parent in parents:
        from_status = parent.status
        target = rolled_up_status(parent, siblings[parent.pk], parent.filled_quantity)
        if target != from_status and target in PARENT_TRANSITIONS[from_status]:
            parent.status = target
            moved[target].append(parent.pk)
            transaction.on_commit(partial(logger.info, "order %s %s -> %s (%s, %s: a child)",
                                          parent.pk, from_status, target, event, actor))
        events.append(OrderEvent(order=parent, type=event, from_status=from_status,
                                 to_status=parent.status, actor=actor,
                                 data={"child": _child_data(by_parent[parent.pk])}))
    now = timezone.now()
    for target, parent_ids in moved.items():
        Order.objects.filter(pk__in=parent_ids).update(status=target, updated_at=now)
    OrderEvent.objects.bulk_create(events)  # its caller wakes the live streams


def _child_data(child: Order) -> dict:
    return {"orderId": str(child.pk), "venue": child.venue_id, "clOrdId": child.venue_cl_ord_id,
            "status": child.status}
