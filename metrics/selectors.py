"""The reads behind /metrics, done at scrape time where the truth lives.

Web, worker and dispatcher processes run on many hosts, so counters kept in one process's
memory would each see a slice. PostgreSQL already holds every order and request, and Redis
holds the limiter's shared state, so a scrape asks them: a handful of GROUP BY queries, none
of which brings rows into Python. Each query is ORM conditional aggregation, which Django
renders as `count(...) FILTER (WHERE ...)` on PostgreSQL and on SQLite alike, so the
embedded single-machine set-up serves the same metrics.

None reads the history: what only grows (done orders, done requests, fills quarantined or
reconciled) is a small tally plus the rows not yet in it, read through partial indexes, in
one snapshot (metrics/sql.py). tests/test_query_plans.py pins each plan on a million rows.
"""

from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db.models import Count

from dispatch import tally
from dispatch.limiter import wait_metric_keys
from dispatch.models import RequestState, VenueRequest
from executions import fill_counter
from executions.models import Position
from executions.selectors import fill_counts
from metrics import intake
from orders.tally import order_counts
from sessions.selectors import trading_halt_get
from venues.models import Venue

LATENCY_BUCKETS_SECONDS = tally.LATENCY_BUCKETS_SECONDS


def venue_limits() -> dict[str, int]:
    """Every venue's send limit (messages a second), by code, in code order."""
    return dict(Venue.objects.order_by("code").values_list("code", "throttle_per_second"))


def orders_by_venue_and_status() -> dict[tuple[str, str], int]:
    # The tally of done orders plus the orders not in it (orders/tally.py): never the history.
    return dict(order_counts())


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
    """Sends and the latency histogram per venue and kind: the tally of done requests plus
    the requests not yet in it (dispatch/tally.py), so the history is never read and the
    counters never fall when retention removes old requests."""
    return [
        RequestStats(venue=venue, kind=kind, sent=counts.sent, answered=counts.answered,
                     latency_sum_micros=counts.latency_sum_micros,
                     buckets=tuple(counts.buckets))
        for (venue, kind), counts in sorted(tally.request_counts().items())
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
    fills: dict[str, int]  # trades stored per venue (executions/fill_counter.py)


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
        pipe.hgetall(fill_counter.KEY)
        replies = pipe.execute()
    values = replies[0] if keys else []
    waits = {
        venue: (int(values[2 * i] or 0), float(values[2 * i + 1] or 0))
        for i, venue in enumerate(venues)
    }
    return RedisCounters(limiter_waits=waits, intake=intake.intake_histogram(replies[-2]),
                         fills=fill_counter.fills_counted(replies[-1]))


def fills_quarantined_by_venue_and_reason() -> dict[tuple[str, str], int]:
    """Trades quarantined, ever (a fill's reason never changes; those retention removed are
    counted in executions' FillTally): a counter."""
    return {(venue, name.split(":", 1)[1]): n for (venue, name), n in fill_counts().items()
            if name.startswith("quarantined:")}


def fills_reconciled_by_venue() -> dict[str, int]:
    """Orders whose venue reported more filled than the trades it reported to us (one
    RECONCILED fill each, kept, busted when no longer needed): only grows."""
    return {venue: n for (venue, name), n in fill_counts().items() if name == "reconciled"}


def positions_for_metrics(*, limit: int) -> tuple[list[Position], int]:
    """Positions worth a series (open, or with realized P&L), most recently moved first, at
    most `limit` of them; and how many more there are."""
    worth = Position.objects.exclude(net_quantity=0, realized_pnl=0)
    rows = list(worth.order_by("-updated_at", "-id")[:limit])
    omitted = worth.count() - len(rows) if len(rows) == limit else 0
    return rows, omitted
