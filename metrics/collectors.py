"""Prometheus metric families for the OMS, built from metrics/selectors.py at each scrape."""

import logging
from collections.abc import Iterator

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from django.conf import settings

from dispatch.models import RequestKind
from executions.market_prices import latest_marks
from executions.models import QuarantineReason
from executions.pnl import unrealized
from metrics import intake, selectors
from metrics.sql import one_snapshot
from orders.models import OrderStatus
from sessions.models import SessionState
from venues.models import FixSessionState

logger = logging.getLogger(__name__)


class OmsCollector(Collector):
    """Reads the system's state when Prometheus asks, so every web process serves the same
    numbers and none keeps counters of its own.

    Every venue gets a series for every status, kind and state, zeros included: a series
    that appears only once it is non-zero makes rate() and alerts miss its first change.
    """

    def describe(self) -> list[Metric]:
        # Without this the registry would call collect(), and query the database, at import.
        return []

    def collect(self) -> Iterator[Metric]:
        # Every family from one snapshot of the database (metrics/sql.py): a counter is a
        # tally plus the rows not yet in it, read by two queries.
        with one_snapshot():
            limits = selectors.venue_limits()
            venues = list(limits)
            families = [
                self._orders(venues),
                self._queue_depth(venues),
                self._send_limits(limits),
                *self._requests(venues),
                *self._sessions(venues),
                *self._redis(venues),
                self._quarantined(venues),
                self._reconciled(venues),
                *self._positions(),
            ]
        yield from families

    def _orders(self, venues: list[str]) -> Metric:
        counts = selectors.orders_by_venue_and_status()
        family = GaugeMetricFamily(
            "oms_orders", "Orders by venue and status.", labels=["venue", "status"]
        )
        for venue in venues:
            for status in OrderStatus.values:
                family.add_metric([venue, status], counts.get((venue, status), 0))
        return family

    def _queue_depth(self, venues: list[str]) -> Metric:
        depth = selectors.queue_depth_by_venue()
        family = GaugeMetricFamily(
            "oms_venue_queue_depth",
            "Requests (NEW, MODIFY, CANCEL, STATUS) waiting in the venue's queue, not yet "
            "claimed.",
            labels=["venue"],
        )
        for venue in venues:
            family.add_metric([venue], depth.get(venue, 0))
        return family

    def _send_limits(self, limits: dict[str, int]) -> Metric:
        family = GaugeMetricFamily(
            "oms_venue_send_limit",
            "The venue's send limit: at most this many messages in any sliding second.",
            labels=["venue"],
        )
        for venue, limit in limits.items():
            family.add_metric([venue], limit)
        return family

    def _requests(self, venues: list[str]) -> Iterator[Metric]:
        stats = {(row.venue, row.kind): row for row in selectors.request_stats()}
        sent = CounterMetricFamily(
            "oms_venue_requests_sent",
            "Requests sent to the venue, by venue and kind (a resend of the same request "
            "counts once).",
            labels=["venue", "kind"],
        )
        latency = HistogramMetricFamily(
            "oms_venue_request_latency_seconds",
            "Round trip from writing a request to reading the venue's answer.",
            labels=["venue", "kind"],
        )
        bounds = [floatToGoString(bound) for bound in selectors.LATENCY_BUCKETS_SECONDS]
        for venue in venues:
            for kind in RequestKind.values:
                row = stats.get((venue, kind))
                sent.add_metric([venue, kind], row.sent if row else 0)
                counts = row.buckets if row else (0,) * len(bounds)
                latency.add_metric(
                    [venue, kind],
                    buckets=[*zip(bounds, counts), ("+Inf", row.answered if row else 0)],
                    sum_value=(row.latency_sum_micros if row else 0) / 1_000_000,
                )
        yield sent
        yield latency

    def _sessions(self, venues: list[str]) -> Iterator[Metric]:
        rows = {row.venue: row for row in selectors.venue_sessions()}
        state = GaugeMetricFamily(
            "oms_venue_session_state",
            "1 for the venue session's current state (as its FIX holder recorded it), 0 for "
            "the others.",
            labels=["venue", "state"],
        )
        desired = GaugeMetricFamily(
            "oms_venue_session_desired",
            "1 while the venue's session should be logged on (schedule or override), else 0.",
            labels=["venue"],
        )
        fix_state = GaugeMetricFamily(
            "oms_fix_session_state",
            "1 for the venue's FIX session's current state, 0 for the others.",
            labels=["venue", "state"],
        )
        sender = GaugeMetricFamily(
            "oms_fix_next_sender_seq_num",
            "The next MsgSeqNum the OMS sends to the venue, as last made durable.",
            labels=["venue"],
        )
        target = GaugeMetricFamily(
            "oms_fix_next_target_seq_num",
            "The next MsgSeqNum the OMS expects from the venue, as last made durable.",
            labels=["venue"],
        )
        for venue in venues:
            row = rows.get(venue)
            if row is None:
                continue
            if row.state is not None:  # a venue whose session is not set up yet has none
                for value in SessionState.values:
                    state.add_metric([venue, value], 1 if row.state == value else 0)
                desired.add_metric([venue], 1 if row.desired == SessionState.LOGGED_ON else 0)
            if row.fix_state is not None:
                for value in FixSessionState.values:
                    fix_state.add_metric([venue, value], 1 if row.fix_state == value else 0)
                sender.add_metric([venue], row.next_sender_seq)
                target.add_metric([venue], row.next_target_seq)
        yield from (state, desired, fix_state, sender, target)
        yield GaugeMetricFamily(
            "oms_trading_halted",
            "1 while the kill switch stops new orders and replaces, else 0.",
            value=1 if selectors.trading_halted() else 0,
        )

    def _redis(self, venues: list[str]) -> Iterator[Metric]:
        try:
            counted = selectors.redis_counters(venues)
        except redis.RedisError as exc:
            # The database's metrics are still worth serving; this says what is missing.
            logger.warning("/metrics could not read the counters kept in Redis: %s", exc)
            yield GaugeMetricFamily(
                "oms_metrics_redis_up", "1 if /metrics could read Redis, else 0.", value=0
            )
            return
        yield GaugeMetricFamily(
            "oms_metrics_redis_up", "1 if /metrics could read Redis, else 0.", value=1
        )
        count = CounterMetricFamily(
            "oms_limiter_waits",
            "Rate-limit slot requests that had to wait (once per request, granted or not).",
            labels=["venue"],
        )
        seconds = CounterMetricFamily(
            "oms_limiter_wait_seconds",
            "Seconds dispatchers spent waiting for a rate-limit slot.",
            labels=["venue"],
        )
        for venue in venues:
            waited, waited_seconds = counted.limiter_waits.get(venue, (0, 0.0))
            count.add_metric([venue], waited)
            seconds.add_metric([venue], waited_seconds)
        yield count
        yield seconds
        yield self._intake(counted.intake)
        yield self._fills(venues, counted.fills)

    def _intake(self, observed: dict[tuple[str, str], tuple[list[int], float]]) -> Metric:
        family = HistogramMetricFamily(
            "oms_intake_request_duration_seconds",
            "POST /api/v1/orders and /api/v1/orders/batch, from the request reaching the web "
            "process to its response, by endpoint and HTTP status (all web processes).",
            labels=["endpoint", "status"],
        )
        bounds = [floatToGoString(bound) for bound in intake.BUCKETS_SECONDS] + ["+Inf"]
        empty = ([0] * len(bounds), 0.0)
        # The accepted series exist from the start, so rate() sees their first change.
        for key in sorted({("orders", "201"), ("orders/batch", "200"), *observed}):
            counts, total = observed.get(key, empty)
            family.add_metric(list(key), buckets=list(zip(bounds, counts)), sum_value=total)
        return family

    def _fills(self, venues: list[str], counts: dict[str, int]) -> Metric:
        family = CounterMetricFamily(
            "oms_fills",
            "Trades the venue reported, stored (booked, busted later or quarantined alike), "
            "counted in Redis since it started.",
            labels=["venue"],
        )
        for venue in venues:
            family.add_metric([venue], counts.get(venue, 0))
        return family

    def _quarantined(self, venues: list[str]) -> Metric:
        counts = selectors.fills_quarantined_by_venue_and_reason()
        family = CounterMetricFamily(
            "oms_fills_quarantined",
            "Trades stored and not booked (overfill, an order that never lived at the venue, "
            "counted already), for an operator.",
            labels=["venue", "reason"],
        )
        for venue in venues:
            for reason in QuarantineReason.values:
                family.add_metric([venue, reason], counts.get((venue, reason), 0))
        return family

    def _reconciled(self, venues: list[str]) -> Metric:
        counts = selectors.fills_reconciled_by_venue()
        family = CounterMetricFamily(
            "oms_fills_reconciled",
            "Orders whose venue reported more filled than the trades it reported to us: the "
            "difference booked from its CumQty and AvgPx (trade reports lost).",
            labels=["venue"],
        )
        for venue in venues:
            family.add_metric([venue], counts.get(venue, 0))
        return family

    def _positions(self) -> Iterator[Metric]:
        # One series per account and symbol: bounded by OMS_METRICS_POSITION_SERIES (open
        # positions and realized P&L, most recently moved first), the rest counted.
        rows, omitted = selectors.positions_for_metrics(
            limit=settings.OMS_METRICS_POSITION_SERIES)
        marks = latest_marks(row.symbol for row in rows)
        labels = ["account", "symbol"]
        net = GaugeMetricFamily("oms_position_net_quantity",
                                "Net quantity (bought minus sold) per account and symbol.",
                                labels=labels)
        realized = GaugeMetricFamily("oms_position_realized_pnl",
                                     "Realized P&L (average cost, before fees).",
                                     labels=labels)
        marked = GaugeMetricFamily("oms_position_unrealized_pnl",
                                   "Unrealized P&L against the latest market price (absent "
                                   "without one).", labels=labels)
        for row in rows:
            key = [row.account_id, row.symbol]
            net.add_metric(key, float(row.net_quantity))
            realized.add_metric(key, float(row.realized_pnl))
            mark = marks.get(row.symbol)
            value = unrealized(net=row.net_quantity, average_cost=row.average_cost,
                               mark=None if mark is None else mark.price)
            if value is not None:
                marked.add_metric(key, float(value))
        yield from (net, realized, marked)
        yield GaugeMetricFamily("oms_positions_omitted",
                                "Positions left out of the per-position series "
                                "(OMS_METRICS_POSITION_SERIES).", value=omitted)


def oms_registry() -> CollectorRegistry:
    # Its own registry, without the default process/GC collectors: those describe one
    # gunicorn worker, and a scrape lands on whichever worker the balancer picks.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OmsCollector())
    return registry
