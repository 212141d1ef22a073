"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis), in-process
through the WSGI app, as an operator. Every response must be a documented status with a
documented JSON body and headers, and nothing may be a 500.

Bounded (max_examples per operation, no deadline) so the run stays well under two minutes.
"""

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token

from omsproject.wsgi import application
from sessions.services import session_update
from tests.factories import OperatorFactory
from venues.services import venue_get_or_create_default

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


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
    case.call_and_validate(
        headers={"Authorization": f"Token {operator_token}"},
        # Every other check runs (not_a_server_error, status_code_conformance,
        # content_type_conformance, response_schema_conformance, response_headers_conformance,
        # negative_data_rejection, unsupported_method, ...). This one is left out because the
        # API refuses schema-valid orders on purpose: rules across fields (a price required or
        # forbidden by orderType), against configuration (per-order quantity and notional
        # caps) and state (an account the caller does not hold) are 400/403/409 with a reason,
        # and OpenAPI cannot express them, so "schema-valid" does not mean "acceptable".
        excluded_checks=[positive_data_acceptance],
    )
