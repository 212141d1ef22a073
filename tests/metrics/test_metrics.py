"""/metrics reports what PostgreSQL and Redis hold, exactly, whichever process serves it."""

import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from dispatch import services as dispatch_services
from dispatch.limiter import wait_metric_keys
from dispatch.models import VenueRequest
from orders import services
from orders.models import OrderStatus
from sessions.services import session_reconcile, trading_halt_set
from tests.dispatch.conftest import venue_live
from tests.factories import make_order
from tests.metrics.conftest import series
from venues.gateway import InProcessGateway, VenueAnswer

pytestmark = pytest.mark.django_db

NO_LABELS = frozenset()
XMOCK = frozenset({("venue", "XMOCK")})


def drain(**kwargs):
    return dispatch_services.dispatch_drain(venue_code="XMOCK", **kwargs)


class ScriptedLatencyVenue(InProcessGateway):
    """The in-process venue, answering with round trips chosen by the test."""

    def __init__(self, latencies_micros: list[int]):
        self._latencies = iter(latencies_micros)

    def send(self, venue_code: str, message: dict) -> VenueAnswer:
        answer = super().send(venue_code, message)
        return VenueAnswer(body=answer.body, latency_micros=next(self._latencies))


# --- the format ---------------------------------------------------------------------------------


def test_metrics_is_prometheus_text_format(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = response.content.decode()
    for family in ("oms_orders gauge", "oms_venue_queue_depth gauge",
                   "oms_venue_requests_sent_total counter",
                   "oms_venue_request_latency_seconds histogram",
                   "oms_venue_session_state gauge", "oms_trading_halted gauge",
                   "oms_limiter_waits_total counter", "oms_limiter_wait_seconds_total counter"):
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
    venue_live()
    live_cancelled, modified, acked, queue_cancelled = (
        make_order(user=trader, account_code="ACC-1") for _ in range(4)
    )
    services.order_cancel(order_id=queue_cancelled.pk, actor="trader")  # withdrawn, never sent
    assert drain().sent == 3
    services.order_cancel(order_id=live_cancelled.pk, actor="trader")  # a CANCEL goes out
    assert drain().sent == 1
    # Left in the queue: a MODIFY of a live order and a fresh order's NEW.
    services.order_modify(order_id=modified.pk, actor="trader", quantity=Decimal("5"))
    make_order(user=trader, account_code="ACC-1")

    samples = scrape()

    assert series(samples, "oms_orders", venue="XMOCK") == {
        **{status: 0 for status in OrderStatus.values},
        "NEW": 1, "PENDING_REPLACE": 1, "CANCELED": 2, "QUEUED": 1,
    }
    assert series(samples, "oms_venue_queue_depth") == {"XMOCK": 2}
    assert series(samples, "oms_venue_requests_sent_total", venue="XMOCK") == {
        "NEW": 3, "MODIFY": 0, "CANCEL": 1,
    }
    # The histogram agrees with the requests' own latencies, bucket by bucket.
    for kind in ("NEW", "MODIFY", "CANCEL"):
        latencies = list(
            VenueRequest.objects.filter(kind=kind, latency_micros__isnull=False)
            .values_list("latency_micros", flat=True)
        )
        buckets = series(samples, "oms_venue_request_latency_seconds_bucket",
                         venue="XMOCK", kind=kind)
        for bound, count in buckets.items():
            limit = float(bound) * 1_000_000
            assert count == sum(1 for micros in latencies if micros <= limit), (kind, bound)
        assert buckets["+Inf"] == len(latencies) == {"NEW": 3, "MODIFY": 0, "CANCEL": 1}[kind]
        labels = frozenset({("venue", "XMOCK"), ("kind", kind)})
        assert samples["oms_venue_request_latency_seconds_count"][labels] == len(latencies)
        assert samples["oms_venue_request_latency_seconds_sum"][labels] == pytest.approx(
            sum(latencies) / 1_000_000
        )


def test_each_answer_falls_in_the_bucket_of_its_upper_bound(trader, in_process_venue, scrape):
    venue_live()
    for _ in range(5):
        make_order(user=trader, account_code="ACC-1")

    drain(gateway=ScriptedLatencyVenue([500, 501, 1000, 250_000, 6_000_000]))
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
    venue_live()

    samples = scrape()
    assert series(samples, "oms_venue_session_state", venue="XMOCK") == {
        "LOGGED_OUT": 0, "LOGGING_ON": 0, "LOGGED_ON": 1, "LOGGING_OFF": 0,
    }
    assert samples["oms_trading_halted"] == {NO_LABELS: 0}

    trading_halt_set(halted=True, reason="metrics test", actor="ops")
    session_reconcile(venue_code="XMOCK")  # the halt logs the venue out

    samples = scrape()
    assert series(samples, "oms_venue_session_state", venue="XMOCK") == {
        "LOGGED_OUT": 1, "LOGGING_ON": 0, "LOGGED_ON": 0, "LOGGING_OFF": 0,
    }
    assert samples["oms_trading_halted"] == {NO_LABELS: 1}


# --- rate-limit waits (Redis) -------------------------------------------------------------------


def test_waits_for_a_rate_limit_slot_are_counted_per_venue(
    trader, in_process_venue, limiter_redis, scrape
):
    assert scrape()["oms_limiter_waits_total"] == {XMOCK: 0}
    venue_live(limit=2)
    for _ in range(5):
        make_order(user=trader, account_code="ACC-1")

    started = time.monotonic()
    assert drain().sent == 5
    elapsed = time.monotonic() - started
    samples = scrape()

    waits = samples["oms_limiter_waits_total"][XMOCK]
    waited_seconds = samples["oms_limiter_wait_seconds_total"][XMOCK]
    # The 3rd and 5th sends wait a whole window for a slot; the 4th may wait a moment for the
    # 2nd send's entry to age out. Once per send that waited, not once per poll of Redis.
    assert 2 <= waits <= 3
    assert 1.5 < waited_seconds < elapsed
    waits_key, seconds_key = wait_metric_keys("XMOCK")
    assert int(limiter_redis.get(waits_key)) == waits
    assert float(limiter_redis.get(seconds_key)) == pytest.approx(waited_seconds)
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
