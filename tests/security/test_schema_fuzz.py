"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis), in-process
through the WSGI app, as an operator, with every check schemathesis has,
`positive_data_acceptance` included: a request the schema calls valid must not be refused as
invalid (400), and one it calls invalid must be (negative_data_rejection). Every response must
be a documented status with a documented JSON body and headers, and nothing may be a 500.

Bounded (max_examples per operation, no deadline) so the run stays well under two minutes.
"""

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import positive_data_acceptance

from omsproject.wsgi import application
from sessions.services import session_update
from tests.factories import OperatorFactory
from venues.services import venue_get_or_create_default

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# Refusals of schema-valid requests that the schema cannot state, by error code: for these
# (and only these) a 4xx to schema-valid data is not a mismatch. Anything else refused as
# invalid is one, and fails the test.
NOT_IN_THE_SCHEMA = {
    # Pre-trade risk (422): caps an operator sets per account at run time, and checks
    # against state (position, buying power, order rate, the market's price band).
    "risk_": "limits are configuration and state, not shape",
    # A venue code of the right shape that no venue has: the venues are data.
    "unknown_venue": "which venues exist is data",
    # Routing (422): no venue open, fresh and free to take the order now: market state.
    "routing_": "which venues can take an order is market and session state",
}
# Refusals by (operation, field) for rules across fields the schema does not state.
NOT_STATED_ACROSS_FIELDS = {
    # MARKET takes no price, LIMIT a limitPrice, STOP a stopPrice, STOP_LIMIT both: OpenAPI
    # could state it with a oneOf on orderType, but generated clients turn such a oneOf into
    # four request types; the rule is in the field descriptions and refused with a reason.
    ("POST /api/v1/orders", "limitPrice"): "price required or forbidden by orderType",
    ("POST /api/v1/orders", "stopPrice"): "price required or forbidden by orderType",
    # A venue is named only for DIRECTED routing (the router chooses for the others).
    ("POST /api/v1/orders", "venue"): "a venue only with DIRECTED routing",
    # A modify is checked against the order it changes (its type, its cumQty), which the
    # request does not carry.
    ("PATCH /api/v1/orders/{order_id}", "limitPrice"): "depends on the order's type",
    ("PATCH /api/v1/orders/{order_id}", "stopPrice"): "depends on the order's type",
    ("PATCH /api/v1/orders/{order_id}", "quantity"): "depends on the order's cumQty",
    # "*" (every account's defaults) has no kill switch: a rule on the path's value.
    ("PATCH /api/v1/risk/limits/{account}", "halted"): "the defaults have no kill switch",
    # A schedule is checked as a whole against the time zone and calendars the server
    # knows (tz database, exchange_calendars): data, not shape.
    ("PATCH /api/v1/sessions/{venue}", "schedule"): "time zones and calendars are data",
    # fixHost's structure (an IPv4 of four numbers 0-255, an IPv6, or DNS labels of 1-63,
    # not starting or ending with "-"; "0" is none of them) is checked by venues.services
    # and described in the field's help text; the schema states its length and characters
    # only, as one regex for all three forms would be unreadable to a client's author.
    ("PUT /api/v1/venues/{code}", "fixHost"): "host structure checked by the server",
    ("PATCH /api/v1/venues/{code}", "fixHost"): "host structure checked by the server",
    # Two venues may not share one FIX session (host, port, CompIDs): state.
    ("PUT /api/v1/venues/{code}", "fixSession"): "one FIX session per venue is state",
    ("PATCH /api/v1/venues/{code}", "fixSession"): "one FIX session per venue is state",
}


def _refusal_not_in_the_schema(case, response) -> bool:
    if response.status_code not in (400, 422):
        return False
    try:
        error = response.json()
    except ValueError:
        return False
    code = error.get("code", "")
    if any(code.startswith(prefix) for prefix in NOT_IN_THE_SCHEMA):
        return True
    fields = set(error.get("details") or {})
    label = f"{case.operation.method.upper()} {case.operation.path}"
    return bool(fields) and all((label, field) in NOT_STATED_ACROSS_FIELDS for field in fields)


@pytest.fixture
def operator_token(db, django_db_blocker):
    venue_get_or_create_default()
    # Orders are accepted (and not refused as venue_closed) whatever the clock says.
    session_update(venue_code=settings.OMS_DEFAULT_VENUE, actor="tests", override="OPEN")
    operator = OperatorFactory(username="fuzz-operator")
    return Token.objects.create(user=operator).key


@pytest.fixture(autouse=True)
def connection_kept_across_requests():
    """The WSGI handler closes the database connection after each request; that would end
    the test's transaction. Django's test client unhooks the same two receivers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def generous_throttle(settings):
    settings.OMS_API_THROTTLE_RATE = ""  # the fuzzer is one very fast client


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    # function_scoped_fixture: the token and the open venue are set once per operation on
    # purpose (each example is another request by the same operator, which is the point).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much],
)
@pytest.mark.django_db(transaction=False)
def test_api_conforms_to_its_schema(case, operator_token):
    headers = {"Authorization": f"Token {operator_token}"}
    response = case.call(headers=headers)
    # Every check runs (not_a_server_error, status_code_conformance, content_type_conformance,
    # response_schema_conformance, response_headers_conformance, negative_data_rejection,
    # positive_data_acceptance, unsupported_method, ...). positive_data_acceptance is left
    # out only for a refusal the schema cannot state (above), judged by its error code.
    excluded = [positive_data_acceptance] if _refusal_not_in_the_schema(case, response) else []
    case.validate_response(response, excluded_checks=excluded, headers=headers)
