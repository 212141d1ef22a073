"""The venues API refuses bad input with a 400 naming the field (a 404 for a bad code, 413,
415), changes nothing, and its OpenAPI schema states each rule it enforces."""

import json

import pytest

from tests.security.conftest import assert_error
from tests.venues.api_fixtures import (  # noqa: F401 (pytest finds fixtures by name)
    CUSTOM,
    EDITABLE,
    VENUES,
    distinct_defaults,
    send,
    staff_api,
    stored,
    xfast,
)
from venues.models import Venue

pytestmark = pytest.mark.django_db


# --- validation: 400 naming the field, nothing changed --------------------------------------

# (field, the last value inside, the first value outside)
BOUNDARIES = [
    ("fixPort", 1, 0),
    ("fixPort", 65535, 65536),
    ("heartbeatSeconds", 1, 0),
    ("heartbeatSeconds", 300, 301),
    ("throttlePerSecond", 1, 0),
    ("throttlePerSecond", 100_000, 100_001),
    ("senderCompId", "S" * 64, "S" * 65),
    ("targetCompId", "T" * 64, "T" * 65),
    ("senderCompId", "a.B_c-9", "A B"),
    ("senderCompId", "DESK1", "DESK\u00011"),
    ("targetCompId", "FAST.X", "FAST|X"),
    ("targetCompId", "X", ""),
    ("name", "N" * 100, "N" * 101),
    ("fixHost", "h" * 63 + ".example", "h" * 64 + ".example"),
    ("fixHost", "fe80::1", "fix.example.com:4000"),
    ("fixHost", "255.255.255.255", "256.1.1.1"),
    ("fixHost", "fix-1.example", "fix..example"),
    ("makerFeePerShare", "-999999.999999", "-1000000"),
    ("takerFeePerShare", "999999.999999", "1000000"),
    ("takerFeePerShare", "0.000001", "0.0000001"),
]


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("field,inside,outside", BOUNDARIES)
def test_each_rule_passes_just_inside_and_is_400_naming_the_field_just_outside(
    xfast, staff_api, method, field, inside, outside
):
    body = {**CUSTOM, field: inside}
    assert send(staff_api, method, f"{VENUES}/XFAST", body).status_code == 200
    assert stored("XFAST")[field] == inside

    response = send(staff_api, method, f"{VENUES}/XFAST", {**CUSTOM, field: outside})

    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]) == [field]
    assert stored("XFAST") == body


def test_a_venue_cannot_take_another_venues_fix_session(xfast, staff_api):
    identity = {name: CUSTOM[name] for name in ("fixHost", "fixPort", "senderCompId",
                                                 "targetCompId")}

    error = assert_error(send(staff_api, "put", f"{VENUES}/XTWO", identity), 400,
                         "validation_error")

    assert list(error["details"]) == ["fixSession"]
    assert "XFAST" in error["details"]["fixSession"][0]
    assert not Venue.objects.filter(pk="XTWO").exists()
    # One part different and it is another session.
    assert send(staff_api, "put", f"{VENUES}/XTWO", {**identity, "fixPort": 4001}
                ).status_code == 201


@pytest.mark.parametrize("field,value", [
    ("fixPort", "4000"), ("fixPort", 4000.0), ("fixPort", True), ("fixPort", None),
    ("heartbeatSeconds", "30"), ("throttlePerSecond", [5]),
    ("resetSeqNumOnLogon", "true"), ("resetSeqNumOnLogon", 1), ("resetSeqNumOnLogon", None),
    ("name", 5), ("name", None), ("fixHost", {"host": "x"}), ("senderCompId", None),
    ("makerFeePerShare", "-1e-3"), ("makerFeePerShare", None), ("takerFeePerShare", True),
    ("takerFeePerShare", ""),
])
def test_a_wrong_json_type_is_400_naming_the_field(xfast, staff_api, field, value):
    for method in ("patch", "put"):
        error = assert_error(send(staff_api, method, f"{VENUES}/XFAST", {field: value}), 400,
                             "validation_error")
        assert list(error["details"]) == [field]
    assert stored("XFAST") == CUSTOM


def test_an_unknown_field_is_400(xfast, staff_api):
    for method in ("patch", "put"):
        response = send(staff_api, method, f"{VENUES}/XFAST", {"throttlePerSecnd": 5})
        error = assert_error(response, 400, "validation_error")
        assert error["details"] == {"throttlePerSecnd": ["Unknown field."]}
    assert stored("XFAST") == CUSTOM


@pytest.mark.parametrize("body", [[], "XFAST", 5, None])
def test_a_body_that_is_not_an_object_is_400(xfast, staff_api, body):
    for method in ("patch", "put"):
        assert_error(send(staff_api, method, f"{VENUES}/XFAST", body), 400)
    assert stored("XFAST") == CUSTOM


@pytest.mark.parametrize("field,value", [
    ("name", "bad\x00name"), ("name", "a\ud800b"), ("fixHost", "fix\x00host"),
    ("senderCompId", "DESK\x001"), ("targetCompId", "FAST\ud800"), ("fixHost", "ｆｉｘ.example"),
])
def test_nul_surrogates_and_unicode_in_fields_are_400(xfast, staff_api, field, value):
    body = json.dumps({field: value}).encode()  # escaped in the JSON text: valid JSON

    for method in ("patch", "put"):
        response = getattr(staff_api, method)(f"{VENUES}/XFAST", body,
                                              content_type="application/json")
        error = assert_error(response, 400, "validation_error")
        assert list(error["details"]) == [field]
    assert stored("XFAST") == CUSTOM


@pytest.mark.parametrize("code", ["x" * 500, "XFAST%00", "ＸＦＡＳＴ", "..%2F", "%2E%2E"])
def test_hostile_codes_in_the_path_are_a_json_404(xfast, staff_api, code):
    assert_error(staff_api.get(f"{VENUES}/{code}"), 404)
    for method in ("patch", "put"):
        assert_error(send(staff_api, method, f"{VENUES}/{code}", {"name": "x"}), 404)
    assert list(Venue.objects.values_list("code", flat=True)) == ["XFAST"]


def test_an_oversized_body_is_413_and_changes_nothing(xfast, staff_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"name": "x" * 2000}).encode()

    for method in ("patch", "put"):
        response = getattr(staff_api, method)(f"{VENUES}/XFAST", body,
                                              content_type="application/json")
        assert_error(response, 413, "payload_too_large")
    assert stored("XFAST") == CUSTOM


def test_anything_but_json_is_415(xfast, staff_api):
    for method in ("patch", "put"):
        response = getattr(staff_api, method)(f"{VENUES}/XFAST", "name=x",
                                              content_type="application/x-www-form-urlencoded")
        assert_error(response, 415, "unsupported_media_type")
    assert stored("XFAST") == CUSTOM


# --- the schema states the rules -----------------------------------------------------------


def _component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.fixture
def schema(staff_api) -> dict:
    return staff_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_schema_states_each_bound_and_the_server_enforces_exactly_it(
    xfast, staff_api, schema, method
):
    operation = schema["paths"]["/api/v1/venues/{code}"][method]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    properties = _component(schema, body)["properties"]
    assert set(properties) == set(EDITABLE)

    for field in ("fixPort", "heartbeatSeconds", "throttlePerSecond"):
        low, high = properties[field]["minimum"], properties[field]["maximum"]
        for inside in (low, high):
            response = send(staff_api, "patch", f"{VENUES}/XFAST", {field: inside})
            assert response.status_code == 200, (field, inside)
        for outside in (low - 1, high + 1):
            response = send(staff_api, "patch", f"{VENUES}/XFAST", {field: outside})
            assert response.status_code == 400, (field, outside)
    assert (properties["fixPort"]["minimum"], properties["fixPort"]["maximum"]) == (1, 65535)
    assert properties["heartbeatSeconds"]["maximum"] == 300
    for field in ("senderCompId", "targetCompId"):
        assert properties[field]["pattern"] == r"^[A-Za-z0-9_.-]{1,64}$"
        assert properties[field]["maxLength"] == 64
    assert properties["fixHost"]["pattern"] == r"^[A-Za-z0-9.:_-]{1,255}$"
    assert "253" in properties["fixHost"]["description"]
    assert properties["name"]["maxLength"] == 100
    if method == "put":  # what PUT does with a field it was not given
        assert all("Not given:" in properties[name]["description"] for name in EDITABLE)


def test_the_schema_marks_the_read_only_fields_and_the_codes_pattern(schema):
    operation = schema["paths"]["/api/v1/venues/{code}"]["get"]
    [parameter] = operation["parameters"]
    assert (parameter["name"], parameter["schema"]["pattern"]) == ("code", "^[A-Z0-9_]{2,16}$")
    output = _component(
        schema, operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )["properties"]
    read_only = {name for name, field in output.items() if field.get("readOnly")}
    assert read_only == {"code", "createdAt", "updatedAt", "session", "fixSession"}
    assert set(schema["paths"]["/api/v1/venues/{code}"]) >= {"get", "put", "patch"}
    assert set(schema["paths"]["/api/v1/venues/{code}"]["put"]["responses"]) >= {"200", "201",
                                                                                  "400", "401",
                                                                                  "403", "404"}
