"""Sessions gate intake and end DAY orders; the kill switch stops new risk and can take the
open risk off: orders and sessions working together, with the venue in this process
(tests/venues/inproc.py) where an order goes to it."""

import json
from datetime import datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from orders import services as order_services
from orders.models import Order
from sessions.models import TradingHaltEvent
from sessions.services import (
    session_reconcile,
    session_record_logon,
    session_update,
    trading_halt_set,
)
from tests.dispatch.conftest import drain
from tests.factories import make_order
from tests.venues.inproc import InProcessVenue

pytestmark = pytest.mark.django_db

VENUE = settings.OMS_DEFAULT_VENUE
MONDAY_OPEN = datetime.fromisoformat("2026-03-09T09:30:00-04:00")  # New York, DST in force
MONDAY_MIDDAY = datetime.fromisoformat("2026-03-09T12:00:00-04:00")
MONDAY_AFTER_CLOSE = datetime.fromisoformat("2026-03-09T16:00:01-04:00")
TUESDAY_OPEN = datetime.fromisoformat("2026-03-10T09:30:00-04:00")
SATURDAY = datetime.fromisoformat("2026-03-14T11:00:00-04:00")
ORDER = {"clientOrderId": "g-1", "accountId": "ACC-1", "symbol": "AAPL", "side": "BUY",
         "orderType": "LIMIT", "quantity": 1, "limitPrice": 100, "timeInForce": "DAY"}


@pytest.fixture(autouse=True)
def default_venue_on_new_york_hours(db):
    """Replaces the orders suite's forced-open venue with New York equity hours."""
    from venues.services import venue_get_or_create_default

    venue_get_or_create_default()
    session_update(venue_code=VENUE, actor="tests", override=None, time_zone="America/New_York",
                   open_time=time(9, 30), close_time=time(16, 0), weekdays=[1, 2, 3, 4, 5],
                   holidays=[])


@pytest.fixture
def venue(limiter_redis):
    """The default venue, answered in this process; `logged_on()` makes it trade now."""
    return InProcessVenue(VENUE)


def logged_on() -> None:
    """Beat's reconcile at the current (travelled) time, and the holder's logon."""
    session_reconcile(venue_code=VENUE)
    session_record_logon(venue_code=VENUE)


def post(api, body):
    return api.post("/api/v1/orders", json.dumps(body), content_type="application/json")


def status_of(*orders) -> tuple:
    return tuple(Order.objects.get(pk=o.pk).status for o in orders)


def sent_ids(venue, msg_type: str) -> list[str]:
    return [m[526] for m in venue.messages(msg_type)]


# --- intake ----------------------------------------------------------------------------------


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


def test_forced_closed_venue_refuses_orders_inside_its_window(trader_api, operator):
    session_update(venue_code=VENUE, actor=operator.username, override="CLOSED")

    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        response = post(trader_api, ORDER)

    assert response.status_code == 409
    assert response.json()["code"] == "venue_closed"


# --- the kill switch ---------------------------------------------------------------------------


def test_halt_refuses_every_order(trader_api, operator):
    trading_halt_set(halted=True, reason="runaway algo", actor=operator.username)

    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        response = post(trader_api, ORDER)

    assert response.status_code == 409
    assert response.json()["code"] == "trading_halted"
    assert "runaway algo" in response.json()["message"]
    assert Order.objects.count() == 0


def test_while_halted_live_orders_are_not_replaced_but_cancels_go_out(
    trader, trader_api, operator, venue
):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        logged_on()
        live = make_order(user=trader, account_code="ACC-1")
        drain(venue)
        queued = make_order(user=trader, account_code="ACC-1")
        trading_halt_set(halted=True, reason="runaway algo", actor=operator.username)

        refused = trader_api.patch(f"/api/v1/orders/{live.pk}", {"quantity": "5"},
                                   format="json")
        kept = trader_api.patch(f"/api/v1/orders/{queued.pk}", {"quantity": "5"},
                                format="json")
        cancelled = trader_api.delete(f"/api/v1/orders/{live.pk}")
        drain(venue)

    assert refused.status_code == 409
    assert refused.json()["code"] == "trading_halted"
    # A queued order changes in place: nothing leaves for the venue while halted.
    assert (kept.status_code, kept.json()["quantity"]) == (200, "5")
    assert cancelled.status_code == 202  # accepted: the venue has the last word
    assert [m[35] for m in venue.messages()] == ["D", "F"]
    assert status_of(live, queued) == ("CANCELED", "QUEUED")
    assert not live.requests.filter(kind="MODIFY").exists()


def test_cancel_open_orders_with_the_halt_takes_all_open_risk_off(
    trader, operator_api, venue, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        logged_on()
        live = make_order(user=trader, account_code="ACC-1")
        part_filled = make_order(user=trader, account_code="ACC-1")
        drain(venue)
        venue.deliver([venue.book.fill(venue.messages("D")[1][11], Decimal("4"),
                                       Decimal("150"))])
        queued = make_order(user=trader, account_code="ACC-1", time_in_force="GTC")

        with django_capture_on_commit_callbacks() as after_commit:
            response = operator_api.put(
                "/api/v1/halt",
                {"halted": True, "reason": "runaway algo", "cancelOpenOrders": True},
                format="json",
            )
            # Nothing is cancelled inside the halt's transaction...
            assert status_of(live, part_filled, queued) == ("NEW", "PARTIALLY_FILLED",
                                                             "QUEUED")
        for callback in after_commit:  # ...but once it has committed
            callback()
        # Queued ones here and now; live ones wait for the venue's word.
        assert status_of(live, part_filled, queued) == ("PENDING_CANCEL", "PENDING_CANCEL",
                                                         "CANCELED")
        drain(venue)

    assert response.status_code == 200 and response.json()["halted"] is True
    assert status_of(live, part_filled, queued) == ("CANCELED", "CANCELED", "CANCELED")
    assert sent_ids(venue, "F") == [live.client_order_id, part_filled.client_order_id]
    assert sent_ids(venue, "D") == [live.client_order_id, part_filled.client_order_id]
    assert Order.objects.get(pk=part_filled.pk).filled_quantity == Decimal("4")
    assert TradingHaltEvent.objects.get().actor == "desk-operator"


def test_cancel_open_orders_also_catches_one_claimed_before_the_halt(
    trader, operator, venue, django_capture_on_commit_callbacks
):
    from dispatch.drain import dispatch_drain

    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        logged_on()
        claimed = make_order(user=trader, account_code="ACC-1")
        dispatch_drain(venue_code=VENUE, budget_seconds=0.5)  # possibly on the wire now
        with django_capture_on_commit_callbacks(execute=True):
            trading_halt_set(halted=True, reason="runaway algo", actor=operator.username,
                             cancel_open_orders=True)
        drain(venue)
        drain(venue)

    assert status_of(claimed) == ("CANCELED",)
    assert sent_ids(venue, "D") == []  # the halt stopped the NEW at the wire


def test_cancel_open_orders_needs_a_halt_and_then_changes_nothing(
    trader, operator_api, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        queued = make_order(user=trader, account_code="ACC-1")
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_api.put("/api/v1/halt",
                                        {"halted": False, "cancelOpenOrders": True},
                                        format="json")

    assert response.status_code == 400
    assert "cancelOpenOrders" in response.json()["details"]
    assert status_of(queued) == ("QUEUED",)


def test_the_admin_halt_form_cancels_every_open_order(
    trader, operator, venue, django_capture_on_commit_callbacks
):
    admin = Client()
    admin.force_login(operator)
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        logged_on()
        live = make_order(user=trader, account_code="ACC-1")
        drain(venue)
        queued = make_order(user=trader, account_code="ACC-1")
        url = admin.get("/admin/trading_sessions/tradinghalt/").url
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(url, {
                "halted": "on", "reason": "runaway algo", "cancel_open_orders": "on",
                "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
            })
        drain(venue)

    assert response.status_code == 302
    assert status_of(live, queued) == ("CANCELED", "CANCELED")
    assert sent_ids(venue, "F") == [live.client_order_id]


def test_halting_alone_cancels_nothing(trader, operator, venue,
                                       django_capture_on_commit_callbacks):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        logged_on()
        live = make_order(user=trader, account_code="ACC-1")
        drain(venue)
        with django_capture_on_commit_callbacks(execute=True):
            trading_halt_set(halted=True, reason="look first", actor=operator.username)
        drain(venue)

    assert status_of(live) == ("NEW",)
    assert venue.messages("F") == []


# --- DAY orders at the close -------------------------------------------------------------------


def test_queued_day_orders_expire_at_the_close_unsent_and_gtc_orders_wait(trader, venue):
    with time_machine.travel(MONDAY_OPEN, tick=False):
        session_reconcile()
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        day = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
        gtc = make_order(user=trader, account_code="ACC-1", time_in_force="GTC")
        cancelled = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
        order_services.order_cancel(order_id=cancelled.pk, actor="trader")

    with time_machine.travel(MONDAY_AFTER_CLOSE, tick=False):
        session_reconcile()
        session_reconcile()  # a second run at the same close expires nothing more

    day.refresh_from_db()
    assert status_of(day, gtc, cancelled) == ("EXPIRED", "QUEUED", "CANCELED")
    expiry = day.events.last()
    assert (expiry.type, expiry.actor) == ("EXPIRED", "system:session-close")
    assert day.events.filter(type="EXPIRED").count() == 1
    assert day.requests.get().state == "WITHDRAWN"

    with time_machine.travel(TUESDAY_OPEN, tick=False):
        logged_on()
        drain(venue)
    # Carried over into the next session: only the GTC order ever reaches the venue.
    assert sent_ids(venue, "D") == [gtc.client_order_id]
    assert status_of(gtc) == ("NEW",)


def test_live_day_orders_are_expired_by_the_venue_and_gtc_orders_stay(trader, venue):
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        logged_on()
        live_day = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
        live_gtc = make_order(user=trader, account_code="ACC-1", time_in_force="GTC")
        drain(venue)
    assert status_of(live_day, live_gtc) == ("NEW", "NEW")

    with time_machine.travel(MONDAY_AFTER_CLOSE, tick=False):
        session_reconcile()
        # At the venue's close it is the venue that ends them: we send nothing for them.
        assert status_of(live_day, live_gtc) == ("NEW", "NEW")
        assert venue.deliver(venue.book.expire_day_orders()) == 1

    assert status_of(live_day, live_gtc) == ("EXPIRED", "NEW")
    expiry = Order.objects.get(pk=live_day.pk).events.last()
    assert (expiry.type, expiry.actor) == ("EXPIRED", "system:venue")
    assert [m[35] for m in venue.messages()] == ["D", "D"]


def test_close_missed_by_beat_still_expires_day_orders(trader):
    """Beat was down over the close: the first reconcile after it catches up."""
    with time_machine.travel(MONDAY_MIDDAY, tick=False):
        session_reconcile()
        day = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")

    with time_machine.travel(SATURDAY, tick=False):
        session_reconcile()

    assert status_of(day) == ("EXPIRED",)
