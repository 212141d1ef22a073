"""GET/PATCH /api/v1/sessions and GET/PUT /api/v1/halt."""

import pytest

from sessions import services
from sessions.models import (
    SessionEvent,
    SessionEventType,
    SessionOverride,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)
from tests.sessions.conftest import at

pytestmark = pytest.mark.django_db

SATURDAY = "2025-03-08T12:00-05:00"  # DST starts the next day


@pytest.fixture
def xnys(make_venue, clock):
    clock.set(at(SATURDAY))
    return make_venue("XNYS", holidays=["2025-12-25"])


def test_any_signed_in_user_lists_the_sessions(xnys, client_api):
    response = client_api.get("/api/v1/sessions")

    assert response.status_code == 200
    [session] = response.json()
    assert session == {
        "venue": "XNYS",
        "schedule": {
            "timeZone": "America/New_York",
            "openTime": "09:30:00",
            "closeTime": "16:00:00",
            "weekdays": [1, 2, 3, 4, 5],
            "holidays": ["2025-12-25"],
            "calendar": "",
        },
        "state": "LOGGED_OUT",
        "stateChangedAt": session["stateChangedAt"],
        "desired": "LOGGED_OUT",
        "override": None,
        "halted": False,
        "killSwitch": False,
        "killSwitchReason": "",
        "isOpen": False,
        "windowOpen": False,
        "nextOpen": "2025-03-10T13:30:00Z",
        "nextClose": "2025-03-10T20:00:00Z",
    }


def test_detail_shows_the_session_and_its_history(xnys, client_api):
    response = client_api.get("/api/v1/sessions/XNYS")

    assert response.status_code == 200
    body = response.json()
    assert body["venue"] == "XNYS"
    assert body["nextOpen"] == "2025-03-10T13:30:00Z"
    assert [event["type"] for event in body["recentEvents"]] == ["UPDATED", "CREATED"]


def test_desired_is_what_reconcile_recorded_and_state_what_the_holder_did(xnys, client_api,
                                                                         clock):
    clock.set(at("2025-03-10T10:00-04:00"))  # Monday, in the window
    body = client_api.get("/api/v1/sessions/XNYS").json()
    # Reconcile has not run yet: the window is open, nothing recorded yet.
    assert (body["windowOpen"], body["isOpen"], body["desired"], body["state"]) == (
        True, True, "LOGGED_OUT", "LOGGED_OUT")

    services.session_reconcile()
    body = client_api.get("/api/v1/sessions/XNYS").json()
    assert (body["desired"], body["state"]) == ("LOGGED_ON", "LOGGED_OUT")
    logon = body["recentEvents"][0]
    assert (logon["type"], logon["result"], logon["createdAt"]) == (
        "LOGON", "PENDING", "2025-03-10T14:00:00Z")

    services.session_record_logon(venue_code="XNYS")
    body = client_api.get("/api/v1/sessions/XNYS").json()
    assert (body["desired"], body["state"]) == ("LOGGED_ON", "LOGGED_ON")
    assert body["recentEvents"][0]["result"] == "ACKNOWLEDGED"


def test_the_schema_says_what_the_sessions_api_returns(xnys, client_api):
    schema = client_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = schema.json()["components"]["schemas"]

    def enum_of(prop: dict) -> set:
        ref = prop["allOf"][0]["$ref"] if "allOf" in prop else prop["$ref"]
        return set(components[ref.rsplit("/", 1)[1]]["enum"])

    listed = client_api.get("/api/v1/sessions").json()[0]
    detail = client_api.get("/api/v1/sessions/XNYS").json()
    for body, name in ((listed, "SessionOutput"), (detail, "SessionDetailOutput")):
        component = components[name]
        assert set(component["properties"]) == set(body)
        assert set(component["required"]) == set(body)
    properties = components["SessionOutput"]["properties"]
    assert enum_of(properties["desired"]) == {"LOGGED_ON", "LOGGED_OUT"}
    assert enum_of(properties["state"]) == {
        "LOGGED_OUT", "LOGGING_ON", "LOGGED_ON", "LOGGING_OFF"}
    assert listed["desired"] in enum_of(properties["desired"])
    assert listed["state"] in enum_of(properties["state"])

    halt_in = components["TradingHaltInputRequest"]["properties"]
    assert halt_in["cancelOpenOrders"] == {**halt_in["cancelOpenOrders"], "type": "boolean",
                                           "default": False}
    halt_out = client_api.get("/api/v1/halt").json()
    assert set(components["TradingHaltOutput"]["properties"]) == set(halt_out)


def test_unknown_venue_is_404_in_the_error_format(db, client_api):
    response = client_api.get("/api/v1/sessions/NOPE")
    assert response.status_code == 404
    assert response.json()["code"] == "venue_not_found"


def test_anonymous_callers_are_refused(xnys):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/sessions").status_code == 401


def test_operator_forces_a_venue_open(xnys, staff_api, desk_operator):
    response = staff_api.patch("/api/v1/sessions/XNYS", {"override": "OPEN"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["override"] == "OPEN"
    assert body["isOpen"] is True
    assert body["windowOpen"] is False
    assert VenueSession.objects.get(pk="XNYS").override == SessionOverride.OPEN
    latest = SessionEvent.objects.filter(session_id="XNYS").latest("id")
    assert (latest.type, latest.actor) == (SessionEventType.UPDATED, desk_operator.username)


def test_operator_clears_the_override_with_null(make_venue, clock, staff_api):
    clock.set(at(SATURDAY))
    make_venue("XNYS", override=SessionOverride.CLOSED)

    response = staff_api.patch("/api/v1/sessions/XNYS", {"override": None}, format="json")

    assert response.status_code == 200
    assert response.json()["override"] is None
    assert VenueSession.objects.get(pk="XNYS").override is None


def test_operator_changes_the_schedule(xnys, staff_api):
    # Saturday 12:00 in New York is 17:00 in London: inside a Saturday 08:00-18:00 window.
    response = staff_api.patch(
        "/api/v1/sessions/XNYS",
        {"schedule": {"timeZone": "Europe/London", "openTime": "08:00", "closeTime": "18:00",
                      "weekdays": [1, 2, 3, 4, 5, 6]}},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["schedule"] == {
        "timeZone": "Europe/London",
        "openTime": "08:00:00",
        "closeTime": "18:00:00",
        "weekdays": [1, 2, 3, 4, 5, 6],
        "holidays": ["2025-12-25"],  # not given, so kept
        "calendar": "",
    }
    assert body["isOpen"] is True
    assert body["nextClose"] == "2025-03-08T18:00:00Z"
    assert body["nextOpen"] == "2025-03-10T08:00:00Z"


def test_client_may_not_change_a_session(xnys, client_api):
    response = client_api.patch("/api/v1/sessions/XNYS", {"override": "OPEN"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert VenueSession.objects.get(pk="XNYS").override is None


@pytest.mark.parametrize(
    "payload",
    [
        {"override": "MAYBE"},
        {"override": "open"},
        {"overide": "OPEN"},
        {},
        {"schedule": {}},
        {"schedule": {"timeZone": "Mars/Olympus_Mons"}},
        {"schedule": {"openTime": "16:00"}},
        {"schedule": {"weekdays": [0]}},
        {"schedule": {"holidays": ["25/12/2025"]}},
        {"schedule": {"closingTime": "17:00"}},
        {"schedule": {"calendar": "XNAS-ISH"}},
        {"schedule": {"calendar": "xnys"}},
    ],
)
def test_invalid_patch_is_400_and_changes_nothing(xnys, staff_api, payload):
    before = VenueSession.objects.values().get(pk="XNYS")

    response = staff_api.patch("/api/v1/sessions/XNYS", payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in {"validation_error", "invalid"}
    assert VenueSession.objects.values().get(pk="XNYS") == before


def test_halt_is_readable_by_anyone_and_set_by_operators(xnys, client_api, staff_api):
    assert client_api.get("/api/v1/halt").json()["halted"] is False

    refused = client_api.put("/api/v1/halt", {"halted": True, "reason": "x"}, format="json")
    assert refused.status_code == 403

    response = staff_api.put(
        "/api/v1/halt", {"halted": True, "reason": "fat finger"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["halted"] is True
    assert response.json()["changedBy"] == "desk-op"

    [session] = client_api.get("/api/v1/sessions").json()
    assert session["halted"] is True
    assert session["isOpen"] is False
    assert TradingHaltEvent.objects.get().actor == "desk-op"


def test_a_halt_leaves_sessions_logged_on(make_venue, clock, client_api, staff_api):
    clock.set(at("2025-03-10T10:00-04:00"))
    make_venue("XNYS")
    services.session_reconcile()
    services.session_record_logon(venue_code="XNYS")

    staff_api.put("/api/v1/halt", {"halted": True, "reason": "outage"}, format="json")
    services.session_reconcile()

    [session] = client_api.get("/api/v1/sessions").json()
    assert (session["halted"], session["isOpen"], session["windowOpen"]) == (True, False, True)
    assert (session["desired"], session["state"]) == ("LOGGED_ON", "LOGGED_ON")


def test_cancelling_open_orders_is_only_for_a_halt(xnys, staff_api):
    response = staff_api.put(
        "/api/v1/halt", {"halted": False, "cancelOpenOrders": True}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "cancelOpenOrders" in response.json()["details"]
    assert not TradingHaltEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"halted": "yes", "reason": "x"},
        {"halted": True, "reason": "x", "cancelOpenOrders": "true"},
        {"halted": True, "reason": "x", "cancelOpenOrders": None},
        {"halted": True, "reason": "x", "cancel_open_orders": True},
        {"halted": True, "reason": "x" * 201},
    ],
)
def test_an_invalid_halt_is_400_and_changes_nothing(xnys, staff_api, payload):
    response = staff_api.put("/api/v1/halt", payload, format="json")

    assert response.status_code == 400
    assert not TradingHalt.objects.get().halted
    assert not TradingHaltEvent.objects.exists()


def test_halting_without_a_reason_is_400(xnys, staff_api):
    response = staff_api.put("/api/v1/halt", {"halted": True}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["details"]
    assert staff_api.get("/api/v1/halt").json()["halted"] is False
