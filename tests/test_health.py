"""/healthz: each dependency the web process needs, checked; each venue's sessions, shown
(a venue logged out is the venue's state, not the web process's ill health)."""

from datetime import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from sessions.services import session_reconcile, session_record_logged_off, session_update
from tests.dispatch.conftest import in_process_venue  # noqa: F401  (fixture)
from venues.services import fix_session_acquire, fix_session_record

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_dependency_and_each_venues_sessions(client, in_process_venue):
    fix_session_acquire(venue_code="XMOCK", owner="holder-1", lease_seconds=10)
    fix_session_record(venue_code="XMOCK", owner="holder-1", state="LOGGED_ON", next_sender=42,
                       next_target=17)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["checks"]) == ("ok", {"database": "ok", "broker": "ok"})
    lease_until = body["venues"]["XMOCK"]["fixSession"].pop("leaseUntil")
    assert lease_until.endswith("Z")
    assert datetime.fromisoformat(lease_until.replace("Z", "+00:00")) > timezone.now()
    assert body["venues"] == {"XMOCK": {
        "desired": "LOGGED_ON", "state": "LOGGED_ON",
        "fixSession": {"state": "LOGGED_ON", "nextSenderSeqNum": 42, "nextTargetSeqNum": 17,
                       "owner": "holder-1"},
    }}


def test_a_venue_logged_out_is_shown_by_healthz_but_is_not_ill_health(client,
                                                                        in_process_venue):
    session_update(venue_code="XMOCK", actor="ops", override="CLOSED")
    session_reconcile(venue_code="XMOCK")
    session_record_logged_off(venue_code="XMOCK")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["venues"]["XMOCK"] == {
        "desired": "LOGGED_OUT", "state": "LOGGED_OUT",
        "fixSession": {"state": "DISCONNECTED", "nextSenderSeqNum": 1, "nextTargetSeqNum": 1,
                       "owner": "", "leaseUntil": None},
    }


def test_healthz_with_no_venue_yet_shows_none(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()["venues"]) == (200, {})


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_is_503_naming_the_broker_when_it_is_down(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unavailable"}
