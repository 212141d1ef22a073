"""Operators set limits and kill switches at /api/v1/risk/limits; every change is audited."""

import pytest

from orders.models import TERMINAL_STATUSES, Order
from risk.models import RiskEvent
from tests.factories import make_order

pytestmark = pytest.mark.django_db
URL = "/api/v1/risk/limits"


def patch(client, account, body):
    return client.patch(f"{URL}/{account}", body, format="json")


def test_limits_are_set_inherited_and_audited(operator_api, settings):
    settings.OMS_MAX_ORDER_QUANTITY = 100000
    response = patch(operator_api, "*", {"maxPosition": "500", "priceBandPercent": "2.5"})
    assert response.status_code == 200, response.json()

    body = operator_api.get(f"{URL}/ACC-9").json()
    assert body["own"]["maxPosition"] is None
    assert body["effective"]["maxPosition"] == "500"
    assert body["effective"]["maxOrderQuantity"] == "100000"  # from settings

    body = patch(operator_api, "ACC-9", {"maxPosition": "50"}).json()
    assert (body["own"]["maxPosition"], body["effective"]["maxPosition"]) == (
        "50", "50")
    assert body["history"][0]["actor"] == "desk-operator"
    assert body["history"][0]["before"] == {"max_position": None}
    assert body["history"][0]["after"] == {"max_position": "50"}

    body = patch(operator_api, "ACC-9", {"maxPosition": None}).json()
    assert body["effective"]["maxPosition"] == "500"  # inherited again
    assert RiskEvent.objects.filter(account="ACC-9").count() == 2
    listed = operator_api.get(URL).json()
    assert [row["account"] for row in listed] == ["*", "ACC-9"]


@pytest.mark.parametrize("body", [
    {},
    {"maxPosition": "-1"},
    {"maxPosition": "0"},
    {"maxOrdersPerSecond": -1},
    {"maxPositon": "5"},
    {"halted": True},
    {"cancelOpenOrders": True},
    {"maxPosition": "abc"},
])
def test_invalid_changes_are_400_and_change_nothing(operator_api, body):
    response = patch(operator_api, "ACC-1", body)
    assert response.status_code == 400, response.json()
    assert RiskEvent.objects.count() == 0


def test_the_defaults_have_no_kill_switch(operator_api):
    response = patch(operator_api, "*", {"halted": True, "haltReason": "all"})
    assert response.status_code == 400
    assert "halt" in response.json()["message"]


def test_halting_an_account_can_cancel_its_open_orders(operator_api, trader, other_trader,
                                                      django_capture_on_commit_callbacks):
    mine = [make_order(user=trader, account_code="ACC-1") for _ in range(2)]
    theirs = make_order(user=other_trader, account_code="ACC-2")

    with django_capture_on_commit_callbacks(execute=True):
        response = patch(operator_api, "ACC-1", {"halted": True, "haltReason": "limit breach",
                                                 "cancelOpenOrders": True})

    assert response.status_code == 200
    assert response.json()["effective"]["halted"] is True
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in mine])} == {"CANCELED"}
    theirs.refresh_from_db()
    assert theirs.status == "QUEUED"


def test_unknown_account_codes_are_404(operator_api):
    assert operator_api.get(f"{URL}/no%20such").status_code == 404


def test_the_open_orders_index_holds_exactly_the_open_orders():
    index = next(i for i in Order._meta.indexes if i.name == "order_open_by_account")
    excluded = set(index.condition.children[0][1])
    assert excluded == {str(s) for s in TERMINAL_STATUSES}
