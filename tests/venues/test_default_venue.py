"""The configured default venue exists once the database is migrated (venues/receivers.py):
an operator sees it, and its trading session, and can set the schedule before any order.

The suite's settings turn this off (omsproject/test_settings.py: tests make their own venues);
each test here turns it on and runs `migrate` as a deployment does. With every migration
applied, `migrate` has nothing to apply but still sends post_migrate, as after a fresh one.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command

from omsproject.decimals import decimal_text
from omsproject.demo_venues import DEMO_VENUES, oms_demo_venues, parse_oms_demo_venues
from tests.venues.api_fixtures import staff_api  # noqa: F401  (a fixture)
from venues.services import venue_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_migrate(settings):
    settings.OMS_DEFAULT_VENUE_ON_MIGRATE = True
    settings.OMS_DEFAULT_VENUE = "XDEMO"
    settings.OMS_FIX_HOST = "fix.example.test"
    settings.OMS_FIX_PORT = 9999
    settings.OMS_SENDER_COMP_ID = "DESK"
    settings.OMS_THROTTLE_PER_SECOND = 40
    settings.OMS_DEMO_VENUES = {}
    return settings


def migrate() -> None:
    call_command("migrate", verbosity=0, interactive=False)


def test_after_migrate_the_default_venue_and_its_session_are_listed(on_migrate, staff_api):
    assert staff_api.get("/api/v1/sessions").json() == []  # a fresh database

    migrate()

    [session] = staff_api.get("/api/v1/sessions").json()
    assert session["venue"] == "XDEMO"
    assert session["schedule"]["timeZone"]
    [venue] = staff_api.get("/api/v1/venues").json()
    assert venue["code"] == "XDEMO"
    assert (venue["fixHost"], venue["fixPort"], venue["senderCompId"], venue["targetCompId"],
            venue["throttlePerSecond"]) == ("fix.example.test", 9999, "DESK", "XDEMO", 40)
    assert venue["session"]["desired"]
    assert venue["fixSession"]["state"]


def test_an_operator_sets_the_schedule_before_any_order(on_migrate, staff_api):
    migrate()

    response = staff_api.patch("/api/v1/sessions/XDEMO", {"override": "CLOSED"},
                               format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["override"] == "CLOSED"


def test_migrate_again_keeps_what_operators_changed(on_migrate, staff_api):
    migrate()
    venue_update(code="XDEMO", actor="desk", fix_port=9100, name="Demo")

    migrate()

    [venue] = staff_api.get("/api/v1/venues").json()
    assert (venue["code"], venue["fixPort"], venue["name"]) == ("XDEMO", 9100, "Demo")


def test_turned_off_migrate_creates_no_venue(on_migrate, staff_api):
    on_migrate.OMS_DEFAULT_VENUE_ON_MIGRATE = False

    migrate()

    assert staff_api.get("/api/v1/venues").json() == []


def test_migrate_creates_the_demo_venues_each_with_its_send_limit_and_sessions(
    on_migrate, staff_api
):
    # As `./oms run` sets them (omsproject/demo_venues.py): XMOCK:100,XFAST:200,XSLOW:50.
    on_migrate.OMS_DEMO_VENUES = parse_oms_demo_venues(oms_demo_venues(), 40)
    on_migrate.OMS_DEFAULT_VENUE = "XMOCK"

    migrate()
    migrate()  # again: nothing changes

    venues = {v["code"]: v for v in staff_api.get("/api/v1/venues").json()}
    assert {code: v["throttlePerSecond"] for code, v in venues.items()} == {
        "XMOCK": 100, "XFAST": 200, "XSLOW": 50}
    # The fees the exchange charges there (one table: omsproject/demo_venues.py).
    assert {code: (v["makerFeePerShare"], v["takerFeePerShare"])
            for code, v in venues.items()} == {
        code: (decimal_text(Decimal(fields["makerFeePerShare"])),
               decimal_text(Decimal(fields["takerFeePerShare"])))
        for code, fields in DEMO_VENUES.items()}
    assert venues["XSLOW"]["makerFeePerShare"] == "-0.0032"
    for code, venue in venues.items():  # each its own FIX session at the one acceptor
        assert (venue["fixHost"], venue["fixPort"], venue["senderCompId"],
                venue["targetCompId"]) == ("fix.example.test", 9999, "DESK", code)
        assert venue["fixSession"]["state"]
    sessions = staff_api.get("/api/v1/sessions").json()
    assert sorted(s["venue"] for s in sessions) == ["XFAST", "XMOCK", "XSLOW"]


def test_a_bare_demo_venue_gets_the_default_send_limit_and_no_fees():
    assert parse_oms_demo_venues("XA:7, XB ,", 40) == {"XA": {"throttle_per_second": 7},
                                                      "XB": {"throttle_per_second": 40}}


def test_a_venue_of_the_demo_table_gets_its_fees_with_the_limit_given():
    assert parse_oms_demo_venues("XFAST:9", 40) == {"XFAST": {
        "throttle_per_second": 9, "maker_fee_per_share": Decimal("-0.0010"),
        "taker_fee_per_share": Decimal("0.0035")}}
