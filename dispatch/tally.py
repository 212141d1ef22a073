"""/metrics' request counters, kept so that a scrape never reads the history.

A request is counted row by row while it is open or freshly done; beat's tally (every few
seconds) folds done ones (ANSWERED, WITHDRAWN: neither changes again) into RequestTally and
marks them `tallied`, in one transaction. A scrape reads the tally rows and the requests not
yet tallied (a partial index), in one snapshot (metrics/sql.py): each request is counted
exactly once, however long the history, and retention may drop tallied requests without a
counter going down.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q, Sum

from dispatch.models import RequestState, RequestTally, VenueRequest
from omsproject.batches import in_batches

# Upper bounds in seconds. The venue's answer is a few ms on the loopback mock exchange; the
# design targets an ACK under 50 ms and p99 under 250 ms end to end; a request still
# unanswered after OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS (5 s by default) gets the venue asked
# about it (dispatch/sweeper.py), and its answer, when it comes, is still measured.
LATENCY_BUCKETS_SECONDS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)
BUCKETS_MICROS = tuple(round(bound * 1_000_000) for bound in LATENCY_BUCKETS_SECONDS)
DONE = (RequestState.ANSWERED, RequestState.WITHDRAWN)
BATCH = 2000


@dataclass
class RequestCounts:
    sent: int = 0
    answered: int = 0
    latency_sum_micros: int = 0
    # Cumulative, one per bound of BUCKETS_MICROS.
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS_MICROS))

    def add(self, other: "RequestCounts") -> None:
        self.sent += other.sent
        self.answered += other.answered
        self.latency_sum_micros += other.latency_sum_micros
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets)]


def _of_tally(tally: RequestTally) -> RequestCounts:
    return RequestCounts(sent=tally.sent, answered=tally.answered,
                         latency_sum_micros=tally.latency_sum_micros,
                         buckets=[int(tally.buckets.get(str(bound), 0))
                                  for bound in BUCKETS_MICROS])


def request_counts() -> dict[tuple[str, str], RequestCounts]:
    """{(venue, kind): counts} of every request ever: the tally plus the requests not yet in
    it. Read it in one snapshot (metrics/sql.py), or a tally committing between the two
    reads would count its requests twice or not at all."""
    counts: dict[tuple[str, str], RequestCounts] = defaultdict(RequestCounts)
    for tally in RequestTally.objects.all():
        counts[(tally.venue_id, tally.kind)].add(_of_tally(tally))
    buckets = {f"le_{index}": Count("id", filter=Q(latency_micros__lte=bound))
               for index, bound in enumerate(BUCKETS_MICROS)}
    rows = (VenueRequest.objects.filter(tallied=False).order_by().values("venue_id", "kind")
            .annotate(sent=Count("id", filter=Q(sent_at__isnull=False)),
                      answered=Count("latency_micros"), latency_sum=Sum("latency_micros"),
                      **buckets))
    for row in rows:
        counts[(row["venue_id"], row["kind"])].add(RequestCounts(
            sent=row["sent"], answered=row["answered"],
            latency_sum_micros=int(row["latency_sum"] or 0),
            buckets=[row[name] for name in buckets]))
    return dict(counts)


def requests_tally(*, batch: int = BATCH, max_batches: int = 25) -> int:
    """Fold done requests into the tally, `batch` at a time, each batch its own short
    transaction; at most `max_batches` per run (the next run goes on). Returns how many."""
    return in_batches(_tally_batch, batch=batch, max_batches=max_batches)


def _tally_batch(size: int) -> int:
    with transaction.atomic():
        # SKIP LOCKED: a request locked by whoever answers it is not done yet, or is about to
        # be: the next run takes it.
        rows = list(VenueRequest.objects.select_for_update(skip_locked=True)
                    .filter(tallied=False, state__in=DONE).order_by()
                    .values_list("pk", "venue_id", "kind", "sent_at", "latency_micros")[:size])
        if not rows:
            return 0
        counts: dict[tuple[str, str], RequestCounts] = defaultdict(RequestCounts)
        for _, venue, kind, sent_at, micros in rows:
            counts[(venue, kind)].add(RequestCounts(
                sent=int(sent_at is not None), answered=int(micros is not None),
                latency_sum_micros=micros or 0,
                buckets=[int(micros is not None and micros <= bound)
                         for bound in BUCKETS_MICROS]))
        VenueRequest.objects.filter(pk__in=[row[0] for row in rows]).update(tallied=True)
        _add(counts)
    return len(rows)


def _add(counts: dict[tuple[str, str], RequestCounts]) -> None:
    RequestTally.objects.bulk_create(
        [RequestTally(venue_id=venue, kind=kind) for venue, kind in counts],
        ignore_conflicts=True)
    venues = {venue for venue, _ in counts}
    for tally in RequestTally.objects.select_for_update().filter(venue_id__in=venues) \
            .order_by("pk"):
        more = counts.get((tally.venue_id, tally.kind))
        if more is None:
            continue
        total = _of_tally(tally)
        total.add(more)
        tally.sent, tally.answered = total.sent, total.answered
        tally.latency_sum_micros = total.latency_sum_micros
        tally.buckets = {str(bound): n for bound, n in zip(BUCKETS_MICROS, total.buckets)}
        tally.save(update_fields=["sent", "answered", "latency_sum_micros", "buckets"])
