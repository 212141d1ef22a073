import statistics

from django.db import connection

from dispatch import sql
from dispatch.models import VenueRequest


def latency_stats() -> list[dict]:
    """Round-trip latency of answered requests per venue and kind, in microseconds."""
    if connection.vendor == "postgresql":
        return [_row(*row) for row in sql.latency_percentiles()]
    return _latency_stats_python()


def _latency_stats_python() -> list[dict]:
    # SQLite has no percentile aggregate; the demo database is small enough to do it here.
    groups: dict[tuple[str, str], list[int]] = {}
    answered = VenueRequest.objects.filter(latency_micros__isnull=False)
    for venue, kind, micros in answered.values_list("venue_id", "kind", "latency_micros"):
        groups.setdefault((venue, kind), []).append(micros)
    return [
        _row(venue, kind, len(values), statistics.fmean(values), *_percentiles(values),
             max(values))
        for (venue, kind), values in sorted(groups.items())
    ]


def _percentiles(values: list[int]) -> tuple[float, float, float]:
    if len(values) == 1:
        return (float(values[0]),) * 3
    # "inclusive" interpolates like PostgreSQL's percentile_cont.
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


def _row(venue, kind, count, mean, p50, p90, p99, maximum) -> dict:
    return {
        "venue": venue, "kind": kind, "count": count, "meanMicros": float(mean),
        "p50Micros": float(p50), "p90Micros": float(p90), "p99Micros": float(p99),
        "maxMicros": int(maximum),
    }
