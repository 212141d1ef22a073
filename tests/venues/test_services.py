"""Venue configuration through venues.services: create or replace (venue_put), change
(venue_update), check without saving (venue_clean), and every rule at its boundary."""

from decimal import Decimal

import pytest
from django.conf import settings

from omsproject.errors import InvalidInput
from sessions.errors import VenueNotFound
from sessions.models import SessionState, VenueSession
from venues import services
from venues.models import FixSession, FixSessionState, Venue

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "name": "",
    "throttle_per_second": 77,
    "fix_host": "fix.example.net",
    "fix_port": 9123,
    "sender_comp_id": "OMSDESK",
    "heartbeat_seconds": 7,
    "reset_seq_num_on_logon": False,
    "maker_fee_per_share": Decimal(0),
    "taker_fee_per_share": Decimal(0),
}
CUSTOM = {
    "name": "Fast venue",
    "throttle_per_second": 500,
    "fix_host": "10.1.2.3",
    "fix_port": 4000,
    "sender_comp_id": "DESK1",
    "target_comp_id": "FASTX",
    "heartbeat_seconds": 60,
    "reset_seq_num_on_logon": True,
    "maker_fee_per_share": Decimal("-0.0025"),
    "taker_fee_per_share": Decimal("0.003"),
}


@pytest.fixture(autouse=True)
def distinct_defaults(settings):
    """Defaults no field has by chance: a default restored can only come from the settings."""
    settings.OMS_THROTTLE_PER_SECOND = DEFAULTS["throttle_per_second"]
    settings.OMS_FIX_HOST = DEFAULTS["fix_host"]
    settings.OMS_FIX_PORT = DEFAULTS["fix_port"]
    settings.OMS_SENDER_COMP_ID = DEFAULTS["sender_comp_id"]
    settings.OMS_FIX_HEARTBEAT_SECONDS = DEFAULTS["heartbeat_seconds"]


def config(venue: Venue) -> dict:
    venue.refresh_from_db()
    return {field: getattr(venue, field) for field in services.EDITABLE_FIELDS}


def put(code="XNEW", **fields):
    return services.venue_put(code=code, actor="tests", **fields)


def refused(call, **kwargs) -> dict:
    with pytest.raises(InvalidInput) as caught:
        call(**kwargs)
    return caught.value.details


# --- create, replace, change -------------------------------------------------------------


def test_put_creates_a_venue_with_the_defaults_a_trading_session_and_a_fix_session():
    venue, created = put("XNEW")

    assert created is True
    assert config(venue) == {**DEFAULTS, "target_comp_id": "XNEW"}
    session = VenueSession.objects.get(pk="XNEW")
    assert (session.state, session.desired) == (SessionState.LOGGED_OUT, SessionState.LOGGED_OUT)
    assert session.weekdays == [1, 2, 3, 4, 5, 6, 7]  # the default (demo) schedule
    record = FixSession.objects.get(pk="XNEW")
    assert (record.state, record.next_sender_seq, record.next_target_seq) == (
        FixSessionState.DISCONNECTED, 1, 1)


def test_put_replaces_every_field_and_restores_the_defaults_of_those_not_given():
    venue, _ = put("XNEW", **CUSTOM)
    assert config(venue) == CUSTOM

    venue, created = put("XNEW", name="Renamed")

    assert created is False
    assert config(venue) == {**DEFAULTS, "name": "Renamed", "target_comp_id": "XNEW"}


def test_put_without_replace_leaves_an_existing_venue_as_it_is():
    put("XNEW", **CUSTOM)

    venue, created = services.venue_put(code="XNEW", actor="tests", replace=False, name="Other")

    assert created is False
    assert config(venue) == CUSTOM


def test_replacing_keeps_the_trading_session_and_the_fix_sessions_sequence_numbers():
    put("XNEW")
    FixSession.objects.filter(pk="XNEW").update(next_sender_seq=41, next_target_seq=17)
    session_id = VenueSession.objects.get(pk="XNEW").pk

    put("XNEW", fix_port=4001)

    record = FixSession.objects.get(pk="XNEW")
    assert (record.next_sender_seq, record.next_target_seq) == (41, 17)
    assert VenueSession.objects.get(pk="XNEW").pk == session_id


def test_update_changes_only_the_fields_given():
    venue, _ = put("XNEW", **CUSTOM)

    services.venue_update(code="XNEW", actor="tests", heartbeat_seconds=45, name="")

    assert config(venue) == {**CUSTOM, "heartbeat_seconds": 45, "name": ""}


def test_update_of_an_unknown_venue_is_venue_not_found():
    with pytest.raises(VenueNotFound):
        services.venue_update(code="XNONE", actor="tests", name="x")


@pytest.mark.parametrize("call", [services.venue_put, services.venue_update])
def test_unknown_fields_are_refused(call):
    put("XNEW")

    details = refused(call, code="XNEW", actor="tests", code_name="x", created_at=None)

    assert details == {"code_name": ["Unknown field."], "created_at": ["Unknown field."]}


def test_the_default_venue_is_created_once_from_the_settings():
    first = services.venue_get_or_create_default()
    services.venue_update(code=first.pk, actor="tests", throttle_per_second=5)

    again = services.venue_get_or_create_default()

    assert first.pk == again.pk == settings.OMS_DEFAULT_VENUE
    assert again.throttle_per_second == 5


# --- each rule at its boundary -----------------------------------------------------------

# (field, the last value inside, the first value outside)
BOUNDARIES = [
    ("fix_port", 1, 0),
    ("fix_port", 65535, 65536),
    ("heartbeat_seconds", 1, 0),
    ("heartbeat_seconds", 300, 301),
    ("throttle_per_second", 1, 0),
    ("throttle_per_second", 100_000, 100_001),
    ("sender_comp_id", "S" * 64, "S" * 65),
    ("target_comp_id", "T" * 64, "T" * 65),
    ("sender_comp_id", "a.B_c-9", "A B"),
    ("sender_comp_id", "OMS", "OMS\x01"),
    ("target_comp_id", "XNEW", "X|NEW"),
    ("target_comp_id", "X", ""),
    ("name", "N" * 100, "N" * 101),
    ("name", "", "bad\x00name"),
    ("fix_host", "h" * 63 + ".example", "h" * 64 + ".example"),
    ("maker_fee_per_share", Decimal("-999999.999999"), Decimal(-1_000_000)),
    ("taker_fee_per_share", Decimal("0.000001"), Decimal("0.0000001")),
]


@pytest.mark.parametrize("field,inside,outside", BOUNDARIES)
def test_each_rule_passes_just_inside_and_refuses_just_outside(field, inside, outside):
    venue, _ = put("XNEW", **CUSTOM)

    services.venue_update(code="XNEW", actor="tests", **{field: inside})
    assert config(venue)[field] == inside

    details = refused(services.venue_update, code="XNEW", actor="tests", **{field: outside})
    assert list(details) == [field]
    assert config(venue)[field] == inside  # unchanged


@pytest.mark.parametrize("host", [
    "127.0.0.1", "10.0.0.255", "::1", "fe80::1", "localhost", "exchange", "fix-1.example.com",
    "fix.example.com.", "fix_gw.internal", "a" * 63, ".".join(["a" * 63] * 3) + "." + "b" * 61,
])
def test_a_host_name_or_ip_address_is_accepted(host):
    venue, _ = put("XNEW", fix_host=host)
    assert config(venue)["fix_host"] == host


@pytest.mark.parametrize("host", [
    "", " ", "fix host", "host:9878", "http://fix.example.com", "fix.example.com/x", "a..b",
    ".", "..", "-fix.example.com", "fix-.example.com", "fix.-example.com", "256.1.1.1",
    "1.2.3", "[::1]", ":::1", "h" * 64, ".".join(["a" * 63] * 3) + "." + "b" * 62,
    "fix\x00host", "fix\u00e9.example",
])
def test_a_bad_host_is_refused_naming_the_field(host):
    assert refused(put, code="XNEW", fix_host=host).keys() == {"fix_host"}
    assert not Venue.objects.filter(pk="XNEW").exists()


def test_a_host_name_is_at_most_253_characters():
    longest = ".".join(["a" * 63] * 3) + "." + "b" * 61
    assert len(longest) == 253
    put("XNEW", fix_host=longest)

    assert refused(services.venue_update, code="XNEW", actor="tests",
                   fix_host=longest + "b").keys() == {"fix_host"}


def test_the_port_belongs_in_fix_port_not_in_the_host():
    [problem] = refused(put, code="XNEW", fix_host="fix.example.com:9878")["fix_host"]
    assert "fixPort" in problem


def test_a_bad_code_is_refused():
    for code in ("x", "xnew", "X" * 17, "X-1"):
        assert refused(put, code=code).keys() == {"code"}
    assert not Venue.objects.exclude(pk=settings.OMS_DEFAULT_VENUE).exists()


def test_every_problem_is_reported_at_once():
    details = refused(put, code="XNEW", fix_port=0, heartbeat_seconds=301, sender_comp_id="A B")
    assert details.keys() == {"fix_port", "heartbeat_seconds", "sender_comp_id"}


# --- one FIX session, one venue ----------------------------------------------------------


def test_two_venues_cannot_share_a_host_port_and_comp_ids():
    put("XONE", **CUSTOM)
    identity = {f: CUSTOM[f] for f in ("fix_host", "fix_port", "sender_comp_id", "target_comp_id")}

    [problem] = refused(put, code="XTWO", **identity)["fix_session"]

    assert "XONE" in problem
    assert not Venue.objects.filter(pk="XTWO").exists()


@pytest.mark.parametrize("field,other", [
    ("fix_host", "10.1.2.4"), ("fix_port", 4001), ("sender_comp_id", "DESK2"),
    ("target_comp_id", "FASTY"),
])
def test_venues_differing_in_any_part_of_the_identity_may_coexist(field, other):
    put("XONE", **CUSTOM)
    identity = {f: CUSTOM[f] for f in ("fix_host", "fix_port", "sender_comp_id", "target_comp_id")}

    _, created = put("XTWO", **{**identity, field: other})

    assert created is True


def test_a_change_that_would_take_another_venues_fix_session_is_refused():
    put("XONE", **CUSTOM)
    venue, _ = put("XTWO", **{**CUSTOM, "target_comp_id": "OTHER"})

    details = refused(services.venue_update, code="XTWO", actor="tests", target_comp_id="FASTX")

    assert details.keys() == {"fix_session"}
    assert config(venue)["target_comp_id"] == "OTHER"


def test_a_venue_keeps_its_own_identity_when_replaced_with_the_same_values():
    put("XONE", **CUSTOM)
    _, created = put("XONE", **CUSTOM)
    assert created is False


# --- checking without saving (the admin's forms) ----------------------------------------


def test_venue_clean_checks_what_venue_put_would_create_without_saving():
    services.venue_clean(code="XNEW", adding=True, name="ok")
    assert not Venue.objects.filter(pk="XNEW").exists()

    assert refused(services.venue_clean, code="XNEW", adding=True,
                   fix_port=65536).keys() == {"fix_port"}


def test_venue_clean_refuses_adding_a_code_that_exists():
    put("XNEW")
    assert refused(services.venue_clean, code="XNEW", adding=True).keys() == {"code"}


def test_venue_clean_checks_a_change_against_the_other_venues_without_saving():
    put("XONE", **CUSTOM)
    venue, _ = put("XTWO", **{**CUSTOM, "target_comp_id": "OTHER"})

    services.venue_clean(code="XTWO", adding=False, heartbeat_seconds=9)
    assert refused(services.venue_clean, code="XTWO", adding=False,
                   target_comp_id="FASTX").keys() == {"fix_session"}
    assert config(venue) == {**CUSTOM, "target_comp_id": "OTHER"}
    with pytest.raises(VenueNotFound):
        services.venue_clean(code="XNONE", adding=False)
