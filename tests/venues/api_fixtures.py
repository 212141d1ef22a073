"""What the venues API tests share: users, a configured venue, defaults no field has by
chance, and reading a venue back from the database."""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from omsproject.decimals import decimal_text
from tests.factories import UserFactory
from venues import services
from venues.models import Venue

VENUES = "/api/v1/venues"
CUSTOM = {
    "name": "Fast venue",
    "fixHost": "fix.example.com",
    "fixPort": 4000,
    "senderCompId": "DESK1",
    "targetCompId": "FASTX",
    "heartbeatSeconds": 60,
    "throttlePerSecond": 500,
    "resetSeqNumOnLogon": True,
    "makerFeePerShare": "-0.0025",
    "takerFeePerShare": "0.003",
}
EDITABLE = list(CUSTOM)


@pytest.fixture(autouse=True)
def distinct_defaults(settings):
    settings.OMS_THROTTLE_PER_SECOND = 77
    settings.OMS_FIX_HOST = "fix.default.net"
    settings.OMS_FIX_PORT = 9123
    settings.OMS_SENDER_COMP_ID = "OMSDESK"
    settings.OMS_FIX_HEARTBEAT_SECONDS = 7


DEFAULTS = {
    "name": "", "fixHost": "fix.default.net", "fixPort": 9123, "senderCompId": "OMSDESK",
    "heartbeatSeconds": 7, "throttlePerSecond": 77, "resetSeqNumOnLogon": False,
    "makerFeePerShare": "0", "takerFeePerShare": "0",
}


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user=user)
    return api


@pytest.fixture
def staff_api(db):
    # Staff, not superuser: being an operator is what the API checks.
    user = UserFactory(username="venue-op", is_staff=True)
    return api_as(user)


@pytest.fixture
def client_api(db):
    return api_as(UserFactory(username="client-prog"))


@pytest.fixture
def xfast(db):
    venue, _ = services.venue_put(
        code="XFAST", actor="tests", name="Fast venue", fix_host="fix.example.com",
        fix_port=4000, sender_comp_id="DESK1", target_comp_id="FASTX", heartbeat_seconds=60,
        throttle_per_second=500, reset_seq_num_on_logon=True,
        maker_fee_per_share=Decimal("-0.0025"), taker_fee_per_share=Decimal("0.003"),
    )
    return venue


def send(api, method: str, path: str, body):
    return getattr(api, method)(path, json.dumps(body), content_type="application/json")


def editable(body: dict) -> dict:
    return {name: body[name] for name in EDITABLE}


def stored(code: str) -> dict:
    venue = Venue.objects.get(pk=code)
    return {
        "name": venue.name, "fixHost": venue.fix_host, "fixPort": venue.fix_port,
        "senderCompId": venue.sender_comp_id, "targetCompId": venue.target_comp_id,
        "heartbeatSeconds": venue.heartbeat_seconds,
        "throttlePerSecond": venue.throttle_per_second,
        "resetSeqNumOnLogon": venue.reset_seq_num_on_logon,
        "makerFeePerShare": decimal_text(venue.maker_fee_per_share),
        "takerFeePerShare": decimal_text(venue.taker_fee_per_share),
    }
