"""Two orders racing for what only one fits in: exactly one passes."""

from decimal import Decimal

import pytest

from orders.models import Order
from risk.errors import RiskRefused
from risk.services import risk_limits_update
from tests.dispatch.conftest import at_once
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("limits", [
    {"buying_power": Decimal("1000")},
    {"max_position": Decimal("6")},
    {"max_orders_per_second": 1},
], ids=["buying-power", "position", "rate"])
def test_two_orders_racing_for_the_last_room_one_passes(trader, limits):
    risk_limits_update(account="ACC-1", actor="desk", **limits)
    outcomes = []

    def order(n):
        def place():
            try:
                make_order(user=trader, account_code="ACC-1", client_order_id=f"race-{n}",
                           quantity=Decimal("6"), limit_price=Decimal("100"))
                outcomes.append("admitted")
            except RiskRefused as exc:
                outcomes.append(exc.code)
        return place

    for _ in range(5):  # five rounds of a race, each on an empty book
        outcomes.clear()
        Order.objects.all().delete()
        at_once(order(1), order(2))
        assert sorted(outcomes)[0] == "admitted" and len(outcomes) == 2, outcomes
        assert outcomes.count("admitted") == 1, outcomes
        if "max_orders_per_second" in limits:
            break  # the second round would be within the same second
