"""Bad input gets a clear 4xx in the one JSON error format, never a 500, and changes nothing.

tests/orders/test_apis.py already covers field validation, malformed JSON (truncated, NaN,
deep nesting, BOM bytes), text/plain as 415, and unknown / non-UUID order ids. This file adds
what is left: sizes, every content type, encodings, body shapes on every writing endpoint,
query-string garbage, and hostile values in paths and fields.
"""

import json

import pytest
from django.test import override_settings

from orders.models import Order, OrderEvent
from sessions.models import SessionEvent
from tests.factories import make_order
from tests.security.conftest import ORDERS, assert_error

pytestmark = pytest.mark.usefixtures("default_venue_open")

LIMIT = {
    "clientOrderId": "bad-001", "accountId": "ACC-1", "symbol": "MSFT", "side": "SELL",
    "orderType": "LIMIT", "quantity": 5, "limitPrice": "320.5", "timeInForce": "GTC",
}


def raw(client, method: str, path: str, body: bytes, content_type="application/json"):
    return getattr(client, method)(path, body, content_type=content_type)


@pytest.fixture
def queued(trader):
    return make_order(user=trader, account_code="ACC-1")


def nothing_changed(order=None):
    assert Order.objects.exclude(pk=getattr(order, "pk", None)).count() == 0
    if order is not None:
        before = order.quantity
        order.refresh_from_db()
        assert (order.status, order.quantity) == ("QUEUED", before)
        assert OrderEvent.objects.filter(order=order).count() == 1


# --- size ----------------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_body_over_the_limit_is_413_payload_too_large(trader_api, queued, method):
    # Valid JSON whose only fault is its size: padding inside a field the API knows.
    body = json.dumps({**LIMIT, "clientOrderId": "big", "symbol": "A" * 4096}).encode()
    path = ORDERS if method == "post" else f"{ORDERS}/{queued.pk}"

    error = assert_error(raw(trader_api, method, path, body), 413, "payload_too_large")
    assert "1024" in error["message"]
    nothing_changed(queued)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_body_at_the_limit_is_read(trader_api):
    body = json.dumps(LIMIT).encode()
    body += b" " * (1024 - len(body))  # whitespace is valid JSON padding

    assert raw(trader_api, "post", ORDERS, body).status_code == 201


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_body_is_413_on_the_session_and_halt_endpoints_too(operator_api):
    body = json.dumps({"halted": False, "reason": "x" * 2000}).encode()
    assert_error(raw(operator_api, "put", "/api/v1/halt", body), 413, "payload_too_large")
    body = json.dumps({"override": None, "schedule": {"holidays": ["2030-01-01"] * 200}}).encode()
    assert_error(raw(operator_api, "patch", "/api/v1/sessions/XMOCK", body), 413,
                 "payload_too_large")


# --- content types and encodings -----------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "application/xml",
    "text/json", "application/octet-stream",
])
def test_anything_but_json_is_415(trader_api, content_type):
    response = raw(trader_api, "post", ORDERS, b"clientOrderId=x", content_type)

    assert_error(response, 415, "unsupported_media_type")
    nothing_changed()


def test_json_with_a_charset_parameter_is_accepted(trader_api):
    body = json.dumps(LIMIT).encode()
    response = raw(trader_api, "post", ORDERS, body, "application/json; charset=utf-8")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("body", [
    b'{"clientOrderId": "\xc3\x28"}',  # invalid UTF-8 sequence
    b'{"clientOrderId": "\xed\xa0\x80"}',  # an encoded lone surrogate
    b'\xef\xbb\xbf{"clientOrderId": "x"}',  # a UTF-8 byte-order mark
])
def test_invalid_utf8_is_400(trader_api, body):
    assert_error(raw(trader_api, "post", ORDERS, body), 400, "malformed_request")
    nothing_changed()


def test_a_declared_charset_that_does_not_match_the_bytes_is_400(trader_api):
    response = raw(trader_api, "post", ORDERS, json.dumps(LIMIT).encode(),
                   "application/json; charset=utf-16")

    assert_error(response, 400, "malformed_request")
    nothing_changed()


def test_an_unknown_charset_is_ignored_and_the_body_read_as_utf8(trader_api):
    # Django drops a charset it cannot look up; the body is then read as UTF-8 (RFC 8259).
    response = raw(trader_api, "post", ORDERS, json.dumps(LIMIT).encode(),
                   "application/json; charset=no-such-charset")

    assert response.status_code == 201, response.content


def test_an_escaped_lone_surrogate_in_a_field_is_400(trader_api):
    body = json.dumps({**LIMIT, "clientOrderId": "a\ud800b"}).encode()  # \\ud800, valid JSON

    assert_error(raw(trader_api, "post", ORDERS, body), 400, "validation_error")
    nothing_changed()


# --- body shapes on every writing endpoint --------------------------------------------------------


SHAPES = [b"[]", b'[{"quantity": 1}]', b"null", b"true", b"42", b'"quantity"', b"{}"]


@pytest.mark.parametrize("body", SHAPES)
def test_a_body_that_is_not_an_object_is_400_on_patch(trader_api, queued, body):
    response = raw(trader_api, "patch", f"{ORDERS}/{queued.pk}", body)

    assert_error(response, 400)
    nothing_changed(queued)


@pytest.mark.parametrize("body", SHAPES)
def test_a_body_that_is_not_an_object_is_400_on_session_patch(operator_api, body):
    before = SessionEvent.objects.count()

    assert_error(raw(operator_api, "patch", "/api/v1/sessions/XMOCK", body), 400)
    assert SessionEvent.objects.count() == before


@pytest.mark.parametrize("body", SHAPES)
def test_a_body_that_is_not_an_object_is_400_on_halt(operator_api, body):
    assert_error(raw(operator_api, "put", "/api/v1/halt", body), 400)
    assert operator_api.get("/api/v1/halt").json()["halted"] is False


@pytest.mark.parametrize("change", [
    {"quantity": [1]}, {"quantity": {"value": 1}}, {"quantity": True}, {"side": 1},
    {"symbol": ["MSFT"]}, {"accountId": None}, {"clientOrderId": {"a": 1}},
])
def test_a_field_of_the_wrong_json_type_is_400(trader_api, change):
    body = json.dumps({**LIMIT, **change}).encode()

    error = assert_error(raw(trader_api, "post", ORDERS, body), 400, "validation_error")
    assert set(change) <= set(error["details"]), error
    nothing_changed()


# --- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [
    b"1" + b"0" * 5000,  # past Python's int-from-string digit limit
    b"1e400", b"1e-400", b"-1e400", b"123456789012345678901234567890",
    b"0.0000001", b"-0", b'"1e5000"', b'"NaN"', b'"-Infinity"', b'"0x10"',
])
def test_huge_tiny_and_odd_numbers_are_400(trader_api, quantity):
    body = json.dumps(LIMIT).encode().replace(b'"quantity": 5', b'"quantity": ' + quantity)
    assert quantity in body

    response = raw(trader_api, "post", ORDERS, body)
    assert_error(response, 400)
    nothing_changed()


def test_a_huge_number_in_a_modify_is_400(trader_api, queued):
    body = b'{"limitPrice": 1e999999}'

    assert_error(raw(trader_api, "patch", f"{ORDERS}/{queued.pk}", body), 400)
    nothing_changed(queued)


# --- unicode and control characters in fields ------------------------------------------------------


@pytest.mark.parametrize("field,value", [
    ("symbol", "ＭＳＦＴ"),  # full-width letters look like MSFT
    ("symbol", "MSFT\u200b"),  # zero-width space
    ("symbol", "МSFT"),  # Cyrillic М
    ("symbol", "١٢٣"),  # Arabic-Indic digits: \d would take them
    ("symbol", "MSFT\x00"),
    ("clientOrderId", "abc\x00def"),
    ("clientOrderId", "abc\ndef"),
    ("clientOrderId", "émoji-🚀"),
    ("accountId", "ACC-1\x00"),
    ("venue", "XMOCK\x00"),
])
def test_unicode_and_control_characters_in_codes_are_400(trader_api, field, value):
    body = json.dumps({**LIMIT, field: value}).encode()

    error = assert_error(raw(trader_api, "post", ORDERS, body), 400)
    assert field in error.get("details", {}), error
    nothing_changed()


def test_nul_and_hostile_values_in_session_fields_are_400(operator_api):
    before = SessionEvent.objects.count()
    for schedule in ({"timeZone": "UTC\x00"}, {"timeZone": "../../etc/passwd"},
                     {"timeZone": "Europe/Lоndon"}, {"timeZone": "x" * 65},
                     {"openTime": "25:00"}, {"weekdays": [0]}, {"weekdays": [True]},
                     {"holidays": ["2030-02-30"]}, {"holidays": "2030-01-01"}):
        response = operator_api.patch("/api/v1/sessions/XMOCK", {"schedule": schedule},
                                      format="json")
        assert_error(response, 400)
    assert SessionEvent.objects.count() == before
    assert_error(operator_api.put("/api/v1/halt", {"halted": True, "reason": "x\x00"},
                                  format="json"), 400)


# --- paths and query strings -------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", [
    "not-a-uuid", "0190f4e8-0000-7000-8000-00000000000", "0190f4e8000070008000000000000000g",
    "%00", "..%2F..%2Fadmin", "'%20OR%201=1--", "ｆｆｆ",
])
def test_non_uuid_order_ids_are_a_json_404(trader_api, order_id):
    for method in ("get", "patch", "delete"):
        response = getattr(trader_api, method)(f"{ORDERS}/{order_id}")
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("venue", ["NOPE", "x" * 500, "%00", "XMOCK%00", "ＸＭＯＣＫ", "..%2F"])
def test_unknown_or_hostile_venues_in_the_session_path_are_a_json_404(operator_api, venue):
    assert_error(operator_api.get(f"/api/v1/sessions/{venue}"), 404)
    response = operator_api.patch(f"/api/v1/sessions/{venue}", {"override": "OPEN"},
                                  format="json")
    assert_error(response, 404)


@pytest.mark.parametrize("query", [
    "cursor=garbage", "cursor=%00", "cursor=" + "A" * 5000, "cursor=cD0yMDI0",  # base64 "p=2024"
    "cursor=bz0xMCZwPXh4eA%3D%3D",  # base64 "o=10&p=xxx"
    "cursor=bz0tMQ%3D%3D",  # base64 "o=-1": a negative offset
])
def test_a_bad_cursor_is_a_json_404(trader, trader_api, query):
    """Only cursors the API issued are valid; garbage is neither a 500 nor the first page."""
    make_order(user=trader, account_code="ACC-1")

    assert_error(trader_api.get(f"{ORDERS}?{query}"), 404, "not_found")


def test_an_issued_cursor_still_works(trader, trader_api):
    for _ in range(3):
        make_order(user=trader, account_code="ACC-1")
    first = trader_api.get(f"{ORDERS}?limit=2").json()

    second = trader_api.get(first["next"])
    assert second.status_code == 200
    assert len(second.json()["results"]) == 1


@pytest.mark.parametrize("query", [
    "limit=abc", "limit=-5", "limit=0", "limit=99999999999999999999999", "limit=1e3",
    "symbol=%00", "symbol=" + "A" * 10000, "accountId=%00", "venue=%F0%9F%9A%80",
    "status=%00", "status=NOT_A_STATUS", "status=queued", "unknown=1", "symbol=M%27SFT",
    "limit=%00", "symbol[]=x&symbol[]=y",
])
def test_query_string_garbage_on_the_list_is_200_or_a_json_400(trader, trader_api, query):
    make_order(user=trader, account_code="ACC-1")

    response = trader_api.get(f"{ORDERS}?{query}")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_error(response, 400)
    else:
        assert isinstance(response.json()["results"], list)


def test_a_page_limit_over_the_maximum_is_capped(trader, trader_api):
    response = trader_api.get(f"{ORDERS}?limit=100000")

    assert response.status_code == 200


# --- methods ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("put", ORDERS), ("delete", ORDERS), ("post", f"{ORDERS}/0190f4e8-0000-7000-8000-000000000000"),
    ("put", f"{ORDERS}/0190f4e8-0000-7000-8000-000000000000"), ("post", "/api/v1/halt"),
    ("delete", "/api/v1/sessions/XMOCK"), ("post", "/api/v1/stats/latency"),
])
def test_an_unsupported_method_is_a_json_405(operator_api, method, path):
    response = getattr(operator_api, method)(path, {}, format="json")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"]
