"""Who may do what: the API needs a token (or a session), accounts are walls, operators alone
change sessions, the halt and venues (their limits and FIX settings), and a revoked token
stops working at once.

Decided here: the OpenAPI schema (/api/schema/), its docs page (/api/docs/) and /healthz are
public. They describe the API and the process's health, hold no order or account data, and a
client needs the schema before it has a token. Everything under /api/v1/ needs a token.
"""

import json

import pytest
from django.contrib.admin import site
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import Order
from sessions.models import SessionEvent
from tests.factories import UserFactory, make_order
from tests.security.conftest import ORDERS, assert_error
from tests.venues.admin_form import venue_admin_form
from venues.models import Venue

pytestmark = pytest.mark.usefixtures("default_venue_open")

SOME_ID = "0190f4e8-0000-7000-8000-000000000000"
LIMIT = {
    "clientOrderId": "acc-001", "accountId": "ACC-1", "symbol": "MSFT", "side": "SELL",
    "orderType": "LIMIT", "quantity": 5, "limitPrice": "320.5", "timeInForce": "GTC",
}
# Every operation of the API: (method, path, body).
API = [
    ("get", ORDERS, None),
    ("post", ORDERS, LIMIT),
    ("post", f"{ORDERS}/batch", {"orders": [LIMIT]}),
    ("get", f"{ORDERS}/{SOME_ID}", None),
    ("patch", f"{ORDERS}/{SOME_ID}", {"quantity": 1}),
    ("delete", f"{ORDERS}/{SOME_ID}", None),
    ("get", "/api/v1/executions", None),
    ("get", "/api/v1/positions", None),
    ("get", "/api/v1/sessions", None),
    ("get", "/api/v1/sessions/XMOCK", None),
    ("patch", "/api/v1/sessions/XMOCK", {"override": "CLOSED"}),
    ("get", "/api/v1/halt", None),
    ("put", "/api/v1/halt", {"halted": True, "reason": "test"}),
    ("get", "/api/v1/stats/latency", None),
    ("get", "/api/v1/venues", None),
    ("get", "/api/v1/venues/XMOCK", None),
    ("put", "/api/v1/venues/XMOCK", {"name": "Mock", "throttlePerSecond": 50}),
    ("patch", "/api/v1/venues/XMOCK", {"throttlePerSecond": 50}),
    ("get", "/api/v1/risk/limits", None),
    ("get", "/api/v1/risk/limits/ACC-1", None),
    ("patch", "/api/v1/risk/limits/ACC-1", {"maxPosition": "100"}),
    ("get", "/api/v1/marketdata/AAPL", None),
]


def _venues() -> list[tuple]:
    return list(Venue.objects.order_by("code").values_list("code", "updated_at"))


def call(client, method, path, body=None):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def test_the_list_above_is_every_operation_in_the_schema(operator_api):
    schema = operator_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    documented = {
        (method, path.replace("{order_id}", SOME_ID).replace("{venue}", "XMOCK")
         .replace("{code}", "XMOCK").replace("{account}", "ACC-1")
         .replace("{symbol}", "AAPL"))
        for path, operations in schema.json()["paths"].items()
        for method in operations
    }
    assert documented == {(method, path) for method, path, _ in API}


@pytest.mark.parametrize("method,path,body", API)
def test_every_api_operation_needs_authentication(method, path, body):
    before = (Order.objects.count(), SessionEvent.objects.count(), _venues())

    assert_error(call(APIClient(), method, path, body), 401, "not_authenticated")
    assert (Order.objects.count(), SessionEvent.objects.count(), _venues()) == before


@pytest.mark.parametrize("method,path,body", API)
def test_every_api_operation_refuses_a_bad_token(method, path, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert_error(call(client, method, path, body), 401, "authentication_failed")


def test_a_401_says_how_to_authenticate():
    response = APIClient().get(ORDERS)

    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/healthz"])
def test_schema_docs_and_health_are_public(client, path):
    assert client.get(path).status_code == 200


# --- accounts ------------------------------------------------------------------------------------


def test_another_accounts_order_is_404_for_read_modify_and_cancel_and_unchanged(
    trader_api, other_trader
):
    theirs = make_order(user=other_trader, account_code="ACC-2")
    url = f"{ORDERS}/{theirs.pk}"

    for method, body in (("get", None), ("patch", {"quantity": 1}),
                         ("patch", {"limitPrice": "1"}), ("delete", None)):
        assert_error(call(trader_api, method, url, body), 404, "order_not_found")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.quantity, theirs.events.count()) == ("QUEUED", 10, 1)


def test_another_accounts_orders_are_not_listed_even_when_asked_for(trader_api, other_trader):
    make_order(user=other_trader, account_code="ACC-2")

    for query in ("", "?accountId=ACC-2", "?venue=XMOCK", "?status=QUEUED"):
        assert trader_api.get(f"{ORDERS}{query}").json()["results"] == []


def test_a_client_cannot_submit_for_another_account_nor_create_one(trader_api, other_trader):
    for account in ("ACC-2", "NEW-ACCOUNT"):
        response = call(trader_api, "post", ORDERS, {**LIMIT, "accountId": account})
        assert_error(response, 403, "account_forbidden")
    assert Order.objects.count() == 0


def test_a_user_with_no_account_sees_nothing_and_can_submit_nothing(db, trader, other_trader):
    make_order(user=trader, account_code="ACC-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory()).key}")

    assert client.get(ORDERS).json()["results"] == []
    assert_error(call(client, "post", ORDERS, LIMIT), 403, "account_forbidden")


# --- operators only ------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path,body", [
    ("patch", "/api/v1/sessions/XMOCK", {"override": "CLOSED"}),
    ("patch", "/api/v1/sessions/XMOCK", {"schedule": {"weekdays": []}}),
    ("put", "/api/v1/halt", {"halted": True, "reason": "client tries"}),
    ("put", "/api/v1/halt", {"halted": False}),
])
def test_sessions_and_the_halt_are_changed_by_operators_only(
    trader_api, operator_api, method, path, body
):
    before = SessionEvent.objects.count()

    assert_error(call(trader_api, method, path, body), 403, "permission_denied")
    assert SessionEvent.objects.count() == before
    assert trader_api.get("/api/v1/halt").json()["halted"] is False
    # Reading is for everyone signed in; the operator may change it.
    assert trader_api.get(path).status_code == 200
    assert call(operator_api, method, path, body).status_code == 200


@pytest.mark.parametrize("method,path,body", [
    ("put", "/api/v1/venues/XMOCK", {"throttlePerSecond": 9}),
    ("put", "/api/v1/venues/XNEW", {}),
    ("patch", "/api/v1/venues/XMOCK", {"throttlePerSecond": 9}),
    ("patch", "/api/v1/venues/XMOCK", {"fixHost": "attacker.example.com"}),
])
def test_venues_and_their_limits_are_changed_by_operators_only(
    trader_api, operator_api, method, path, body
):
    before = _venues()

    assert_error(call(trader_api, method, path, body), 403, "permission_denied")
    assert _venues() == before
    # Reading is for everyone signed in; the operator may change (or create) it.
    assert trader_api.get("/api/v1/venues/XMOCK").status_code == 200
    assert call(operator_api, method, path, body).status_code in (200, 201)
    assert _venues() != before


# --- tokens --------------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_at_the_next_request(trader, trader_api):
    assert trader_api.get(ORDERS).status_code == 200

    Token.objects.filter(user=trader).delete()

    assert_error(trader_api.get(ORDERS), 401, "authentication_failed")


def test_a_deactivated_users_token_is_refused(trader, trader_api):
    trader.is_active = False
    trader.save(update_fields=["is_active"])

    assert_error(trader_api.get(ORDERS), 401, "authentication_failed")


def test_a_signed_in_session_still_needs_the_csrf_token_to_change_anything(operator):
    """The API also takes the admin's session cookie; a forged cross-site request carries
    the cookie but not the CSRF token, so writes are refused."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(operator)

    assert browser.get("/api/v1/halt").status_code == 200
    response = call(browser, "put", "/api/v1/halt", {"halted": True, "reason": "forged"})
    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["message"]
    assert browser.get("/api/v1/halt").json()["halted"] is False


# --- the admin -----------------------------------------------------------------------------------


def _changelists():
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in site._registry
    ]


def test_every_registered_model_is_checked():
    names = {model._meta.model_name for model in site._registry}
    assert {"order", "account", "venue", "fixsession", "venuesession", "tradinghalt",
            "venuerequest", "unmatchedresponse"} <= names


def test_anonymous_and_client_users_are_sent_to_the_admin_login(client, trader):
    for who in (None, trader):
        if who is not None:
            client.force_login(who)
        for url in [reverse("admin:index"), *_changelists()]:
            response = client.get(url)
            assert response.status_code == 302, (who, url)
            assert response["Location"].startswith(reverse("admin:login")), (who, url)


def test_a_staff_user_without_permissions_gets_403_on_every_changelist(client):
    staff = UserFactory(username="staff-no-perms", is_staff=True)
    client.force_login(staff)

    for url in _changelists():
        # follow: the halt's changelist forwards to its one row's page, which must refuse too
        assert client.get(url, follow=True).status_code == 403, url


def test_a_client_cannot_change_a_venue_limit_through_the_admin(client, trader):
    client.force_login(trader)
    url = reverse("admin:venues_venue_change", args=["XMOCK"])

    form = venue_admin_form(Venue.objects.get(pk="XMOCK"), throttle_per_second=100000)
    response = client.post(url, form)
    assert response.status_code == 302 and "login" in response["Location"]
    assert Venue.objects.get(pk="XMOCK").throttle_per_second != 100000


def test_an_operator_changes_a_venue_limit_in_the_admin(client, operator):
    client.force_login(operator)
    url = reverse("admin:venues_venue_change", args=["XMOCK"])

    form = venue_admin_form(Venue.objects.get(pk="XMOCK"), name="Mock", throttle_per_second=250)
    response = client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    assert Venue.objects.get(pk="XMOCK").throttle_per_second == 250


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/v1/risk/limits", None),
    ("get", "/api/v1/risk/limits/ACC-1", None),
    ("patch", "/api/v1/risk/limits/ACC-1", {"halted": True, "haltReason": "mine now"}),
    ("patch", "/api/v1/risk/limits/*", {"maxOrderQuantity": "1"}),
])
def test_risk_limits_are_read_and_changed_by_operators_only(trader_api, operator_api, method,
                                                            path, body):
    from risk.models import RiskEvent

    assert call(trader_api, method, path, body).status_code == 403
    assert RiskEvent.objects.count() == 0
    assert call(operator_api, method, path, body).status_code == 200
