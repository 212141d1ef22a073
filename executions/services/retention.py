"""What retention removes of the executions app: the fills and execution reports of done
orders it removes (their positions folded first: carry.py), and reports that matched no
order, once older than the retention. Each in the caller's batch transaction."""

from datetime import datetime

from django.db import transaction
from django.db.models import Count, F

from executions.models import ExecutionReport, Fill, FillKind, FillTally
from executions.services.carry import fills_fold_for_orders
from omsproject.archive import Archive


def executions_since(*, order_ids: list, since: datetime) -> set:
    """Those of these orders with a report received or a fill written since `since`."""
    return (set(ExecutionReport.objects.filter(order_id__in=order_ids, received_at__gte=since)
                .values_list("order_id", flat=True))
            | set(Fill.objects.filter(order_id__in=order_ids, created_at__gte=since)
                  .values_list("order_id", flat=True)))


def executions_remove(*, order_ids: list, archive: Archive) -> dict[str, int]:
    """Remove the fills and reports of these orders (locked, done, being removed), their
    positions' figures carried forward first so that no position changes."""
    fills_fold_for_orders(order_ids=order_ids)
    fills = Fill.objects.filter(order_id__in=order_ids)
    _retire(fills)
    archive.keep(fills)
    # Fills first: they PROTECT the reports that made and amended them.
    removed_fills, _ = fills.delete()
    reports = ExecutionReport.objects.filter(order_id__in=order_ids)
    archive.keep(reports)
    removed_reports = reports.delete()[1].get(ExecutionReport._meta.label, 0)
    return {"fills": removed_fills, "execution_reports": removed_reports}


def _retire(fills) -> None:
    """Fills about to be removed: the quarantined and reconciled ones are counted in
    FillTally first, so /metrics' counters of them do not fall."""
    counts = {}
    quarantined = (fills.exclude(quarantine_reason="").order_by()
                   .values_list("venue_id", "quarantine_reason").annotate(n=Count("*")))
    for venue, reason, n in quarantined:
        counts[(venue, f"quarantined:{reason}")] = n
    reconciled = (fills.filter(kind=FillKind.RECONCILED).order_by()
                  .values_list("venue_id").annotate(n=Count("*")))
    for venue, n in reconciled:
        counts[(venue, "reconciled")] = n
    if not counts:
        return
    FillTally.objects.bulk_create([FillTally(venue_id=venue, name=name)
                                   for venue, name in sorted(counts)], ignore_conflicts=True)
    for (venue, name), n in sorted(counts.items()):
        FillTally.objects.filter(venue_id=venue, name=name).update(count=F("count") + n)


def unmatched_reports_prune(*, before: datetime, batch: int, archive: Archive) -> int:
    """One batch (its own transaction) of reports that matched no order of ours, received
    before `before`: flagged for an operator when they came, history now. Selected through
    the partial index executionreport_unmatched."""
    with transaction.atomic():
        pks = list(ExecutionReport.objects.select_for_update(skip_locked=True)
                   .filter(order__isnull=True, received_at__lt=before)
                   .order_by("received_at").values_list("pk", flat=True)[:batch])
        if not pks:
            return 0
        # A fill always has its order's report; none of these is one. Kept out all the same.
        rows = ExecutionReport.objects.filter(pk__in=pks, fills__isnull=True,
                                              amended_fills__isnull=True)
        archive.keep(rows)
        return rows.delete()[1].get(ExecutionReport._meta.label, 0)
