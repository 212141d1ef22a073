"""The cases issue 14 names, pinned directly: what the schema states and the server does
agree (the schemathesis run in test_schema_fuzz.py covers the rest)."""

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _query(schema, path, name):
    params = schema["paths"][path]["get"]["parameters"]
    return next(p["schema"] for p in params if p["name"] == name)


def test_limit_and_status_filters(schema, operator_api):
    assert _query(schema, "/api/v1/orders", "limit")["minimum"] == 1
    assert "" not in _query(schema, "/api/v1/orders", "status")["enum"]
    assert operator_api.get("/api/v1/orders", {"limit": 0}).status_code == 400
    assert operator_api.get("/api/v1/orders", {"status": ""}).status_code == 400
    assert operator_api.get("/api/v1/orders", {"limit": 1}).status_code == 200


def test_quantity_has_an_exclusive_minimum(schema, operator_api):
    quantity = schema["components"]["schemas"]["OrderCreateInputRequest"]["properties"][
        "quantity"]
    number = quantity["oneOf"][0]
    assert (number["minimum"], number["exclusiveMinimum"]) == (0, True)
    response = operator_api.post("/api/v1/orders", {
        "clientOrderId": "z", "accountId": "ACC-1", "symbol": "AAPL", "side": "BUY",
        "orderType": "MARKET", "quantity": 0.0, "timeInForce": "DAY"}, format="json")
    assert response.status_code == 400
    assert "quantity" in response.json()["details"]


def test_halting_needs_a_reason_and_a_patch_a_body(schema, operator_api):
    halt = schema["components"]["schemas"]["TradingHaltInputRequest"]
    assert any(branch.get("required") == ["halted", "reason"] for branch in halt["oneOf"])
    patch = schema["paths"]["/api/v1/sessions/{venue}"]["patch"]["requestBody"]
    assert patch["required"] is True
    assert schema["components"]["schemas"]["PatchedSessionUpdateInputRequest"][
        "minProperties"] == 1
    assert operator_api.put("/api/v1/halt", {"halted": True, "reason": ""},
                            format="json").status_code == 400
    assert operator_api.patch("/api/v1/sessions/XMOCK").status_code == 400


def test_an_empty_string_is_not_a_decimal_even_where_null_is_allowed(operator_api):
    # DRF's DecimalField reads "" as null when null is allowed; the schema says digits or null.
    response = operator_api.patch("/api/v1/risk/limits/ACC-1", {"priceBandPercent": ""},
                                  format="json")
    assert response.status_code == 400
    assert "priceBandPercent" in response.json()["details"]
