"""Sessions gate intake and end DAY orders: orders and sessions working together."""

import json
from datetime import datetime, time

import pytest
import time_machine
from django.conf import settings

from orders.models import Order
from sessions.services import session_reconcile, session_update, trading_halt_set
from tests.factories import make_order

pytestmark = pytest.mark.django_db

VENUE = settings.OMS_DEFAULT_VENUE
MONDAY_OPEN = datetime.fromisoformat("2026-03-09T09:30:00-04:00")  # New York, DST in force
MONDAY_MIDDAY = datetime.fromisoformat("2026-03-09T12:00:00-04:00")
MONDAY_AFTER_CLOSE = datetime.fromisoformat("2026-03-09T16:00:01-04:00")
SATURDAY = datetime.fromisoformat("2026-03-14T11:00:00-04:00")
ORDER = {"clientOrderId": "g-1", "accountId": "ACC-1", "symbol": "AAPL", "side": "BUY",
         "orderType": "LIMIT", "quantity": 1, "limitPrice": 100, "timeInForce": "DAY"}


@pytest.fixture(autouse=True)
def default_venue_open(db):
    """Replaces the orders suite's forced-open venue with New York equity hours."""
    from venues.services import venue_get_or_create_default

    venue_get_or_create_default()
    session_update(venue_code=VENUE, actor="tests", override=None, time_zone="America/New_York",
                   open_time=time(9, 30), close_time=time(16, 0), weekdays=[1, 2, 3, 4, 5],
                   holidays=[])


def post(api, body):
    return api.post("/api/v1/orders", json.dumps(body), content_type="application/json")


def test_order_outside_the_window_is_refused_with_the_next_open(trader_api):
    with time_machine.travel(SATURDAY, tick=False):
        response = post(trader_api, ORDER)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "venue_closed"
    assert "2026-03-16T13:30:00Z" in body["message"]  # Monday 09:30 New York, in UTC
    assert body["details"]["nextOpen"] == "2026-03-16T13:30:00Z"
    assert Order.objects.count() == 0


def test_order_inside_the_window_is_queued(trader_api):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        response = post(trader_api, ORDER)

    assert response.status_code == 201
    assert response.json()["status"] == "QUEUED"


def test_a_replay_after_the_close_still_gets_its_answer(trader_api):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        first = post(trader_api, {**ORDER, "timeInForce": "GTC"}).json()
    with time_machine.travel(SATURDAY, tick=False):
        replay = post(trader_api, {**ORDER, "timeInForce": "GTC"})
        changed = post(trader_api, {**ORDER, "timeInForce": "GTC", "quantity": 2})

    assert replay.status_code == 200
    assert replay.json()["orderId"] == first["orderId"]
    assert changed.status_code == 409
    assert changed.json()["code"] == "duplicate_client_order_id"


def test_halt_refuses_every_order(trader_api, operator):
    trading_halt_set(halted=True, reason="runaway algo", actor=operator.username)

    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        response = post(trader_api, ORDER)

    assert response.status_code == 409
    assert response.json()["code"] == "trading_halted"
    assert "runaway algo" in response.json()["message"]


def test_forced_closed_venue_refuses_orders_inside_its_window(trader_api, operator):
    session_update(venue_code=VENUE, actor=operator.username, override="CLOSED")

    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        response = post(trader_api, ORDER)

    assert response.status_code == 409
    assert response.json()["code"] == "venue_closed"


def test_day_orders_expire_at_the_close_and_gtc_orders_wait(trader):
    with time_machine.travel(MONDAY_OPEN, tick=False):
        session_reconcile()
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        day = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
        gtc = make_order(user=trader, account_code="ACC-1", time_in_force="GTC")
        cancelled = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
        from orders.services import order_cancel

        order_cancel(order_id=cancelled.pk, actor="trader")

    with time_machine.travel(MONDAY_AFTER_CLOSE, tick=False):
        session_reconcile()
        session_reconcile()  # a second run at the same close expires nothing more

    day.refresh_from_db()
    gtc.refresh_from_db()
    cancelled.refresh_from_db()
    assert (day.status, gtc.status, cancelled.status) == ("EXPIRED", "QUEUED", "CANCELED")
    expiry = day.events.last()
    assert (expiry.type, expiry.actor) == ("EXPIRED", "system:session-close")
    assert day.events.filter(type="EXPIRED").count() == 1

    tuesday_open = datetime.fromisoformat("2026-03-10T09:30:00-04:00")
    with time_machine.travel(tuesday_open, tick=False):
        session_reconcile()
    gtc.refresh_from_db()
    assert gtc.status == "QUEUED"  # carried over into the next session, still in the queue


def test_live_day_orders_are_cancelled_at_the_venue_from_the_close(trader, settings,
                                                                   limiter_redis):
    from dispatch.services import dispatch_drain
    from venues.gateway import InProcessGateway

    InProcessGateway.reset()
    settings.OMS_VENUE_GATEWAY = "venues.gateway.InProcessGateway"
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        session_reconcile()
        live_day = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
        live_gtc = make_order(user=trader, account_code="ACC-1", time_in_force="GTC")
        dispatch_drain(venue_code=VENUE)
    live_day.refresh_from_db()
    assert live_day.status == "NEW"

    with time_machine.travel(MONDAY_AFTER_CLOSE, tick=False):
        session_reconcile()
    live_day.refresh_from_db()
    live_gtc.refresh_from_db()
    assert (live_day.status, live_gtc.status) == ("PENDING_CANCEL", "NEW")
    assert live_day.events.last().actor == "system:session-close"

    tuesday_open = datetime.fromisoformat("2026-03-10T09:30:00-04:00")
    with time_machine.travel(tuesday_open, tick=False):
        session_reconcile()
        dispatch_drain(venue_code=VENUE)
    live_day.refresh_from_db()
    assert live_day.status == "CANCELED"
    kinds = [m["kind"] for m in InProcessGateway.messages(VENUE)]
    assert kinds == ["NEW", "NEW", "CANCEL"]


def test_close_missed_by_beat_still_expires_day_orders(trader):
    """Beat was down over the close: the first reconcile after it catches up."""
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        session_reconcile()
        day = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")

    with time_machine.travel(SATURDAY, tick=False):
        session_reconcile()

    day.refresh_from_db()
    assert day.status == "EXPIRED"
