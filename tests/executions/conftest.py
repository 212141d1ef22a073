"""Executions tests: the venue in this process (tests/venues/inproc.py) answers and trades
by docs/fix.md, and its reports reach the books through the FIX holder's own Inbox
(orders.services.OrderBooks), one transaction each, as on the wire."""

from decimal import Decimal

import pytest
from django.conf import settings

from executions.checks import assert_books_add_up
from orders.models import Order
from sessions.services import session_update
from tests.dispatch.conftest import drain, in_process_venue  # noqa: F401  (fixture)
from tests.factories import make_order
from venues.services import venue_get_or_create_default

D = Decimal


@pytest.fixture(autouse=True)
def default_venue_open(db):
    venue_get_or_create_default()
    session_update(venue_code=settings.OMS_DEFAULT_VENUE, actor="tests", override="OPEN")


@pytest.fixture
def books_add_up():
    """After the test: every order's fills make its cumQty and avgPx, every position its
    fills (executions/checks.py)."""
    yield
    assert_books_add_up()


def live_order(venue, user, account_code: str = "ACC-1", **terms) -> tuple[Order, str]:
    """An order accepted by the venue (NEW), and its ClOrdID there."""
    order = make_order(user=user, account_code=account_code, **terms)
    drain(venue)
    order.refresh_from_db()
    assert order.status == "NEW", order.status
    return order, str(order.requests.get(kind="NEW").request_id)


def refreshed(order: Order) -> Order:
    order.refresh_from_db()
    return order
