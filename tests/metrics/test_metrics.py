"""/metrics reports what PostgreSQL and Redis hold, exactly, whichever process serves it."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from dispatch.limiter import wait_metric_keys
from dispatch.limits import limiter_for
from dispatch.models import VenueRequest
from orders import services
from orders.models import OrderStatus
from sessions.services import (
    session_reconcile,
    session_record_logged_off,
    session_update,
    trading_halt_set,
)
from tests.dispatch.conftest import drain
from tests.factories import make_order
from tests.metrics.conftest import series
from tests.venues.inproc import InProcessVenue
from venues.models import FixSessionState
from venues.services import fix_session_acquire, fix_session_record

pytestmark = pytest.mark.django_db

NO_LABELS = frozenset()
XMOCK = frozenset({("venue", "XMOCK")})


class ScriptedLatencyVenue(InProcessVenue):
    """The in-process venue, its answers read after round trips chosen by the test."""

    def __init__(self, latencies_micros: list[int]):
        super().__init__("XMOCK")
        self._latencies = iter(latencies_micros)

    def latency_micros(self) -> int:
        return next(self._latencies)


# --- the format ---------------------------------------------------------------------------------


def test_metrics_is_prometheus_text_format(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = response.content.decode()
    for family in ("oms_orders gauge",
                   "oms_venue_queue_depth gauge", "oms_venue_send_limit gauge",
                   "oms_intake_request_duration_seconds histogram", "oms_fills_total counter",
                   "oms_venue_requests_sent_total counter",
                   "oms_venue_request_latency_seconds histogram",
                   "oms_venue_session_state gauge", "oms_venue_session_desired gauge",
                   "oms_fix_session_state gauge", "oms_fix_next_sender_seq_num gauge",
                   "oms_fix_next_target_seq_num gauge", "oms_trading_halted gauge",
                   "oms_limiter_waits_total counter", "oms_limiter_wait_seconds_total counter",
                   "oms_fills_quarantined_total counter", "oms_fills_reconciled_total counter",
                   "oms_position_net_quantity gauge", "oms_position_realized_pnl gauge",
                   "oms_position_unrealized_pnl gauge", "oms_positions_omitted gauge"):
        assert f"# TYPE {family}\n" in body


def test_prometheus_asking_for_openmetrics_gets_it(client):
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.decode().endswith("# EOF\n")


# --- orders, queue, sends, latency --------------------------------------------------------------


def test_orders_queue_depth_and_sends_are_the_databases_numbers(
    trader, in_process_venue, scrape
):
    live_cancelled, modified, acked, queue_cancelled = (
        make_order(user=trader, account_code="ACC-1") for _ in range(4)
    )
    services.order_cancel(order_id=queue_cancelled.pk, actor="trader")  # withdrawn, never sent
    assert drain(in_process_venue).claimed == 3
    services.order_cancel(order_id=live_cancelled.pk, actor="trader")  # a CANCEL goes out
    assert drain(in_process_venue).claimed == 1
    # Left in the queue: a MODIFY of a live order and a fresh order's NEW.
    services.order_modify(order_id=modified.pk, actor="trader", quantity=Decimal("5"))
    make_order(user=trader, account_code="ACC-1")

    samples = scrape()

    assert series(samples, "oms_orders", venue="XMOCK") == {
        **{status: 0 for status in OrderStatus.values},
        "NEW": 1, "PENDING_REPLACE": 1, "CANCELED": 2, "QUEUED": 1,
    }
    assert series(samples, "oms_venue_queue_depth") == {"XMOCK": 2}
    assert series(samples, "oms_venue_send_limit") == {"XMOCK": 100}
    assert series(samples, "oms_venue_requests_sent_total", venue="XMOCK") == {
        "NEW": 3, "MODIFY": 0, "CANCEL": 1, "STATUS": 0,
    }
    # The histogram agrees with the requests' own latencies, bucket by bucket.
    for kind in ("NEW", "MODIFY", "CANCEL", "STATUS"):
        latencies = list(
            VenueRequest.objects.filter(kind=kind, latency_micros__isnull=False)
            .values_list("latency_micros", flat=True)
        )
        buckets = series(samples, "oms_venue_request_latency_seconds_bucket",
                         venue="XMOCK", kind=kind)
        for bound, count in buckets.items():
            limit = float(bound) * 1_000_000
            assert count == sum(1 for micros in latencies if micros <= limit), (kind, bound)
        assert buckets["+Inf"] == len(latencies) == {"NEW": 3, "CANCEL": 1}.get(kind, 0)
        labels = frozenset({("venue", "XMOCK"), ("kind", kind)})
        assert samples["oms_venue_request_latency_seconds_count"][labels] == len(latencies)
        assert samples["oms_venue_request_latency_seconds_sum"][labels] == pytest.approx(
            sum(latencies) / 1_000_000
        )


def test_each_answer_falls_in_the_bucket_of_its_upper_bound(trader, in_process_venue, scrape):
    for _ in range(5):
        make_order(user=trader, account_code="ACC-1")

    drain(ScriptedLatencyVenue([500, 501, 1000, 250_000, 6_000_000]))
    samples = scrape()

    buckets = series(samples, "oms_venue_request_latency_seconds_bucket",
                     venue="XMOCK", kind="NEW")
    assert buckets == {
        "0.0005": 1, "0.001": 3, "0.0025": 3, "0.005": 3, "0.01": 3, "0.025": 3, "0.05": 3,
        "0.1": 3, "0.25": 4, "0.5": 4, "1.0": 4, "2.5": 4, "5.0": 4, "+Inf": 5,
    }
    labels = frozenset({("venue", "XMOCK"), ("kind", "NEW")})
    assert samples["oms_venue_request_latency_seconds_count"][labels] == 5
    assert samples["oms_venue_request_latency_seconds_sum"][labels] == pytest.approx(6.252001)


# --- sessions and the halt ----------------------------------------------------------------------


def test_session_state_is_one_for_the_current_state_and_the_halt_shows(
    in_process_venue, scrape
):
    samples = scrape()
    assert series(samples, "oms_venue_session_state", venue="XMOCK") == {
        "LOGGED_OUT": 0, "LOGGING_ON": 0, "LOGGED_ON": 1, "LOGGING_OFF": 0,
    }
    assert series(samples, "oms_venue_session_desired") == {"XMOCK": 1}
    assert samples["oms_trading_halted"] == {NO_LABELS: 0}

    # The kill switch keeps the session logged on: cancels must still reach the venue.
    trading_halt_set(halted=True, reason="metrics test", actor="ops")
    samples = scrape()
    assert samples["oms_trading_halted"] == {NO_LABELS: 1}
    assert series(samples, "oms_venue_session_state", venue="XMOCK")["LOGGED_ON"] == 1

    session_update(venue_code="XMOCK", actor="ops", override="CLOSED")
    session_reconcile(venue_code="XMOCK")  # the session should now be logged out...
    samples = scrape()
    assert series(samples, "oms_venue_session_desired") == {"XMOCK": 0}
    assert series(samples, "oms_venue_session_state", venue="XMOCK")["LOGGED_ON"] == 1
    session_record_logged_off(venue_code="XMOCK")  # ...and its holder says it is
    samples = scrape()
    assert series(samples, "oms_venue_session_state", venue="XMOCK") == {
        "LOGGED_OUT": 1, "LOGGING_ON": 0, "LOGGED_ON": 0, "LOGGING_OFF": 0,
    }


def test_each_venues_fix_session_shows_its_state_and_sequence_numbers(in_process_venue, scrape):
    samples = scrape()
    assert series(samples, "oms_fix_session_state", venue="XMOCK") == {
        state: 1 if state == "DISCONNECTED" else 0 for state in FixSessionState.values}
    assert series(samples, "oms_fix_next_sender_seq_num") == {"XMOCK": 1}
    assert series(samples, "oms_fix_next_target_seq_num") == {"XMOCK": 1}

    assert fix_session_acquire(venue_code="XMOCK", owner="holder-1", lease_seconds=10)
    fix_session_record(venue_code="XMOCK", owner="holder-1", state=FixSessionState.LOGGED_ON,
                       next_sender=42, next_target=17)

    samples = scrape()
    assert series(samples, "oms_fix_session_state", venue="XMOCK") == {
        state: 1 if state == "LOGGED_ON" else 0 for state in FixSessionState.values}
    assert series(samples, "oms_fix_next_sender_seq_num") == {"XMOCK": 42}
    assert series(samples, "oms_fix_next_target_seq_num") == {"XMOCK": 17}


# --- rate-limit waits (Redis) -------------------------------------------------------------------


def test_waits_for_a_rate_limit_slot_are_counted_per_venue(limiter_redis, scrape):
    assert scrape()["oms_limiter_waits_total"] == {XMOCK: 0}
    limiter = limiter_for("XMOCK")
    # One send under way, answered: the next waits for the window to move past it.
    limiter.complete(limiter.acquire(limit=1, window_ms=300, timeout=1))
    assert limiter.acquire(limit=1, window_ms=300, timeout=2) is not None

    samples = scrape()

    waits_key, seconds_key = wait_metric_keys("XMOCK")
    assert samples["oms_limiter_waits_total"][XMOCK] == int(limiter_redis.get(waits_key)) == 1
    assert samples["oms_limiter_wait_seconds_total"][XMOCK] == pytest.approx(
        float(limiter_redis.get(seconds_key)))
    assert 0.2 < samples["oms_limiter_wait_seconds_total"][XMOCK] < 1
    assert samples["oms_metrics_redis_up"] == {NO_LABELS: 1}


def test_without_redis_the_database_metrics_are_still_served(settings, trader, scrape):
    make_order(user=trader, account_code="ACC-1")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    samples = scrape()

    assert samples["oms_metrics_redis_up"] == {NO_LABELS: 0}
    assert "oms_limiter_waits_total" not in samples
    assert series(samples, "oms_orders", venue="XMOCK")["QUEUED"] == 1


# --- access ---------------------------------------------------------------------------------------


def test_with_a_token_set_metrics_needs_it_as_a_bearer_token(settings, client):
    settings.OMS_METRICS_TOKEN = "s3cret-metrics-token"

    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert refused.json()["code"] == "not_authenticated"
    assert b"oms_orders" not in refused.content
    for wrong in ("Bearer wrong", "Token s3cret-metrics-token", "s3cret-metrics-token",
                  "Bearer s3cret-metrics-token-and-more", "Bearer ünïcode"):
        assert client.get("/metrics", HTTP_AUTHORIZATION=wrong).status_code == 401, wrong

    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert allowed.status_code == 200
    assert b"# TYPE oms_orders gauge" in allowed.content


def test_without_a_token_metrics_is_open_and_the_deploy_check_says_so(settings, client):
    settings.OMS_METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 200
    with pytest.raises(SystemCheckError, match="metrics.W001"):
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")

    settings.OMS_METRICS_TOKEN = "set"
    with pytest.raises(SystemCheckError) as other_warnings:
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")
    assert "metrics.W001" not in str(other_warnings.value)


# --- fills and positions ---------------------------------------------------------------------


def test_positions_are_series_per_account_and_symbol_within_a_bound(
    settings, trader, in_process_venue, scrape, limiter_redis,
    django_capture_on_commit_callbacks,
):
    from datetime import UTC, datetime

    import redis

    venue = in_process_venue
    orders = [make_order(user=trader, account_code="ACC-1", symbol=symbol, side=side)
              for symbol, side in (("AAPL", "BUY"), ("MSFT", "SELL"), ("NVDA", "BUY"))]
    drain(venue)
    cl = {o.symbol: str(o.requests.get(kind="NEW").request_id) for o in orders}
    with django_capture_on_commit_callbacks(execute=True):  # the fills' counts, on commit
        venue.deliver([venue.book.fill(cl["AAPL"], Decimal("4"), Decimal("150")),
                       venue.book.fill(cl["MSFT"], Decimal("2"), Decimal("320.5"))])
    redis.Redis.from_url(settings.REDIS_URL).hset("oms:md:XMOCK:AAPL", mapping={
        "last": "151.25", "ts": datetime.now(UTC).isoformat()})

    samples = scrape()
    net = series(samples, "oms_position_net_quantity", account="ACC-1")
    assert net == {"AAPL": 4.0, "MSFT": -2.0}  # NVDA never traded: no series
    assert series(samples, "oms_position_realized_pnl", account="ACC-1") == {
        "AAPL": 0.0, "MSFT": 0.0}
    assert series(samples, "oms_position_unrealized_pnl", account="ACC-1") == {"AAPL": 5.0}
    assert series(samples, "oms_positions_omitted") == {NO_LABELS: 0.0}
    assert series(samples, "oms_fills_quarantined_total", venue="XMOCK") == {
        "OVERFILL": 0.0, "NOT_LIVE": 0.0, "COUNTED": 0.0}
    assert series(samples, "oms_fills_reconciled_total") == {"XMOCK": 0.0}
    assert series(samples, "oms_fills_total") == {"XMOCK": 2.0}

    settings.OMS_METRICS_POSITION_SERIES = 1  # the most recently moved only
    samples = scrape()
    assert series(samples, "oms_position_net_quantity", account="ACC-1") == {"MSFT": -2.0}
    assert series(samples, "oms_positions_omitted") == {NO_LABELS: 1.0}
