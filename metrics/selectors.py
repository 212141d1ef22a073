"""The reads behind /metrics, done at scrape time where the truth lives.

Web, worker and dispatcher processes run on many hosts, so counters kept in one process's
memory would each see a slice. PostgreSQL already holds every order and request, and Redis
holds the limiter's shared state, so a scrape asks them: a handful of GROUP BY queries, none
of which brings rows into Python. Each query is ORM conditional aggregation, which Django
renders as `count(...) FILTER (WHERE ...)` on PostgreSQL and on SQLite alike, so the
embedded single-machine set-up serves the same metrics.
"""

from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db.models import Count, Q, Sum

from dispatch.limiter import wait_metric_keys
from dispatch.models import RequestState, VenueRequest
from executions.models import Fill, FillKind, Position
from metrics import intake
from orders.models import Order
from sessions.selectors import trading_halt_get
from venues.models import Venue

# Upper bounds in seconds. The venue's answer is a few ms on the loopback mock exchange; the
# design targets an ACK under 50 ms and p99 under 250 ms end to end; a request still
# unanswered after OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS (5 s by default) gets the venue asked
# about it (dispatch/sweeper.py), and its answer, when it comes, is still measured.
LATENCY_BUCKETS_SECONDS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)


def _micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def venue_limits() -> dict[str, int]:
    """Every venue's send limit (messages a second), by code, in code order."""
    return dict(Venue.objects.order_by("code").values_list("code", "throttle_per_second"))


def orders_by_venue_and_status() -> dict[tuple[str, str], int]:
    # count(*) over (venue, status) only: the order_venue_status index answers it alone.
    rows = Order.objects.order_by().values_list("venue_id", "status").annotate(n=Count("*"))
    return {(venue, status): n for venue, status, n in rows}


def queue_depth_by_venue() -> dict[str, int]:
    # The same predicate as the venuerequest_queue_head partial index, which holds only
    # QUEUED rows: the cost follows the backlog, not the table's history.
    rows = (
        VenueRequest.objects.filter(state=RequestState.QUEUED)
        .order_by()
        .values_list("venue_id")
        .annotate(n=Count("*"))
    )
    return dict(rows)


@dataclass(frozen=True, kw_only=True)
class RequestStats:
    venue: str
    kind: str
    sent: int  # requests with sent_at set: sent at least once (a resend is not counted again)
    answered: int  # requests with a measured round trip
    latency_sum_micros: int
    # Cumulative, as Prometheus buckets are: answered requests at or under each bound of
    # LATENCY_BUCKETS_SECONDS.
    buckets: tuple[int, ...]


def request_stats() -> list[RequestStats]:
    """Sends and the latency histogram per venue and kind, in one pass over the requests.

    No index covers sent_at or latency_micros, so this is the scrape's one full scan;
    doing both in the same GROUP BY keeps it to one.
    """
    bucket_counts = {
        f"le_{index}": Count("id", filter=Q(latency_micros__lte=_micros(bound)))
        for index, bound in enumerate(LATENCY_BUCKETS_SECONDS)
    }
    rows = (
        VenueRequest.objects.order_by()
        .values("venue_id", "kind")
        .annotate(
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            answered=Count("latency_micros"),
            latency_sum=Sum("latency_micros"),
            **bucket_counts,
        )
    )
    return [
        RequestStats(
            venue=row["venue_id"],
            kind=row["kind"],
            sent=row["sent"],
            answered=row["answered"],
            latency_sum_micros=int(row["latency_sum"] or 0),
            buckets=tuple(row[name] for name in bucket_counts),
        )
        for row in rows
    ]


@dataclass(frozen=True, kw_only=True)
class VenueSessions:
    """A venue's trading session (what reconcile wants, what the holder recorded) and its
    FIX session's record; None where a venue has no such row yet."""

    venue: str
    desired: str | None
    state: str | None
    fix_state: str | None
    next_sender_seq: int | None
    next_target_seq: int | None
    owner: str
    lease_until: datetime | None


def venue_sessions() -> list[VenueSessions]:
    """Every venue's two sessions, in one query (LEFT JOINs of two one-row-per-venue
    tables)."""
    rows = Venue.objects.order_by("code").values_list(
        "code", "trading_session__desired", "trading_session__state", "fix_session__state",
        "fix_session__next_sender_seq", "fix_session__next_target_seq", "fix_session__owner",
        "fix_session__lease_until",
    )
    return [
        VenueSessions(venue=code, desired=desired, state=state, fix_state=fix_state,
                      next_sender_seq=sender, next_target_seq=target, owner=owner or "",
                      lease_until=lease_until)
        for code, desired, state, fix_state, sender, target, owner, lease_until in rows
    ]


def trading_halted() -> bool:
    return trading_halt_get().halted


@dataclass(frozen=True)
class RedisCounters:
    # (acquires that had to wait, seconds waited) per venue, as dispatch/limiter.py counts them
    limiter_waits: dict[str, tuple[int, float]]
    # per (endpoint, status): cumulative bucket counts and the sum (metrics/intake.py)
    intake: dict[tuple[str, str], tuple[list[int], float]]


def redis_counters(venues: list[str]) -> RedisCounters:
    """What is counted in Redis, in one round trip. Raises redis.RedisError when Redis
    cannot be read."""
    keys = [key for venue in venues for key in wait_metric_keys(venue)]
    # One connection per scrape (every 15 s or so), closed after; short timeouts so a slow
    # Redis cannot hold the scrape past Prometheus's own timeout.
    with redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
    ) as client:
        pipe = client.pipeline(transaction=False)
        if keys:
            pipe.mget(keys)
        pipe.hgetall(intake.KEY)
        replies = pipe.execute()
    values = replies[0] if keys else []
    waits = {
        venue: (int(values[2 * i] or 0), float(values[2 * i + 1] or 0))
        for i, venue in enumerate(venues)
    }
    return RedisCounters(limiter_waits=waits, intake=intake.intake_histogram(replies[-1]))


def fills_by_venue() -> dict[str, int]:
    """Trades stored from each venue, ever: booked, busted later or quarantined alike (fills
    are never deleted, so this only grows: a counter). A scan of the fill table, like
    request_stats' of the requests."""
    rows = Fill.objects.order_by().values_list("venue_id").annotate(n=Count("*"))
    return dict(rows)


def fills_quarantined_by_venue_and_reason() -> dict[tuple[str, str], int]:
    """Trades quarantined, ever (a fill's reason never changes, and fills are never
    deleted, so this only grows: a counter). Served by no index: quarantines are rare, and
    the partial scan is over fills with a reason."""
    rows = (Fill.objects.exclude(quarantine_reason="").order_by()
            .values_list("venue_id", "quarantine_reason").annotate(n=Count("*")))
    return {(venue, reason): n for venue, reason, n in rows}


def fills_reconciled_by_venue() -> dict[str, int]:
    """Orders whose venue reported more filled than the trades it reported to us (one
    RECONCILED fill each, kept, busted when no longer needed): only grows."""
    rows = (Fill.objects.filter(kind=FillKind.RECONCILED).order_by()
            .values_list("venue_id").annotate(n=Count("*")))
    return dict(rows)


def positions_for_metrics(*, limit: int) -> tuple[list[Position], int]:
    """Positions worth a series (open, or with realized P&L), most recently moved first, at
    most `limit` of them; and how many more there are."""
    worth = Position.objects.exclude(net_quantity=0, realized_pnl=0)
    rows = list(worth.order_by("-updated_at", "-id")[:limit])
    omitted = worth.count() - len(rows) if len(rows) == limit else 0
    return rows, omitted
