"""Operators edit sessions and the kill switch in the admin; edits go through the services."""

import pytest
from django.test import Client

from sessions.models import (
    SessionEvent,
    SessionEventType,
    SessionOverride,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)
from sessions import services
from sessions.signals import trading_halt_changed
from tests.sessions.conftest import at

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/trading_sessions/venuesession/"
HALT = "/admin/trading_sessions/tradinghalt/"


@pytest.fixture
def admin_client_(desk_admin) -> Client:
    client = Client()
    client.force_login(desk_admin)
    return client


@pytest.fixture
def xnys(make_venue, clock):
    clock.set(at("2025-02-04T11:00-05:00"))
    return make_venue("XNYS")


def _form(**changes) -> dict:
    data = {
        "override": "",
        "time_zone": "America/New_York",
        "open_time": "09:30:00",
        "close_time": "16:00:00",
        "weekdays": ["1", "2", "3", "4", "5"],
        "holidays": "",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_changelist_and_change_pages_load(xnys, admin_client_):
    listing = admin_client_.get(SESSIONS)
    assert listing.status_code == 200
    assert b"XNYS" in listing.content

    page = admin_client_.get(f"{SESSIONS}XNYS/change/")
    assert page.status_code == 200
    assert b"America/New_York" in page.content


def test_the_pages_show_what_the_session_should_be_and_what_it_is(xnys, admin_client_):
    services.session_reconcile()  # in the window: a logon is wanted, not yet made

    listing = admin_client_.get(SESSIONS)
    assert b"column-desired" in listing.content and b"column-state" in listing.content
    [row] = listing.context["cl"].result_list
    assert (row.desired, row.state) == ("LOGGED_ON", "LOGGED_OUT")
    page = admin_client_.get(f"{SESSIONS}XNYS/change/")
    assert b"window open until 2025-02-04T21:00:00Z" in page.content  # desired's reason
    assert b"PENDING" in page.content  # the logon, in the history


def test_the_list_filters_on_what_the_session_should_be(xnys, admin_client_, make_venue):
    make_venue("XLON", override=SessionOverride.CLOSED)
    services.session_reconcile()

    response = admin_client_.get(SESSIONS, {"desired__exact": "LOGGED_ON"})

    assert [s.pk for s in response.context["cl"].result_list] == ["XNYS"]
    assert "desired" in [spec.field.name for spec in response.context["cl"].filter_specs]


def test_operator_forces_closed_and_adds_holidays(xnys, admin_client_, desk_admin):
    response = admin_client_.post(
        f"{SESSIONS}XNYS/change/",
        _form(override="CLOSED", holidays="2025-12-25\n2025-07-04"),
    )

    assert response.status_code == 302
    session = VenueSession.objects.get(pk="XNYS")
    assert session.override == SessionOverride.CLOSED
    assert session.holidays == ["2025-07-04", "2025-12-25"]
    latest = SessionEvent.objects.filter(session_id="XNYS").latest("id")
    assert (latest.type, latest.actor) == (SessionEventType.UPDATED, desk_admin.username)


def test_an_invalid_schedule_is_shown_as_an_error_and_not_saved(xnys, admin_client_):
    response = admin_client_.post(
        f"{SESSIONS}XNYS/change/", _form(open_time="16:00:00", time_zone="Nowhere/Land")
    )

    assert response.status_code == 200  # the form again, with errors
    assert b"not an IANA time zone" in response.content
    session = VenueSession.objects.get(pk="XNYS")
    assert (session.time_zone, str(session.open_time)) == ("America/New_York", "09:30:00")


def test_force_open_action(xnys, admin_client_):
    response = admin_client_.post(
        SESSIONS, {"action": "force_open", "_selected_action": ["XNYS"]}
    )
    assert response.status_code == 302
    assert VenueSession.objects.get(pk="XNYS").override == SessionOverride.OPEN


def test_halt_switch_loads_and_is_flipped_through_the_admin(db, admin_client_):
    listing = admin_client_.get(HALT)
    assert listing.status_code == 302
    page = admin_client_.get(listing.url)
    assert page.status_code == 200

    response = admin_client_.post(
        listing.url,
        {"halted": "on", "reason": "venue outage", "events-TOTAL_FORMS": "0",
         "events-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 302
    halt = TradingHalt.objects.get()
    assert (halt.halted, halt.reason, halt.changed_by) == (True, "venue outage", "desk-admin")
    assert TradingHaltEvent.objects.count() == 1


def _halt_form(**fields) -> dict:
    return {"reason": "", "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", **fields}


def test_the_halt_form_asks_for_open_orders_to_be_cancelled(db, admin_client_):
    heard = []

    def listener(sender, **kwargs):
        heard.append((kwargs["halted"], kwargs["cancel_open_orders"], kwargs["actor"]))

    url = admin_client_.get(HALT).url
    assert b"cancel_open_orders" in admin_client_.get(url).content
    trading_halt_changed.connect(listener)
    try:
        response = admin_client_.post(url, _halt_form(halted="on", reason="runaway algo",
                                                      cancel_open_orders="on"))
    finally:
        trading_halt_changed.disconnect(listener)

    assert response.status_code == 302
    assert heard == [(True, True, "desk-admin")]


def test_cancelling_open_orders_without_halting_is_a_form_error(db, admin_client_):
    url = admin_client_.get(HALT).url
    response = admin_client_.post(url, _halt_form(cancel_open_orders="on"))

    assert response.status_code == 200  # the form again, with the error on the checkbox
    assert response.context["adminform"].form.errors["cancel_open_orders"]
    assert not TradingHaltEvent.objects.exists()


def test_halting_in_the_admin_needs_a_reason(db, admin_client_):
    url = admin_client_.get(HALT).url
    response = admin_client_.post(
        url, {"halted": "on", "reason": "", "events-TOTAL_FORMS": "0",
              "events-INITIAL_FORMS": "0"}
    )
    assert response.status_code == 200
    assert not TradingHalt.objects.get().halted


def test_a_client_cannot_open_the_admin(xnys, client_user):
    client = Client()
    client.force_login(client_user)
    response = client.get(SESSIONS)
    assert response.status_code == 302
    assert "/login/" in response.url
