"""Retention: history older than OMS_RETENTION_DAYS is removed, in batches, each batch its
own short transaction, a bounded number of batches a run (beat's `orders.retention`, and
`manage.py oms_retention`). Rows are dropped, after being written out when
OMS_RETENTION_ARCHIVE_DIR is set (omsproject/archive.py). README: "Growth and retention".

The unit is an order's family: a directed order, or a routed parent with all its children.
It goes, with its audit events, venue requests, execution reports and fills, when every
order of it is done (a terminal status), was created and last changed before the cut-off,
is counted in /metrics' tally as it stands (orders/tally.py), and has no request in flight
or not yet counted (dispatch/retention.py). A routed parent therefore waits for the last of
its children. Before fills go, their positions carry their figures forward
(executions/services/carry.py), so no position changes and a later rebuild never replays a
partial history.

Families are found oldest first on the primary key (UUIDv7: creation order), below the
cut-off's UUIDv7; rows locked elsewhere are skipped (SKIP LOCKED) and taken by a later run.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispatch.retention import orders_with_requests_in_use, requests_remove, unmatched_prune
from executions.services.retention import (
    executions_remove,
    executions_since,
    unmatched_reports_prune,
)
from omsproject.archive import Archive
from orders.models import TERMINAL_STATUSES, Order, OrderEvent
from orders.services.hooks import run_history_removed
from orders.tally import order_tally_add
from sessions.services.retention import session_history_prune


@dataclass(frozen=True)
class Retention:
    cutoff: datetime
    batch: int
    max_batches: int
    archive: Archive


def uuid7_floor(at: datetime) -> UUID:
    """The smallest UUIDv7 of the millisecond `at`: every order created before it has a
    smaller id (RFC 9562: the first 48 bits are the Unix time in ms)."""
    millis = int(at.timestamp() * 1000)
    return UUID(int=(millis << 80) | (0x7 << 76) | (0b10 << 62))


def history_prune(*, now: datetime | None = None, days: int | None = None,
                  batch: int | None = None, max_batches: int | None = None,
                  archive_dir: str | None = None) -> Counter:
    """One run: at most `max_batches` batches of `batch` order families, then as many of
    each other kind of history. Returns what it removed, by kind. Settings fill in what is
    not given; no retention (0 or empty days) removes nothing."""
    days = settings.OMS_RETENTION_DAYS if days is None else days
    if not days:
        return Counter()
    now = now or timezone.now()
    plan = Retention(
        cutoff=now - timedelta(days=days),
        batch=batch or settings.OMS_RETENTION_BATCH,
        max_batches=max_batches or settings.OMS_RETENTION_MAX_BATCHES,
        archive=Archive(settings.OMS_RETENTION_ARCHIVE_DIR if archive_dir is None
                        else archive_dir, day=now.date()),
    )
    removed: Counter = Counter()
    after = None
    for _ in range(plan.max_batches):
        done, after = families_prune_batch(plan, after=after)
        removed.update(done)
        if after is None:
            break
    removed.update(_each_batch(plan, lambda: {"execution_reports": unmatched_reports_prune(
        before=plan.cutoff, batch=plan.batch, archive=plan.archive)}))
    removed.update(_each_batch(plan, lambda: {"unmatched_responses": unmatched_prune(
        before=plan.cutoff, batch=plan.batch, archive=plan.archive)}))
    removed.update(_each_batch(plan, lambda: session_history_prune(
        before=plan.cutoff, batch=plan.batch, archive=plan.archive)))
    return Counter({kind: n for kind, n in removed.items() if n})


def _each_batch(plan: Retention, prune) -> Counter:
    removed: Counter = Counter()
    for _ in range(plan.max_batches):
        done = prune()
        removed.update(done)
        if sum(done.values()) < plan.batch:
            break
    return removed


def families_prune_batch(plan: Retention, *, after: UUID | None) -> tuple[Counter, UUID | None]:
    """One transaction: up to `batch` families whose head's id is above `after`. Returns
    what went and where the next batch starts (None: nothing older is left to look at)."""
    with transaction.atomic():
        heads = _heads(plan, after)
        if not heads:
            return Counter(), None
        orders = _removable(plan, heads)
        removed = _remove(orders, plan.archive) if orders else Counter()
    return removed, heads[-1]


def _heads(plan: Retention, after: UUID | None) -> list[UUID]:
    """Done families' heads (directed orders and parents) created and changed before the
    cut-off, oldest first, locked; read on the primary key from its start (or `after`) up
    to the cut-off's UUIDv7, so only what is older than the retention is ever read."""
    heads = Order.objects.filter(parent__isnull=True, pk__lt=uuid7_floor(plan.cutoff),
                                 status__in=TERMINAL_STATUSES, updated_at__lt=plan.cutoff)
    if after is not None:
        heads = heads.filter(pk__gt=after)
    return list(heads.select_for_update(skip_locked=True).order_by("pk")
                .values_list("pk", flat=True)[:plan.batch])


def _removable(plan: Retention, heads: list[UUID]) -> list[tuple]:
    """(pk, parent, venue, status) of every order of the heads' families that may go now:
    families with a child open, changed lately, locked elsewhere, not yet tallied, or with
    a request in use wait, whole."""
    rows = list(Order.objects.filter(pk__in=heads) | Order.objects.filter(parent_id__in=heads))
    locked = set(Order.objects.filter(pk__in=[o.pk for o in rows if o.parent_id])
                 .select_for_update(skip_locked=True).values_list("pk", flat=True))
    family = {order.pk: order.parent_id or order.pk for order in rows}
    waiting = {family[o.pk] for o in rows if not _may_go(plan, o, locked)}
    waiting |= {family[pk] for pk in orders_with_requests_in_use(order_ids=list(family))}
    waiting |= {family[pk] for pk in _touched_lately(list(family), plan.cutoff)}
    return [(o.pk, o.parent_id, o.venue_id, o.status) for o in rows
            if family[o.pk] not in waiting]


def _may_go(plan: Retention, order: Order, locked: set) -> bool:
    if order.parent_id is not None and order.pk not in locked:
        return False  # a change of it is under way
    return (order.status in TERMINAL_STATUSES and order.updated_at < plan.cutoff
            and order.created_at < plan.cutoff
            # /metrics counts it in the tally as it stands: taking it out keeps oms_orders.
            and (order.venue_id is None or order.tallied_status == order.status))


def _touched_lately(order_ids: list[UUID], cutoff: datetime) -> set[UUID]:
    """Orders with an audit event, an execution report or a fill since the cut-off: some
    (a venue's restatement, a late trade quarantined) do not change the order's row."""
    return (set(OrderEvent.objects.filter(order_id__in=order_ids, created_at__gte=cutoff)
                .values_list("order_id", flat=True))
            | executions_since(order_ids=order_ids, since=cutoff))


def _remove(orders: list[tuple], archive: Archive) -> Counter:
    ids = [pk for pk, *_ in orders]
    removed = Counter(executions_remove(order_ids=ids, archive=archive))
    events = OrderEvent.objects.filter(order_id__in=ids)
    archive.keep(events)
    removed["order_events"] = events.delete()[0]
    removed["venue_requests"] = requests_remove(order_ids=ids, archive=archive)
    run_history_removed(order_ids=ids)
    order_tally_add(Counter({key: -n for key, n in Counter(
        (venue, status) for _, _, venue, status in orders if venue is not None).items()}))
    children = [pk for pk, parent, *_ in orders if parent is not None]
    archive.keep(Order.objects.filter(pk__in=ids))
    # Children first: a parent PROTECTs its children.
    removed["orders"] = _delete_orders(children) + _delete_orders(
        [pk for pk, parent, *_ in orders if parent is None])
    return removed


def _delete_orders(ids: list[UUID]) -> int:
    if not ids:
        return 0
    return Order.objects.filter(pk__in=ids).delete()[1].get(Order._meta.label, 0)
