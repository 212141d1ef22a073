"""POST /api/v1/orders/batch: each order accepted or refused on its own, exactly as POST
/api/v1/orders would answer it alone, in request order, in one round trip."""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from dispatch.models import RequestKind, VenueRequest
from orders import services
from orders.models import Order, OrderEvent, OrderEventType
from risk.services import risk_limits_update
from tests.factories import order_terms

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
BATCH = "/api/v1/orders/batch"


def order(client_order_id: str, **overrides) -> dict:
    body = {"clientOrderId": client_order_id, "accountId": "ACC-1", "symbol": "MSFT",
            "side": "BUY", "orderType": "LIMIT", "quantity": 5, "limitPrice": "320.5",
            "timeInForce": "GTC"}
    return body | overrides


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def post_batch(client, orders: list) -> dict:
    response = post(client, BATCH, {"orders": orders})
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_a_mixed_batch_answers_each_order_in_order_as_it_would_be_answered_alone(
    trader, other_trader, trader_api
):
    risk_limits_update(account="*", actor="tests", max_order_quantity=Decimal("100"))
    earlier = post(trader_api, ORDERS, order("early-1")).json()
    items = [
        order("b-ok-1"),
        order("b-bad", quantity=0),                  # invalid field
        order("b-risk", quantity=1000),              # over the per-order quantity cap
        order("b-theirs", accountId="ACC-2"),        # another user's account
        order("early-1"),                            # a replay: the original
        order("early-1", quantity=6),                # a changed replay
        order("b-ok-2", side="SELL"),
    ]

    answer = post_batch(trader_api, items)

    results = answer["results"]
    assert [r["status"] for r in results] == [201, 400, 422, 403, 200, 409, 201]
    assert [r["clientOrderId"] for r in results] == [i["clientOrderId"] for i in items]
    assert [r["error"] and r["error"]["code"] for r in results] == [
        None, "validation_error", "risk_max_order_quantity", "account_forbidden", None,
        "duplicate_client_order_id", None]
    assert results[4]["orderId"] == earlier["orderId"] and results[4]["created"] is False
    assert (answer["accepted"], answer["refused"]) == (3, 4)
    created = {r["orderId"] for r in results if r["status"] == 201}
    assert {str(pk) for pk in Order.objects.exclude(client_order_id="early-1")
            .values_list("pk", flat=True)} == created
    # Each refusal is the very answer POST /orders gives that order alone, and still writes
    # nothing.
    for item, result in zip(items, results):
        if result["error"] is not None:
            alone = post(trader_api, ORDERS, item)
            assert (alone.status_code, alone.json()) == (result["status"], result["error"])
    assert Order.objects.count() == 3


def test_a_clientorderid_twice_in_one_batch_is_one_order_then_a_replay(trader, trader_api):
    results = post_batch(trader_api, [order("twice"), order("twice"),
                                      order("twice", limitPrice="321")])["results"]

    assert [r["status"] for r in results] == [201, 200, 409]
    assert results[0]["orderId"] == results[1]["orderId"]
    assert results[2]["error"]["details"]["orderId"] == results[0]["orderId"]
    assert Order.objects.filter(client_order_id="twice").count() == 1


def test_500_orders_are_accepted_and_501_refused_as_a_whole(trader, trader_api):
    answer = post_batch(trader_api, [order(f"many-{i}") for i in range(500)])

    assert {r["status"] for r in answer["results"]} == {201}
    assert answer["accepted"] == 500 and Order.objects.count() == 500

    response = post(trader_api, BATCH, {"orders": [order(f"more-{i}") for i in range(501)]})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "orders" in response.json()["details"]
    assert Order.objects.count() == 500


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"orders": {}}', b'{"orders": []}', b'{"orders": [1]}',
    b'{"orders": [{"clientOrderId": "x"}], "more": 1}', b'{}',
])
def test_a_malformed_batch_is_a_400_in_the_one_error_format_and_writes_nothing(
    trader, trader_api, body
):
    response = trader_api.post(BATCH, body, content_type="application/json")

    assert response.status_code == 400
    error = response.json()
    assert error["code"] in ("malformed_request", "validation_error") and error["message"]
    assert Order.objects.count() == 0


def test_a_batch_needs_a_token(trader):
    from rest_framework.test import APIClient

    response = post(APIClient(), BATCH, {"orders": [order("anon")]})

    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert Order.objects.count() == 0


def test_each_accepted_order_has_its_audit_event_and_its_queued_new(trader, trader_api):
    results = post_batch(trader_api, [order(f"q-{i}") for i in range(20)]
                         + [order("q-bad", quantity=-1)])["results"]

    accepted = [r["orderId"] for r in results if r["status"] == 201]
    assert len(accepted) == 20
    for order_id in accepted:
        assert OrderEvent.objects.filter(order_id=order_id,
                                         type=OrderEventType.CREATED).count() == 1
        assert VenueRequest.objects.filter(order_id=order_id, kind=RequestKind.NEW).count() == 1
    assert VenueRequest.objects.count() == 20
    # Queue order is request order (FIFO follows the batch).
    queued = list(VenueRequest.objects.order_by("id").values_list("order_id", flat=True))
    assert [str(pk) for pk in queued] == accepted


@pytest.mark.django_db(transaction=True)  # real commits: the nudges follow them
def test_a_batch_nudges_dispatch_once_a_venue_not_once_an_order(trader, trader_api,
                                                                  monkeypatch):
    nudged = []
    monkeypatch.setattr("orders.services.intake.dispatch_nudge",
                        lambda *, venue_code: nudged.append(venue_code))
    started = time.monotonic()

    post_batch(trader_api, [order(f"n-{i}") for i in range(50)])

    elapsed = time.monotonic() - started
    # The first order's, one per 100 ms after it, and the end's.
    assert 2 <= len(nudged) <= 2 + int(elapsed / 0.1)
    assert set(nudged) == {"XMOCK"}


def test_an_operator_batch_creates_named_accounts_once(operator_api):
    results = post_batch(operator_api, [order("op-1", accountId="NEW-1"),
                                        order("op-2", accountId="NEW-1")])["results"]

    assert [r["status"] for r in results] == [201, 201]


@pytest.mark.django_db(transaction=True)
def test_the_same_clientorderid_in_a_batch_and_a_single_post_at_once_is_one_order(trader):
    for round_ in range(6):
        client_order_id = f"race-{round_}"
        barrier = threading.Barrier(2)
        outcomes: dict = {}

        def single():
            barrier.wait()
            try:
                outcomes["single"] = services.order_create(
                    user=trader, account_code="ACC-1", client_order_id=client_order_id,
                    terms=order_terms())
            finally:
                connection.close()

        def batch():
            request = services.OrderRequest(account_code="ACC-1",
                                            client_order_id=client_order_id,
                                            terms=order_terms())
            barrier.wait()
            try:
                outcomes["batch"] = services.orders_create_batch(user=trader,
                                                                 requests=[request])[0]
            finally:
                connection.close()

        threads = [threading.Thread(target=single), threading.Thread(target=batch)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

        single_order, single_created = outcomes["single"]
        in_batch = outcomes["batch"]
        assert in_batch.error is None
        assert in_batch.order.pk == single_order.pk
        assert sorted([single_created, in_batch.created]) == [False, True]
        assert Order.objects.filter(client_order_id=client_order_id).count() == 1


def test_a_batch_is_faster_per_order_than_single_posts(trader, trader_api, capsys):
    """Measured, not asserted: timing on a shared machine is not a test's business."""
    n = 200
    started = time.perf_counter()
    for i in range(n):
        assert post(trader_api, ORDERS, order(f"single-{i}")).status_code == 201
    single = (time.perf_counter() - started) / n
    started = time.perf_counter()
    answer = post_batch(trader_api, [order(f"batched-{i}") for i in range(n)])
    batched = (time.perf_counter() - started) / n
    assert answer["accepted"] == n
    with capsys.disabled():
        print(f"\nintake per order, in process, {n} orders: single POST {single * 1000:.2f} ms"
              f" ({1 / single:.0f}/s), batch {batched * 1000:.2f} ms ({1 / batched:.0f}/s),"
              f" {single / batched:.2f}x")


def test_500_orders_at_their_longest_fit_and_a_larger_body_is_a_413(operator_api, settings):
    # Every field at its schema's longest (decimals: 18 digits and the point).
    longest = order("c" * 64, accountId="A" * 32, symbol="S" * 32,
                    quantity="1" * 12 + "." + "1" * 6, limitPrice="1" * 10 + "." + "1" * 8,
                    stopPrice="1" * 10 + "." + "1" * 8, orderType="STOP_LIMIT",
                    timeInForce="DAY", venue="V" * 16)
    body = json.dumps({"orders": [longest] * 500})
    assert len(body) <= settings.OMS_BATCH_MAX_BYTES
    # The batch's limit is its own: the same body to POST /orders is over the API's.
    assert post(operator_api, ORDERS, {"orders": [longest] * 500}).status_code == 413

    settings.OMS_BATCH_MAX_BYTES = 1024
    response = post(operator_api, BATCH, {"orders": [order(f"big-{i}") for i in range(20)]})

    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert Order.objects.count() == 0
