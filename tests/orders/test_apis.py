import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from dispatch.drain import dispatch_drain
from orders import services
from orders.models import Order
from tests.dispatch.conftest import drain
from tests.factories import AccountFactory, make_order

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
LIMIT = {
    "clientOrderId": "limit-001", "accountId": "ACC-1", "symbol": "MSFT", "side": "SELL",
    "orderType": "LIMIT", "quantity": 5, "limitPrice": 320.50, "timeInForce": "GTC",
}


def post(client, body, **extra):
    return client.post(ORDERS, json.dumps(body), content_type="application/json", **extra)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


# --- intake --------------------------------------------------------------------------------------


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/samples is not beside this checkout")
@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_shared_sample_payloads_are_accepted_as_written(trader, trader_api, quotes, sample):
    body = json.loads((SAMPLES / sample).read_text())
    AccountFactory(code=body["accountId"], users=[trader])
    # The market the venue publishes (a MARKET order is valued at it, a LIMIT price banded).
    price = Decimal(str(body.get("limitPrice") or body.get("stopPrice") or 190))
    quotes("XMOCK", body["symbol"], bid=price - Decimal("0.05"), ask=price + Decimal("0.05"))

    response = trader_api.post(ORDERS, (SAMPLES / sample).read_bytes(),
                               content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["clientOrderId"] == body["clientOrderId"]


def test_create_answers_201_with_the_order(trader_api):
    response = post(trader_api, LIMIT)

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert body == {
        "orderId": str(order.pk), "clientOrderId": "limit-001", "accountId": "ACC-1",
        "symbol": "MSFT", "side": "SELL", "orderType": "LIMIT", "quantity": "5",
        "limitPrice": "320.5", "stopPrice": None, "timeInForce": "GTC", "venue": "XMOCK",
        "routing": "DIRECTED", "parentOrderId": None, "status": "QUEUED", "filledQuantity": "0", "cumQty": "0", "leavesQty": "5",
        "avgPx": None, "created": True,
        "createdAt": body["createdAt"], "updatedAt": body["updatedAt"],
    }


def test_an_order_post_is_a_few_round_trips_to_the_database(
    trader_api, django_assert_max_num_queries
):
    """The intake hot path: the token, the account, the venue's session and the halt in one
    read, the account's risk limits, then the order, its event and its queued request in one
    transaction. A per-order query creeping in (a second session read, a venue lookup) costs
    ~0.3 ms of CPU each, ~5% of the API's throughput. (Limits that depend on the account's
    other orders add their lock and reads: tests/risk.)"""
    post(trader_api, LIMIT)  # the first order of a venue may create its rows
    with django_assert_max_num_queries(9):  # 4 reads + BEGIN, 3 inserts, COMMIT
        response = post(trader_api, {**LIMIT, "clientOrderId": "limit-002"})
    assert response.status_code == 201


def test_prices_are_kept_exactly_as_sent(trader_api):
    response = post(trader_api, {**LIMIT, "limitPrice": "0.30000001"})
    assert response.json()["limitPrice"] == "0.30000001"
    response = post(trader_api, {**LIMIT, "clientOrderId": "l-2", "limitPrice": 123.45678901})
    assert response.json()["limitPrice"] == "123.45678901"


def test_replay_returns_200_with_the_original_and_a_changed_replay_409(trader_api):
    first = post(trader_api, LIMIT).json()

    replay = post(trader_api, {**LIMIT, "limitPrice": "320.500"})
    assert replay.status_code == 200
    assert (replay.json()["orderId"], replay.json()["created"]) == (first["orderId"], False)

    changed = post(trader_api, {**LIMIT, "quantity": 6})
    body = assert_error(changed, 409, "duplicate_client_order_id")
    assert body["details"] == {"orderId": first["orderId"]}
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"clientOrderId": ""}, "clientOrderId"),
        ({"symbol": ""}, "symbol"),
        ({"side": "buy"}, "side"),
        ({"side": "SHORT"}, "side"),
        ({"orderType": "Limit"}, "orderType"),
        ({"timeInForce": "GTD"}, "timeInForce"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "ten"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 1.0000001}, "quantity"),
        ({"limitPrice": -320.5}, "limitPrice"),
        ({"limitPrice": 0}, "limitPrice"),
        ({"limitPrice": 1.123456789}, "limitPrice"),
        ({"limitPrice": 10**12}, "limitPrice"),
        ({"limitPrice": None}, "limitPrice"),
        ({"stopPrice": 300}, "stopPrice"),
        ({"clientOrderId": "x" * 65}, "clientOrderId"),
        ({"accountId": "A" * 33}, "accountId"),
        ({"symbol": "S" * 33}, "symbol"),
        ({"symbol": "aapl"}, "symbol"),
        ({"clientOrderId": "bad id with spaces"}, "clientOrderId"),
        ({"venue": "x"}, "venue"),
        ({"limitprice": 1}, "limitprice"),
    ],
)
def test_invalid_fields_are_400_with_field_errors_and_change_nothing(trader_api, change, field):
    error = assert_error(post(trader_api, {**LIMIT, **change}), 400, "validation_error")
    assert field in error["details"], error
    assert Order.objects.count() == 0


@pytest.mark.parametrize("missing", ["clientOrderId", "accountId", "symbol", "side",
                                     "orderType", "quantity", "timeInForce"])
def test_each_required_field_is_required(trader_api, missing):
    body = {k: v for k, v in LIMIT.items() if k != missing}

    error = assert_error(post(trader_api, body), 400, "validation_error")
    assert missing in error["details"]


def test_market_order_with_a_price_is_refused(trader_api):
    market = {**LIMIT, "orderType": "MARKET"}

    error = assert_error(post(trader_api, market), 400, "validation_error")
    assert "limitPrice" in error["details"]


def test_per_order_limits_refuse_with_a_reason(trader_api):
    error = assert_error(post(trader_api, {**LIMIT, "quantity": 100001}), 422,
                         "risk_max_order_quantity")
    assert "100000" in error["message"]
    error = assert_error(post(trader_api, {**LIMIT, "quantity": 4000, "limitPrice": 300}),
                         422, "risk_max_order_notional")
    assert "1000000" in error["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b"[]", b"null", b"42", b'{"quantity": NaN}', b'{"quantity": Infinity}',
     b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000],
)
def test_malformed_bodies_are_400(trader_api, raw):
    response = trader_api.post(ORDERS, raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("malformed_request", "validation_error")
    assert Order.objects.count() == 0


def test_wrong_content_type_is_415(trader_api):
    response = trader_api.post(ORDERS, "clientOrderId=x", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_body_is_refused(trader_api):
    response = post(trader_api, {**LIMIT, "clientOrderId": "big", "pad": "x" * 4096})

    assert 400 <= response.status_code < 500
    assert response.json()["code"]
    assert Order.objects.count() == 0


# --- authentication and accounts -----------------------------------------------------------------


def test_unauthenticated_is_401(db):
    response = post(APIClient(), LIMIT)

    assert_error(response, 401, "not_authenticated")


def test_bad_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(post(client, LIMIT), 401, "authentication_failed")


def test_client_submitting_for_an_account_it_does_not_hold_is_403(trader_api, other_trader):
    assert_error(post(trader_api, {**LIMIT, "accountId": "ACC-2"}), 403, "account_forbidden")
    assert Order.objects.count() == 0


def test_operator_can_submit_for_a_new_account(operator_api):
    response = post(operator_api, {**LIMIT, "accountId": "DESK-7"})

    assert response.status_code == 201


def test_another_accounts_order_is_404_for_read_modify_and_cancel(
    trader_api, other_api, other_trader
):
    theirs = make_order(user=other_trader, account_code="ACC-2")
    url = f"{ORDERS}/{theirs.pk}"

    assert_error(trader_api.get(url), 404, "order_not_found")
    assert_error(trader_api.patch(url, {"quantity": 1}, format="json"), 404, "order_not_found")
    assert_error(trader_api.delete(url), 404, "order_not_found")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.quantity) == ("QUEUED", 10)
    assert other_api.get(url).status_code == 200


def test_unknown_order_id_is_404(trader_api):
    assert_error(trader_api.get(f"{ORDERS}/0190f4e8-0000-7000-8000-000000000000"), 404,
                 "order_not_found")
    assert_error(trader_api.get(f"{ORDERS}/not-a-uuid"), 404, "not_found")


# --- read ------------------------------------------------------------------------------------------


def test_detail_shows_the_audit_trail(trader, trader_api):
    order = make_order(user=trader, account_code="ACC-1")
    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("12"))

    body = trader_api.get(f"{ORDERS}/{order.pk}").json()

    assert body["quantity"] == "12"
    assert [(e["type"], e["toStatus"], e["actor"]) for e in body["events"]] == [
        ("CREATED", "QUEUED", "trader"), ("MODIFIED", "QUEUED", "trader"),
    ]


def test_list_is_cursor_paginated_newest_first(trader, trader_api):
    ids = [str(make_order(user=trader, account_code="ACC-1").pk) for _ in range(5)]

    first = trader_api.get(ORDERS, {"limit": 2}).json()
    second = trader_api.get(first["next"]).json()
    third = trader_api.get(second["next"]).json()

    seen = [o["orderId"] for page in (first, second, third) for o in page["results"]]
    assert seen == ids[::-1]
    assert third["next"] is None


def test_list_filters_and_scopes_to_own_accounts(trader, trader_api, other_trader, operator):
    mine = make_order(user=trader, account_code="ACC-1", symbol="AAPL")
    make_order(user=trader, account_code="ACC-1", symbol="MSFT")
    cancelled = make_order(user=trader, account_code="ACC-1", symbol="MSFT")
    services.order_cancel(order_id=cancelled.pk, actor="trader")
    make_order(user=other_trader, account_code="ACC-2", symbol="AAPL")

    def ids(**params):
        return {o["orderId"] for o in trader_api.get(ORDERS, params).json()["results"]}

    assert len(ids()) == 3
    assert ids(symbol="AAPL") == {str(mine.pk)}
    assert ids(status="CANCELED") == {str(cancelled.pk)}
    assert len(ids(accountId="ACC-1", venue="XMOCK")) == 3
    assert ids(accountId="ACC-2") == set()
    assert_error(trader_api.get(ORDERS, {"status": "NOPE"}), 400, "validation_error")


def test_operator_lists_every_account(trader, other_trader, operator_api):
    make_order(user=trader, account_code="ACC-1")
    make_order(user=other_trader, account_code="ACC-2")

    assert len(operator_api.get(ORDERS).json()["results"]) == 2


# --- modify and cancel -----------------------------------------------------------------------------


def test_patch_modifies_a_queued_order(trader, trader_api):
    order = make_order(user=trader, account_code="ACC-1")

    response = trader_api.patch(f"{ORDERS}/{order.pk}", {"quantity": 7, "limitPrice": "151.5"},
                                format="json")

    assert response.status_code == 200
    assert (response.json()["quantity"], response.json()["limitPrice"]) == ("7", "151.5")


def test_patch_validates(trader, trader_api):
    order = make_order(user=trader, account_code="ACC-1")
    url = f"{ORDERS}/{order.pk}"

    assert_error(trader_api.patch(url, {}, format="json"), 400, "validation_error")
    assert_error(trader_api.patch(url, {"symbol": "MSFT"}, format="json"), 400,
                 "validation_error")
    assert_error(trader_api.patch(url, {"limitPrice": None}, format="json"), 400,
                 "validation_error")
    assert_error(trader_api.patch(url, {"quantity": 10**6}, format="json"), 422,
                 "risk_max_order_quantity")


def test_delete_cancels_and_then_state_forbids_changes(trader, trader_api):
    order = make_order(user=trader, account_code="ACC-1")
    url = f"{ORDERS}/{order.pk}"

    response = trader_api.delete(url)
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED"

    body = assert_error(trader_api.delete(url), 409, "invalid_transition")
    assert body["details"] == {"status": "CANCELED"}
    assert_error(trader_api.patch(url, {"quantity": 1}, format="json"), 409,
                 "invalid_transition")


def test_modify_and_cancel_of_a_live_order_answer_202_while_the_venue_decides(
    trader, trader_api, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    url = f"{ORDERS}/{order.pk}"

    modify = trader_api.patch(url, {"quantity": 11}, format="json")
    assert modify.status_code == 202
    assert (modify.json()["status"], modify.json()["quantity"]) == ("PENDING_REPLACE", "10")
    cancel = trader_api.delete(url)
    assert cancel.status_code == 202
    assert cancel.json()["status"] == "PENDING_CANCEL"
    assert [r["kind"] for r in cancel.json()["requests"]] == ["NEW", "MODIFY", "CANCEL"]
    assert_error(trader_api.delete(url), 409, "invalid_transition")


def test_order_whose_new_is_on_the_wire_cannot_be_modified(trader, trader_api,
                                                           in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)  # claimed: possibly on the wire

    assert_error(trader_api.patch(f"{ORDERS}/{order.pk}", {"quantity": 1}, format="json"),
                 409, "invalid_transition")


# --- schema, docs, health, errors ------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served(trader_api):
    schema = trader_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/orders", "/api/v1/orders/{order_id}"} <= set(paths)
    assert trader_api.get("/api/docs/").status_code == 200


def test_unknown_api_path_is_a_json_404(trader_api):
    response = trader_api.get("/api/v1/nothing-here")

    assert_error(response, 404, "not_found")
