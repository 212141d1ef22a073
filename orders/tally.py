"""oms_orders (orders by venue and status) without reading the history.

Done orders are folded into OrderTally by beat's tally, every few seconds: each is counted
there under its status (`tallied_status`), in the transaction that sets it. A scrape reads
the tally rows and the orders not in it (the partial index order_untallied: the open ones
and the few done since the last tally), in one snapshot (metrics/sql.py). A counted order
whose status changes after all (a fill of a FILLED order busted) leaves the tally in the
transaction that changes it (services/transitions.py), to be counted again when the tally
next runs. Parents (no venue) are not on /metrics and are not tallied.
"""

from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Count, F

from omsproject.batches import in_batches
from orders.models import TERMINAL_STATUSES, Order, OrderTally

BATCH = 2000


def _not_in_tally():
    # The predicate of the order_untallied index, word for word, so the planner uses it.
    return Order.objects.filter(tallied_status="", venue__isnull=False)


def order_counts() -> Counter:
    """Counter({(venue, status): orders}) of the venues' orders as they stand now."""
    counts: Counter = Counter()
    for venue, status, count in OrderTally.objects.values_list("venue_id", "status", "count"):
        counts[(venue, status)] += count
    rows = (_not_in_tally().order_by().values_list("venue_id", "status")
            .annotate(n=Count("*")))
    for venue, status, n in rows:
        counts[(venue, status)] += n
    return counts


def orders_tally(*, batch: int = BATCH, max_batches: int = 25) -> int:
    """Fold done orders into the tally, `batch` at a time, each batch its own transaction;
    at most `max_batches` per run. Returns how many."""
    return in_batches(_tally_batch, batch=batch, max_batches=max_batches)


def _tally_batch(size: int) -> int:
    with transaction.atomic():
        # SKIP LOCKED: an order locked by a change in progress is taken by the next run.
        rows = list(_not_in_tally().select_for_update(skip_locked=True)
                    .filter(status__in=TERMINAL_STATUSES).order_by()
                    .values_list("pk", "venue_id", "status")[:size])
        by_status: dict[str, list] = defaultdict(list)
        for pk, _, status in rows:
            by_status[status].append(pk)
        for status, pks in by_status.items():
            # .update(): updated_at stays what the order's last change made it (retention
            # reads it).
            Order.objects.filter(pk__in=pks).update(tallied_status=status)
        order_tally_add(Counter((venue, status) for _, venue, status in rows))
    return len(rows)


def order_tally_add(delta: Counter) -> None:
    """Add (or, negative, take away) counts, in the caller's transaction."""
    delta = Counter({key: n for key, n in delta.items() if n})
    OrderTally.objects.bulk_create(
        [OrderTally(venue_id=venue, status=status) for venue, status in sorted(delta)],
        ignore_conflicts=True)
    for (venue, status), n in sorted(delta.items()):
        OrderTally.objects.filter(venue_id=venue, status=status).update(count=F("count") + n)


def order_untally(order: Order) -> tuple[str, ...]:
    """The (locked) order's status is about to change: if the tally counts it, it leaves
    the tally (in the change's transaction). Returns the field to save with the change."""
    if not order.tallied_status:
        return ()
    order_tally_add(Counter({(order.venue_id, order.tallied_status): -1}))
    order.tallied_status = ""
    return ("tallied_status",)
