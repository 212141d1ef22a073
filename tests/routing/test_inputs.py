"""routing.inputs reads each venue as the router sees it: fees from the venue, why it may
not get orders now (session, kill switches, logon, backlog), its recent latency and its
quote; in a few queries however long the history."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.drain import dispatch_drain
from marketdata.quotes import Quote, QuoteStore
from orders.services import order_create
from routing import route, venue_views
from sessions.services import (
    session_reconcile,
    session_update,
    trading_halt_set,
    venue_kill_switch_set,
)
from tests.dispatch.conftest import venue_live
from tests.factories import order_terms
from tests.routing.views import buy
from venues.models import Venue
from venues.services import venue_put, venue_update

pytestmark = pytest.mark.django_db

_ids = iter(range(1, 10**9))


@pytest.fixture
def store(limiter_redis) -> QuoteStore:
    return QuoteStore(limiter_redis)


def book(store: QuoteStore, venue: str, *, asks, age: float = 0.0, symbol="AAPL") -> None:
    sent = datetime.now(UTC) - timedelta(seconds=age)
    store.put([Quote(venue_code=venue, symbol=symbol, sent_at=sent,
                     asks=tuple((Decimal(p), Decimal(s)) for p, s in asks),
                     bids=((Decimal(99), Decimal(10)),))])


def queue(trader, venue: str, count: int) -> None:
    """`count` orders waiting in the venue's queue (a symbol without quotes: no risk band)."""
    for _ in range(count):
        order_create(user=trader, account_code="ACC-1", client_order_id=f"r-{next(_ids)}",
                     terms=order_terms(symbol="MSFT"), venue_code=venue)


def by_code(**kwargs) -> dict:
    return {view.code: view for view in venue_views(**kwargs)}


def test_each_venue_with_its_fees_quote_and_why_it_may_not_get_orders(
    limiter_redis, store, settings
):
    settings.OMS_ROUTING_DEFAULT_LATENCY_MS = 7.5
    venue_live("XLIVE")
    venue_update(code="XLIVE", actor="tests", maker_fee_per_share=Decimal("-0.002"),
                 taker_fee_per_share=Decimal("0.003"))
    venue_live("XKILL")
    venue_kill_switch_set(venue_code="XKILL", halted=True, reason="desk", actor="tests")
    venue_live("XSHUT")
    session_update(venue_code="XSHUT", actor="tests", override="CLOSED")
    venue_put(code="XDOWN", actor="tests")
    session_update(venue_code="XDOWN", actor="tests", override="OPEN")
    session_reconcile(venue_code="XDOWN")  # wanted up; its holder has not logged on
    book(store, "XLIVE", asks=[("100.00", 300), ("100.01", 50)])
    book(store, "XDOWN", asks=[("100.00", 300)], age=60)

    views = by_code(symbol="AAPL")

    assert list(views) == ["XDOWN", "XKILL", "XLIVE", "XSHUT"]
    live = views["XLIVE"]
    assert (live.maker_fee, live.taker_fee) == (Decimal("-0.002"), Decimal("0.003"))
    assert live.skip == ""
    assert live.latency_ms == 7.5  # no answer yet: the default
    assert live.quote.asks == [(Decimal("100.00"), Decimal(300)), (Decimal("100.01"), 50)]
    assert not live.quote.stale
    assert {code: view.skip for code, view in views.items()} == {
        "XDOWN": "not logged on", "XKILL": "kill switch", "XLIVE": "", "XSHUT": "closed"}
    assert views["XDOWN"].quote.stale
    assert views["XKILL"].quote is None


def test_the_global_kill_switch_halts_every_venue(limiter_redis):
    venue_live("XLIVE")
    trading_halt_set(halted=True, reason="fire drill", actor="tests")

    assert by_code(symbol="AAPL")["XLIVE"].skip == "halted"


def test_a_backlog_longer_than_the_setting_in_seconds_of_the_send_limit_skips_the_venue(
    trader, limiter_redis, settings
):
    settings.OMS_ROUTING_MAX_BACKLOG_SECONDS = 2
    venue_live("XBUSY", limit=2)  # room for a backlog of 2 x 2 = 4
    queue(trader, "XBUSY", 4)
    assert by_code(symbol="AAPL")["XBUSY"].skip == ""

    queue(trader, "XBUSY", 1)

    assert by_code(symbol="AAPL")["XBUSY"].skip == "backlog 5 > 4"
    settings.OMS_ROUTING_MAX_BACKLOG_SECONDS = 1.5
    assert by_code(symbol="AAPL")["XBUSY"].skip == "backlog 5 > 3"
    settings.OMS_ROUTING_MAX_BACKLOG_SECONDS = 0.25
    assert by_code(symbol="AAPL")["XBUSY"].skip == "backlog 5 > 0.5"


def test_latency_is_the_median_round_trip_of_the_venues_answered_new_orders(
    trader, in_process_venue
):
    for micros in (1000, 9000, 2000):
        in_process_venue.latency_micros = lambda micros=micros: micros
        queue(trader, "XMOCK", 1)
        dispatch_drain(venue_code="XMOCK", budget_seconds=1)
        in_process_venue.pump()
    queue(trader, "XMOCK", 1)  # queued, unanswered: not counted

    assert by_code(symbol="AAPL")["XMOCK"].latency_ms == 2.0


def test_the_number_of_queries_does_not_grow_with_the_history(trader, in_process_venue):
    venue_live("XTWO")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            venue_views(symbol="AAPL")
        return len(captured.captured_queries)

    queue(trader, "XMOCK", 2)
    dispatch_drain(venue_code="XMOCK", budget_seconds=1)
    in_process_venue.pump()
    few = queries()
    queue(trader, "XMOCK", 30)
    queue(trader, "XTWO", 30)
    dispatch_drain(venue_code="XMOCK", budget_seconds=1)
    in_process_venue.pump()

    assert queries() == few
    # The venues, the halt, the sessions, the queues; and each venue's latest answers.
    assert few <= 4 + Venue.objects.count()


def test_route_plans_over_the_venues_as_they_are_now(limiter_redis, store):
    venue_live("XONE")
    venue_live("XTWO")
    venue_update(code="XTWO", actor="tests", taker_fee_per_share=Decimal("0.02"))
    book(store, "XONE", asks=[("100.01", 500)])
    book(store, "XTWO", asks=[("100.00", 500)])

    plan = route(buy(600, "100.01"))

    # XTWO's 100.00 costs 100.02 to take: XONE first.
    assert [(s.venue, s.quantity) for s in plan.slices] == [("XONE", 500), ("XTWO", 100)]
