"""GET /api/v1/events, the live stream (Server-Sent Events) from the ASGI process: a real
uvicorn server on the test database (tests/orders/sse.py). Auth, scoping to the user's
accounts, an event per state change and per fill, resuming from Last-Event-ID with no gap
and no repeat, and two transactions that commit out of id order."""

import threading
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token

from orders import services
from orders.live import feed
from tests.dispatch.conftest import drain
from tests.factories import make_order
from tests.orders.sse import LiveServer, Stream

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(transactional_db, limiter_redis):
    running = LiveServer().start()
    yield running
    running.stop()


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def kinds(events) -> list[tuple[str, str, str]]:
    return [(e["event"], e["data"]["type"], e["data"]["toStatus"]) for e in events]


def test_a_token_is_needed(server, trader):
    for key in (None, "not-a-token"):
        refused = Stream(server, key)
        assert refused.status == 401
        assert refused.body["code"] in ("not_authenticated", "authentication_failed")


def test_a_deleted_token_ends_the_stream(server, trader, monkeypatch):
    from orders.live import stream as live_stream

    monkeypatch.setattr(live_stream, "RECHECK_SECONDS", 0.3)
    monkeypatch.setattr(live_stream.settings, "OMS_LIVE_POLL_SECONDS", 0.2)
    following = Stream(server, token(trader))
    Token.objects.filter(user=trader).delete()
    (ended,) = following.wait_for(1, timeout=10)
    assert ended["event"] == "error" and ended["data"]["code"] == "authentication_failed"
    following.wait_closed()
    make_order(user=trader, account_code="ACC-1")
    assert len(following.settle()) == 1


def test_gunicorn_does_not_serve_the_stream_it_points_to_the_live_process(trader_api):
    response = trader_api.get("/api/v1/events")  # the WSGI handler, as gunicorn runs it
    assert response.status_code == 404
    assert "live process" in response.json()["message"]


def test_a_bad_or_unknown_last_event_id_is_400(server, trader):
    for value in ("abc", "-1", "99999999999999999999", "123456789"):
        refused = Stream(server, token(trader), last_event_id=value)
        assert refused.status == 400 and refused.body["code"] == "invalid_last_event_id"


def test_an_event_per_state_change_and_per_fill_in_order(server, trader, in_process_venue):
    stream = Stream(server, token(trader))
    assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
    order = make_order(user=trader, account_code="ACC-1", quantity=Decimal("10"))
    drain(in_process_venue)  # claimed, written, acknowledged
    cl_ord_id = in_process_venue.messages("D")[0][11]
    in_process_venue.deliver([in_process_venue.book.fill(cl_ord_id, Decimal("4"), Decimal("150"))])
    in_process_venue.deliver([in_process_venue.book.fill(cl_ord_id, Decimal("6"), Decimal("151"))])

    events = stream.wait_for(5)
    assert kinds(events) == [
        ("order", "CREATED", "QUEUED"), ("order", "SENT", "PENDING_NEW"),
        ("order", "ACKNOWLEDGED", "NEW"), ("fill", "FILLED", "PARTIALLY_FILLED"),
        ("fill", "FILLED", "FILLED"),
    ]
    assert {e["data"]["orderId"] for e in events} == {str(order.pk)}
    assert [e["id"] for e in events] == [str(e["data"]["eventId"]) for e in events]
    assert events[3]["data"]["data"]["cumQty"] == "4"
    assert events[4]["data"]["clientOrderId"] == order.client_order_id
    assert len(stream.settle()) == 5


def test_another_account_s_events_never_appear(server, trader, other_trader, operator):
    mine, theirs, everyone = (Stream(server, token(trader)), Stream(server, token(other_trader)),
                              Stream(server, token(operator)))
    own = make_order(user=trader, account_code="ACC-1")
    other = make_order(user=other_trader, account_code="ACC-2")
    services.order_cancel(order_id=other.pk, actor="other-trader")

    assert {e["data"]["orderId"] for e in mine.wait_for(1)} == {str(own.pk)}
    assert {e["data"]["accountId"] for e in theirs.wait_for(2)} == {"ACC-2"}
    assert len(everyone.wait_for(3)) == 3  # operators follow every account
    assert len(mine.settle()) == 1 and len(theirs.events) == 2


def test_a_reconnect_resumes_after_the_last_event_seen_without_gap_or_repeat(server, trader):
    first = Stream(server, token(trader))
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(3)]
    seen = first.wait_for(3)
    first.close()  # the client drops; events go on meanwhile
    for order in orders:
        services.order_cancel(order_id=order.pk, actor="trader")
    services.order_cancel(order_id=make_order(user=trader, account_code="ACC-1").pk,
                          actor="trader")

    again = Stream(server, token(trader), last_event_id=seen[-1]["id"])
    resumed = again.wait_for(5)
    assert kinds(resumed) == [("order", "CANCELED", "CANCELED")] * 3 + [
        ("order", "CREATED", "QUEUED"), ("order", "CANCELED", "CANCELED")]
    ids = [int(e["id"]) for e in seen + resumed]
    assert len(ids) == len(set(ids))
    assert len(again.settle()) == 5

    # From the very beginning (Last-Event-ID 0): the same events, the same order.
    replay = Stream(server, token(trader), last_event_id="0").wait_for(8)
    assert [e["id"] for e in replay] == [e["id"] for e in seen + resumed]


def test_an_event_that_commits_after_a_later_id_is_neither_skipped_nor_repeated(
    server, trader
):
    """Transaction A writes event a, then B writes event b > a and commits first. A stream
    that delivered b and resumed after it would never see a; this one holds b back until A
    has ended, then sends a and b in commit-safe order."""
    stream = Stream(server, token(trader))
    position = feed.start_position(None)
    a_written, a_may_commit = threading.Event(), threading.Event()
    made = {}

    def transaction_a():
        from django.db import connection, transaction

        try:
            with transaction.atomic():
                made["a"] = make_order(user=trader, account_code="ACC-1",
                                       client_order_id="a")
                a_written.set()
                assert a_may_commit.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=transaction_a)
    writer.start()
    assert a_written.wait(10)
    b = make_order(user=trader, account_code="ACC-1", client_order_id="b")  # commits now

    held, held_back = feed.events_after(position, user_id=trader.pk)
    assert held == [] and held_back  # b waits behind A, which is still running
    assert stream.settle(1.0) == []
    a_may_commit.set()
    writer.join(10)

    events = stream.wait_for(2)
    assert [e["data"]["clientOrderId"] for e in events] == ["a", "b"]
    a_id, b_id = (int(e["id"]) for e in events)
    assert a_id < b_id  # ids in insert order, and a committed last: the case in point
    assert made["a"].client_order_id == "a" and str(b.pk) == events[1]["data"]["orderId"]
    # A reconnect after a sees b once; after b, nothing.
    assert [e["data"]["clientOrderId"]
            for e in Stream(server, token(trader), last_event_id=str(a_id)).wait_for(1)] == ["b"]
    assert Stream(server, token(trader), last_event_id=str(b_id)).settle() == []
