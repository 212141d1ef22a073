"""Intake's rate and latency in /metrics: every POST to the intake views, by endpoint and
status, counted in Redis so that every web process adds to the same histogram."""

import json

import pytest

from metrics import intake
from tests.metrics.conftest import series

pytestmark = pytest.mark.django_db

ORDERS, BATCH = "/api/v1/orders", "/api/v1/orders/batch"
HISTOGRAM = "oms_intake_request_duration_seconds"


def body(client_order_id: str, **overrides) -> dict:
    return {"clientOrderId": client_order_id, "accountId": "ACC-1", "symbol": "MSFT",
            "side": "BUY", "orderType": "LIMIT", "quantity": 5, "limitPrice": "320.5",
            "timeInForce": "GTC"} | overrides


def post(client, path, payload):
    return client.post(path, json.dumps(payload), content_type="application/json")


def counts(samples, endpoint: str) -> dict:
    return series(samples, f"{HISTOGRAM}_count", endpoint=endpoint)


def test_each_intake_request_is_observed_once_by_endpoint_and_status(
    trader_api, limiter_redis, scrape
):
    before = scrape()
    assert counts(before, "orders") == {"201": 0}  # there before the first order
    assert counts(before, "orders/batch") == {"200": 0}

    assert post(trader_api, ORDERS, body("i-1")).status_code == 201
    assert post(trader_api, ORDERS, body("i-2")).status_code == 201
    assert post(trader_api, ORDERS, body("i-1")).status_code == 200  # a replay
    assert post(trader_api, ORDERS, body("i-3", quantity=-1)).status_code == 400
    assert post(trader_api, BATCH, {"orders": [body("b-1"), body("b-2")]}).status_code == 200
    assert trader_api.get(ORDERS).status_code == 200  # a read is not intake

    samples = scrape()

    assert counts(samples, "orders") == {"201": 2, "200": 1, "400": 1}
    assert counts(samples, "orders/batch") == {"200": 1}
    # A histogram: +Inf holds every observation, the buckets only grow, the sum is the time.
    buckets = {dict(labels)["le"]: value for labels, value in
               samples[f"{HISTOGRAM}_bucket"].items()
               if ("endpoint", "orders") in labels and ("status", "201") in labels}
    assert len(buckets) == len(intake.BUCKETS_SECONDS) + 1 and buckets["+Inf"] == 2
    ordered = [buckets[key] for key in sorted(buckets, key=float)]
    assert ordered == sorted(ordered)
    total = series(samples, f"{HISTOGRAM}_sum", endpoint="orders")["201"]
    assert 0 < total < 10


def test_an_observation_lands_in_the_bucket_of_its_upper_bound(limiter_redis, scrape):
    for seconds in (0.005, 0.0051, 0.05, 11.0):
        intake.intake_observe(endpoint="orders", status=201, seconds=seconds)

    buckets = {dict(labels)["le"]: value for labels, value in
               scrape()[f"{HISTOGRAM}_bucket"].items() if ("status", "201") in labels
               and ("endpoint", "orders") in labels}

    assert (buckets["0.005"], buckets["0.01"], buckets["0.05"], buckets["10.0"],
            buckets["+Inf"]) == (1, 2, 3, 3, 4)


def test_without_redis_intake_still_answers_and_is_not_counted(settings, trader_api,
                                                               limiter_redis, scrape):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        assert post(trader_api, ORDERS, body("d-1")).status_code == 201
        assert post(trader_api, ORDERS, body("d-2")).status_code == 201  # paused: no wait
    finally:
        intake._paused_until.clear()

    assert limiter_redis.exists(intake.KEY) == 0
