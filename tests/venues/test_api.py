"""GET /api/v1/venues, GET/PUT/PATCH /api/v1/venues/{code}: reading, creating, replacing and
changing venues, and who may."""

import pytest
from rest_framework.test import APIClient

from sessions.models import SessionState
from tests.security.conftest import assert_error
from tests.venues.api_fixtures import (  # noqa: F401 (pytest finds fixtures by name)
    CUSTOM,
    DEFAULTS,
    VENUES,
    client_api,
    distinct_defaults,
    editable,
    send,
    staff_api,
    stored,
    xfast,
)
from venues import services
from venues.models import FixSession, FixSessionState, Venue

pytestmark = pytest.mark.django_db


# --- reading -------------------------------------------------------------------------------


def test_any_signed_in_user_reads_a_venue_with_its_sessions(xfast, client_api):
    FixSession.objects.filter(pk="XFAST").update(
        state=FixSessionState.LOGGED_ON, next_sender_seq=12, next_target_seq=9, owner="host-1:42"
    )

    response = client_api.get(f"{VENUES}/XFAST")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "code": "XFAST",
        **CUSTOM,
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "session": {"desired": SessionState.LOGGED_OUT, "state": SessionState.LOGGED_OUT},
        "fixSession": {
            "state": "LOGGED_ON", "nextSenderSeqNum": 12, "nextTargetSeqNum": 9,
            "owner": "host-1:42", "leaseUntil": None, "lastLogonAt": None,
            "lastLogoutAt": None, "lastError": "",
        },
    }
    assert body["createdAt"].endswith("Z") and body["updatedAt"] >= body["createdAt"]


def test_the_list_has_every_venue_in_code_order(xfast, client_api):
    services.venue_put(code="XAAA", actor="tests")

    response = client_api.get(VENUES)

    assert response.status_code == 200
    assert [venue["code"] for venue in response.json()] == ["XAAA", "XFAST"]
    assert editable(response.json()[1]) == CUSTOM


def test_a_venue_without_session_records_shows_them_as_null(client_api):
    Venue.objects.create(code="XBARE", throttle_per_second=5)

    body = client_api.get(f"{VENUES}/XBARE").json()

    assert (body["session"], body["fixSession"]) == (None, None)


@pytest.mark.parametrize("code", ["XNONE", "xfast", "X", "X" * 17, "X%00Y", "X%20F"])
def test_an_unknown_or_impossible_venue_is_404(xfast, client_api, code):
    assert_error(client_api.get(f"{VENUES}/{code}"), 404, "venue_not_found")


# --- PUT: create or replace ----------------------------------------------------------------


def test_put_creates_a_venue_201_with_a_trading_session_on_the_default_schedule(staff_api):
    response = send(staff_api, "put", f"{VENUES}/XNEW", {"name": "New venue"})

    assert response.status_code == 201
    body = response.json()
    assert editable(body) == {**DEFAULTS, "name": "New venue", "targetCompId": "XNEW"}
    assert body["session"] == {"desired": "LOGGED_OUT", "state": "LOGGED_OUT"}
    assert body["fixSession"]["state"] == "DISCONNECTED"
    assert body["fixSession"]["nextSenderSeqNum"] == 1
    session = staff_api.get("/api/v1/sessions/XNEW").json()
    assert session["schedule"]["weekdays"] == [1, 2, 3, 4, 5, 6, 7]
    assert "XNEW" in [s["venue"] for s in staff_api.get("/api/v1/sessions").json()]


def test_put_replaces_200_and_every_field_not_given_goes_back_to_its_default(xfast, staff_api):
    response = send(staff_api, "put", f"{VENUES}/XFAST", {"heartbeatSeconds": 20})

    assert response.status_code == 200
    assert editable(response.json()) == {**DEFAULTS, "heartbeatSeconds": 20,
                                         "targetCompId": "XFAST"}
    assert stored("XFAST") == editable(response.json())


def test_put_with_every_field_sets_them_all(staff_api):
    response = send(staff_api, "put", f"{VENUES}/XNEW", CUSTOM)

    assert response.status_code == 201
    assert editable(response.json()) == CUSTOM == stored("XNEW")


def test_put_of_a_body_read_back_from_get_names_the_read_only_fields(xfast, staff_api):
    body = staff_api.get(f"{VENUES}/XFAST").json()

    error = assert_error(send(staff_api, "put", f"{VENUES}/XFAST", body), 400, "validation_error")

    assert set(error["details"]) == {"code", "createdAt", "updatedAt", "session", "fixSession"}
    assert "Read-only" in error["details"]["code"][0]
    assert stored("XFAST") == CUSTOM


@pytest.mark.parametrize("code", ["XY", "X" * 16])
def test_put_accepts_a_code_of_2_to_16_characters(staff_api, code):
    assert send(staff_api, "put", f"{VENUES}/{code}", {}).status_code == 201


@pytest.mark.parametrize("code", ["X", "X" * 17, "xnew", "X-NEW", "X%00Y"])
def test_put_to_an_impossible_code_is_404_and_creates_nothing(staff_api, code):
    assert_error(send(staff_api, "put", f"{VENUES}/{code}", {}), 404, "venue_not_found")
    assert not Venue.objects.exists()


# --- PATCH: change some fields -------------------------------------------------------------


def test_patch_changes_only_the_fields_given(xfast, staff_api):
    response = send(staff_api, "patch", f"{VENUES}/XFAST", {"throttlePerSecond": 250,
                                                            "name": ""})

    assert response.status_code == 200
    assert editable(response.json()) == {**CUSTOM, "throttlePerSecond": 250, "name": ""}
    assert stored("XFAST") == editable(response.json())


def test_patch_of_an_unknown_venue_is_404(staff_api):
    response = send(staff_api, "patch", f"{VENUES}/XNONE", {"name": "x"})
    assert_error(response, 404, "venue_not_found")
    assert not Venue.objects.filter(pk="XNONE").exists()


def test_patch_with_nothing_to_change_is_400(xfast, staff_api):
    assert_error(send(staff_api, "patch", f"{VENUES}/XFAST", {}), 400, "validation_error")


# --- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path,body", [
    ("get", VENUES, None), ("get", f"{VENUES}/XFAST", None),
    ("put", f"{VENUES}/XFAST", {"name": "x"}), ("put", f"{VENUES}/XNEW", {}),
    ("patch", f"{VENUES}/XFAST", {"name": "x"}),
])
def test_without_credentials_every_operation_is_401(xfast, method, path, body):
    api = APIClient()
    response = api.get(path) if body is None else send(api, method, path, body)

    assert_error(response, 401, "not_authenticated")
    assert list(Venue.objects.values_list("code", flat=True)) == ["XFAST"]
    assert stored("XFAST") == CUSTOM


@pytest.mark.parametrize("method,path,body", [
    ("put", f"{VENUES}/XFAST", {"name": "x"}), ("put", f"{VENUES}/XNEW", {}),
    ("patch", f"{VENUES}/XFAST", {"throttlePerSecond": 100_000}),
    ("patch", f"{VENUES}/XNONE", {"name": "x"}),
])
def test_a_client_user_may_read_but_not_change_venues(xfast, client_api, method, path, body):
    error = assert_error(send(client_api, method, path, body), 403, "permission_denied")

    assert "operators" in error["message"]
    assert list(Venue.objects.values_list("code", flat=True)) == ["XFAST"]
    assert stored("XFAST") == CUSTOM
    assert client_api.get(VENUES).status_code == 200
    assert client_api.get(f"{VENUES}/XFAST").status_code == 200


def test_the_change_is_logged_with_the_operator(xfast, staff_api, caplog):
    with caplog.at_level("INFO", logger="venues.services"):
        send(staff_api, "patch", f"{VENUES}/XFAST", {"heartbeatSeconds": 30})

    assert "venue XFAST changed by venue-op: ['heartbeat_seconds']" in caplog.text


@pytest.mark.parametrize("path", [f"{VENUES}/XFAST", f"{VENUES}/XNEW", VENUES])
def test_options_describes_the_resource_without_an_error(xfast, staff_api, path):
    assert staff_api.options(path).status_code == 200


@pytest.mark.parametrize("method,path", [
    ("post", VENUES), ("put", VENUES), ("patch", VENUES), ("delete", VENUES),
    ("post", f"{VENUES}/XFAST"), ("delete", f"{VENUES}/XFAST"),
])
def test_other_methods_are_a_json_405(xfast, staff_api, method, path):
    response = send(staff_api, method, path, {})

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"]
    assert Venue.objects.filter(pk="XFAST").exists()
