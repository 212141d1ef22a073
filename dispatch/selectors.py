import statistics

from django.conf import settings
from django.db import connection
from django.db.models import Count

from dispatch import sql
from dispatch.models import RequestKind, RequestState, VenueRequest
from venues.models import Venue


def latency_stats(*, sample: int | None = None) -> list[dict]:
    """Round-trip latency per venue and kind, in microseconds, over the `sample`
    (OMS_LATENCY_STATS_SAMPLE) latest answers of each with a measured round trip: the
    latency as it is now, read in a bounded time however long the history."""
    sample = sample or settings.OMS_LATENCY_STATS_SAMPLE
    if connection.vendor == "postgresql":
        return [_row(*row) for row in sql.latency_percentiles(sample)]
    return _latency_stats_python(sample)


def _latency_stats_python(sample: int) -> list[dict]:
    # SQLite has no percentile aggregate; the demo database is small enough to do it here.
    rows = []
    for venue in Venue.objects.order_by("code").values_list("code", flat=True):
        for kind in sorted(RequestKind.values):
            latest = list(
                VenueRequest.objects.filter(venue_id=venue, kind=kind,
                                            responded_at__isnull=False,
                                            latency_micros__isnull=False)
                .order_by("-responded_at").values_list("latency_micros", "responded_at")
                [:sample])
            if not latest:
                continue
            values = [micros for micros, _ in latest]
            rows.append(_row(venue, kind, len(values), statistics.fmean(values),
                             *_percentiles(values), max(values), latest[-1][1], latest[0][1]))
    return rows


def _percentiles(values: list[int]) -> tuple[float, float, float]:
    if len(values) == 1:
        return (float(values[0]),) * 3
    # "inclusive" interpolates like PostgreSQL's percentile_cont.
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


def _row(venue, kind, count, mean, p50, p90, p99, maximum, first, last) -> dict:
    return {
        "venue": venue, "kind": kind, "count": count, "meanMicros": float(mean),
        "p50Micros": float(p50), "p90Micros": float(p90), "p99Micros": float(p99),
        "maxMicros": int(maximum), "firstAnsweredAt": first, "lastAnsweredAt": last,
    }


def queued_counts() -> dict[str, int]:
    """{venue: requests waiting in its queue}, for the venues that have any. One grouped
    count over the partial index of waiting rows (venuerequest_queue_head): it costs what
    the backlog holds, however long the history behind it."""
    waiting = (VenueRequest.objects.filter(state=RequestState.QUEUED).order_by()
               .values("venue_id").annotate(count=Count("id")))
    return {row["venue_id"]: row["count"] for row in waiting}


def recent_new_order_latency_micros(*, venue_code: str, sample: int = 200) -> float | None:
    """The median round trip of the venue's `sample` most recently answered new orders, in
    microseconds, or None when it has answered none. The index on (venue, kind,
    responded_at) is read backwards from the newest answer and stops after `sample` rows:
    the same cost with a hundred answers or ten million."""
    latencies = list(
        VenueRequest.objects.filter(venue_id=venue_code, kind=RequestKind.NEW,
                                    responded_at__isnull=False, latency_micros__isnull=False)
        .order_by("-responded_at").values_list("latency_micros", flat=True)[:sample])
    return statistics.median(latencies) if latencies else None
