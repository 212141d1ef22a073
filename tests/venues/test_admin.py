"""Operators configure venues in the admin, with the API's rules (venues.services); the FIX
session's record is shown, never edited, added or deleted there."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from sessions.models import VenueSession
from tests.factories import OperatorFactory, UserFactory
from tests.venues.admin_form import venue_admin_form
from venues import services
from venues.models import FixSession, FixSessionState, Venue

pytestmark = pytest.mark.django_db

VENUES = "/admin/venues/venue/"
FIX_SESSIONS = "/admin/venues/fixsession/"
CUSTOM = {
    "name": "Fast venue", "fix_host": "fix.example.com", "fix_port": 4000,
    "sender_comp_id": "DESK1", "target_comp_id": "FASTX", "heartbeat_seconds": 60,
    "throttle_per_second": 500, "reset_seq_num_on_logon": True,
    "maker_fee_per_share": Decimal("-0.0025"), "taker_fee_per_share": Decimal("0.003"),
}


@pytest.fixture
def xfast(db):
    venue, _ = services.venue_put(code="XFAST", actor="tests", **CUSTOM)
    # What a holder recorded: logged on, 11 messages out and 8 in.
    assert services.fix_session_acquire(venue_code="XFAST", owner="host-1:42", lease_seconds=5)
    services.fix_session_record(venue_code="XFAST", owner="host-1:42",
                                state=FixSessionState.LOGGED_ON, next_sender=12, next_target=9)
    return venue


@pytest.fixture
def desk_admin(db):
    return OperatorFactory(username="desk-admin")  # staff and superuser


@pytest.fixture
def admin_browser(desk_admin) -> Client:
    browser = Client()
    browser.force_login(desk_admin)
    return browser


def config(code: str) -> dict:
    venue = Venue.objects.get(pk=code)
    return {field: getattr(venue, field) for field in services.EDITABLE_FIELDS}


def errors_of(response) -> str:
    """The form's error messages, as the page shows them."""
    form = response.context["adminform"].form
    return " ".join(str(problem) for problems in form.errors.values() for problem in problems)


# --- the list and the pages ----------------------------------------------------------------


def test_the_list_shows_the_configuration_and_both_sessions(xfast, admin_browser):
    response = admin_browser.get(VENUES)

    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("XFAST", "Fast venue", "500", "-0.0025", "0.003", "fix.example.com:4000",
                  "DESK1 -&gt; FASTX", "60", "LOGGED_OUT", "LOGGED_ON", "12 / 9"):
        assert shown in page, shown


def test_the_list_reads_both_sessions_without_a_query_per_venue(
    xfast, admin_browser, django_assert_max_num_queries
):
    for code in ("XA", "XB", "XC"):
        services.venue_put(code=code, actor="tests")
    admin_browser.get(VENUES)  # warm: the session, permissions

    with django_assert_max_num_queries(8):
        assert admin_browser.get(VENUES).status_code == 200


def test_the_change_page_shows_the_fix_session_read_only(xfast, admin_browser):
    response = admin_browser.get(f"{VENUES}XFAST/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "host-1:42" in page and "12 / 9" in page
    form = response.context["adminform"].form
    assert set(form.fields) == set(services.EDITABLE_FIELDS)  # nothing of the FIX session
    assert "code" not in form.fields  # the code is the venue's identity


def test_an_operator_changes_the_fix_settings_through_the_services(xfast, admin_browser, caplog):
    data = venue_admin_form(xfast, heartbeat_seconds=45, fix_port=4001,
                            reset_seq_num_on_logon=False)

    with caplog.at_level("INFO", logger="venues.services"):
        response = admin_browser.post(f"{VENUES}XFAST/change/", data)

    assert response.status_code == 302, errors_of(response)
    assert config("XFAST") == {**CUSTOM, "heartbeat_seconds": 45, "fix_port": 4001,
                               "reset_seq_num_on_logon": False}
    assert "venue XFAST changed by desk-admin" in caplog.text
    # The FIX session's record is untouched by a configuration change.
    record = FixSession.objects.get(pk="XFAST")
    assert (record.next_sender_seq, record.owner) == (12, "host-1:42")


def test_the_change_page_shows_the_fees_as_the_api_writes_them(xfast, admin_browser):
    form = admin_browser.get(f"{VENUES}XFAST/change/").context["adminform"].form

    assert (form.initial["maker_fee_per_share"], form.initial["taker_fee_per_share"]) == (
        "-0.0025", "0.003")


def test_an_operator_sets_the_fees_through_the_services(xfast, admin_browser):
    data = venue_admin_form(xfast, maker_fee_per_share="-0.0032", taker_fee_per_share="0.001")

    response = admin_browser.post(f"{VENUES}XFAST/change/", data)

    assert response.status_code == 302, errors_of(response)
    assert config("XFAST") == {**CUSTOM, "maker_fee_per_share": Decimal("-0.0032"),
                               "taker_fee_per_share": Decimal("0.001")}


def test_an_empty_target_comp_id_means_the_venues_code(xfast, admin_browser):
    response = admin_browser.post(f"{VENUES}XFAST/change/",
                                  venue_admin_form(xfast, target_comp_id=""))

    assert response.status_code == 302
    assert config("XFAST")["target_comp_id"] == "XFAST"


@pytest.mark.parametrize("field,inside,outside", [
    ("fix_port", 65535, 65536),
    ("fix_port", 1, 0),
    ("heartbeat_seconds", 300, 301),
    ("heartbeat_seconds", 1, 0),
    ("throttle_per_second", 1, 0),
    ("throttle_per_second", 100_000, 100_001),
    ("sender_comp_id", "S" * 64, "S" * 65),
    ("sender_comp_id", "DESK.1", "DESK 1"),
    ("target_comp_id", "FAST_X", "FAST|X"),
    ("fix_host", "fix-1.example.com", "fix.example.com:4000"),
    ("fix_host", "10.0.0.1", "10.0.0.256"),
    ("maker_fee_per_share", Decimal("-999999.999999"), "-1000000"),
    ("taker_fee_per_share", Decimal("0.000001"), "0.0000001"),
])
def test_the_form_applies_the_apis_rules_at_each_boundary(
    xfast, admin_browser, field, inside, outside
):
    url = f"{VENUES}XFAST/change/"

    refused = admin_browser.post(url, venue_admin_form(xfast, **{field: outside}))
    assert refused.status_code == 200
    assert list(refused.context["adminform"].form.errors) == [field]
    assert config("XFAST") == CUSTOM

    assert admin_browser.post(url, venue_admin_form(xfast, **{field: inside})).status_code == 302
    assert config("XFAST")[field] == inside


def test_the_form_refuses_another_venues_fix_session_naming_it(xfast, admin_browser):
    other, _ = services.venue_put(code="XTWO", actor="tests", **{**CUSTOM,
                                                                 "target_comp_id": "OTHER"})

    response = admin_browser.post(f"{VENUES}XTWO/change/",
                                  venue_admin_form(other, target_comp_id="FASTX"))

    assert response.status_code == 200
    [problem] = response.context["adminform"].form.non_field_errors()  # said once, not twice
    assert "XFAST" in problem
    assert config("XTWO")["target_comp_id"] == "OTHER"


def test_an_operator_adds_a_venue_with_the_defaults_and_its_sessions(admin_browser, settings):
    settings.OMS_FIX_HEARTBEAT_SECONDS = 7
    page = admin_browser.get(f"{VENUES}add/")
    assert page.status_code == 200
    initial = page.context["adminform"].form.initial
    assert (initial["heartbeat_seconds"], initial["fix_port"]) == (7, settings.OMS_FIX_PORT)

    data = venue_admin_form(**{**services.venue_defaults(code="XNEW"), "code": "XNEW",
                               "target_comp_id": "", "name": "New venue"})
    response = admin_browser.post(f"{VENUES}add/", data)

    assert response.status_code == 302, errors_of(response)
    assert config("XNEW") == {**services.venue_defaults(code="XNEW"), "name": "New venue"}
    assert VenueSession.objects.filter(pk="XNEW").exists()
    assert FixSession.objects.filter(pk="XNEW").exists()


@pytest.mark.parametrize("code,problem", [("XFAST", "already exists"), ("xnew", "Upper-case"),
                                          ("X", "Upper-case")])
def test_adding_a_bad_or_taken_code_is_refused(xfast, admin_browser, code, problem):
    data = venue_admin_form(**{**services.venue_defaults(code=code), "code": code})

    response = admin_browser.post(f"{VENUES}add/", data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["code"]
    assert problem in errors_of(response)
    assert list(Venue.objects.values_list("code", flat=True)) == ["XFAST"]
    assert config("XFAST") == CUSTOM


def test_venues_are_not_deleted_in_the_admin(xfast, admin_browser):
    assert admin_browser.post(f"{VENUES}XFAST/delete/", {"post": "yes"}).status_code == 403
    assert Venue.objects.filter(pk="XFAST").exists()


# --- the FIX session's own page: read only ------------------------------------------------


def test_the_fix_session_page_is_read_only(xfast, admin_browser):
    listing = admin_browser.get(FIX_SESSIONS)
    assert listing.status_code == 200
    assert "host-1:42" in listing.content.decode()
    assert not listing.context["has_add_permission"]

    page = admin_browser.get(f"{FIX_SESSIONS}XFAST/change/")
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert not page.context["has_delete_permission"]

    admin_browser.post(f"{FIX_SESSIONS}XFAST/change/", {"next_sender_seq": "1", "owner": ""})
    assert admin_browser.get(f"{FIX_SESSIONS}add/").status_code == 403
    assert admin_browser.post(f"{FIX_SESSIONS}XFAST/delete/", {"post": "yes"}).status_code == 403
    record = FixSession.objects.get(pk="XFAST")
    assert (record.next_sender_seq, record.next_target_seq, record.owner) == (12, 9, "host-1:42")


# --- staff only ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [VENUES, f"{VENUES}XFAST/change/", f"{VENUES}add/",
                                 FIX_SESSIONS, f"{FIX_SESSIONS}XFAST/change/"])
def test_anonymous_and_client_users_are_sent_to_the_login(xfast, client, url):
    client_user = UserFactory(username="client-prog")
    for who in (None, client_user):
        if who is not None:
            client.force_login(who)
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], who


def test_a_client_user_cannot_change_a_venue(xfast, client):
    client.force_login(UserFactory(username="client-prog"))

    response = client.post(f"{VENUES}XFAST/change/",
                           venue_admin_form(xfast, throttle_per_second=100_000))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert config("XFAST") == CUSTOM


def test_staff_need_the_venue_permissions(xfast, client):
    staff = UserFactory(username="viewer", is_staff=True)
    client.force_login(staff)
    assert client.get(VENUES).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_venue"))
    assert client.get(VENUES).status_code == 200
    response = client.post(f"{VENUES}XFAST/change/", venue_admin_form(xfast, name="Changed"))
    assert response.status_code == 403
    assert config("XFAST") == CUSTOM

    staff.user_permissions.add(Permission.objects.get(codename="change_venue"))
    response = client.post(f"{VENUES}XFAST/change/", venue_admin_form(xfast, name="Changed"))
    assert response.status_code == 302
    assert config("XFAST")["name"] == "Changed"
