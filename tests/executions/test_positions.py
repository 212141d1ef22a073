"""Positions at average cost: the arithmetic (executions/pnl.py), the row moved in the fill's
transaction under its lock (two fills at once lose nothing), marks from the market data
cache (executions/market_prices.py), and the books' invariant checker."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from executions import pnl
from executions.checks import books_problems
from executions.market_prices import latest_marks, latest_price
from executions.models import Position
from orders import services
from orders.models import Order
from tests.executions.conftest import D, live_order
from tests.venues.inproc import venue_message
from venues.services import venue_put

# --- the arithmetic ---------------------------------------------------------------------------


def test_average_cost_adds_up_reduces_closes_and_flips():
    book = pnl.replay([("BUY", D("10"), D("100"), D("1")), ("BUY", D("10"), D("110"), None)])
    assert (book.net, book.average_cost, book.realized, book.fees) == (
        D("20"), D("105"), D("0"), D("1"))
    book = pnl.step(book, quantity=D("-5"), price=D("120"))  # reduce: realize 5 x 15
    assert (book.net, book.average_cost, book.realized) == (D("15"), D("105"), D("75"))
    book = pnl.step(book, quantity=D("-20"), price=D("90"))  # through zero: -225, short 5
    assert (book.net, book.average_cost, book.realized) == (D("-5"), D("90"), D("-150"))
    book = pnl.step(book, quantity=D("5"), price=D("80"))  # a short closed below its cost
    assert (book.net, book.average_cost, book.realized) == (D("0"), None, D("-100"))


def test_average_cost_is_kept_to_8_places_and_realized_pnl_is_exact_given_it():
    book = pnl.replay([("BUY", D("1"), D("1"), None), ("BUY", D("2"), D("1.00000001"), None)])
    assert book.average_cost == D("1.00000001")  # 1.0000000066... half to even
    book = pnl.step(book, quantity=D("-0.000001"), price=D("99999999.99999999"))
    assert book.realized == D("0.000001") * (D("99999999.99999999") - D("1.00000001"))
    assert book.realized == D("99.99999899999998")  # no float anywhere


def test_unrealized_pnl_is_null_without_a_mark_and_zero_when_flat():
    assert pnl.unrealized(net=D("5"), average_cost=D("100"), mark=D("101.5")) == D("7.5")
    assert pnl.unrealized(net=D("-5"), average_cost=D("100"), mark=D("101.5")) == D("-7.5")
    assert pnl.unrealized(net=D("5"), average_cost=D("100"), mark=None) is None
    assert pnl.unrealized(net=D("0"), average_cost=None, mark=None) == 0


# --- the row, under its lock ------------------------------------------------------------------


def _apply(tags: dict, seq: int) -> None:
    with transaction.atomic():
        services.OrderBooks().received(venue_code="XMOCK", message=venue_message(tags, seq),
                                       latency_micros=None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("held_before", [False, True], ids=["first-fills", "a-held-position"])
def test_two_fills_at_once_for_one_account_and_symbol_lose_no_update(
    trader, in_process_venue, monkeypatch, held_before
):
    venue = in_process_venue
    first, first_cl = live_order(venue, trader)
    second, second_cl = live_order(venue, trader, side="SELL", limit_price=D("151"))
    held = D(0)
    if held_before:  # the position row exists: the common case
        earlier, earlier_cl = live_order(venue, trader)
        venue.deliver([venue.book.fill(earlier_cl, D("1"), D("149"))])
        held = D("1")
    buy = venue.book.fill(first_cl, D("3"), D("150"))
    sell = venue.book.fill(second_cl, D("5"), D("151"))
    # Widen the window between reading the position and writing it back: without the row
    # lock each would read the flat position and one of the two updates would be lost.
    step = pnl.step

    def slow_step(*args, **kwargs):
        time.sleep(0.3)
        return step(*args, **kwargs)

    monkeypatch.setattr(pnl, "step", slow_step)
    barrier, errors = threading.Barrier(2), []

    def run(tags, seq):
        try:
            barrier.wait()
            _apply(tags, seq)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(tags, seq))
               for tags, seq in ((buy, 100), (sell, 101))]
    [thread.start() for thread in threads]
    [thread.join(timeout=30) for thread in threads]

    assert errors == []
    position = Position.objects.get(account_id="ACC-1", symbol="AAPL")
    assert position.net_quantity == held + D("-2")  # +3 -5: both counted
    assert Order.objects.get(pk=first.pk).filled_quantity == D("3")
    assert Order.objects.get(pk=second.pk).filled_quantity == D("5")
    assert books_problems() == []


# --- marks -------------------------------------------------------------------------------------


@pytest.fixture
def market(db, limiter_redis):
    """The market data cache (the test Redis), with a second venue configured."""
    venue_put(code="XFAST", actor="tests")
    return redis.Redis.from_url(settings.REDIS_URL)


def quote(market, venue: str, symbol: str, *, age_seconds: float, **fields) -> None:
    ts = (datetime.now(UTC) - timedelta(seconds=age_seconds)).isoformat()
    market.hset(f"oms:md:{venue}:{symbol}", mapping={"ts": ts, **fields})


def test_the_mark_is_the_freshest_venues_last_or_its_mid(market):
    quote(market, "XMOCK", "AAPL", age_seconds=5, bid="149", ask="151", last="150.5")
    quote(market, "XFAST", "AAPL", age_seconds=1, bid="150", ask="150.03", last="150.01")
    quote(market, "XMOCK", "MSFT", age_seconds=1, bid="320.1", ask="320.2")  # no trade yet

    assert latest_price("AAPL") == D("150.01")
    assert latest_price("MSFT") == D("320.15")
    assert latest_marks(["MSFT"])["MSFT"].source == "mid"
    assert latest_price("NVDA") is None


def test_a_quote_without_a_time_or_with_garbage_is_no_mark(market):
    market.hset("oms:md:XMOCK:AAPL", mapping={"last": "150"})  # no ts
    market.hset("oms:md:XFAST:AAPL", mapping={"last": "NaN", "ts": "yesterday"})
    quote(market, "XMOCK", "MSFT", age_seconds=1, last="-3", bid="1")

    assert latest_price("AAPL") is None
    assert latest_price("MSFT") is None


def test_no_redis_means_no_mark_not_an_error(db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    assert latest_price("AAPL") is None


# --- the checker ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_checker_sees_books_that_do_not_add_up(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    venue.deliver([venue.book.fill(cl, D("4"), D("150"))])
    assert books_problems() == []

    Order.objects.filter(pk=order.pk).update(filled_quantity=D("5"))
    Position.objects.filter(account_id="ACC-1").update(net_quantity=D("3"))

    problems = books_problems()
    assert any("cumQty 5" in p and "add up to 4" in p for p in problems), problems
    assert any("position ACC-1 AAPL" in p for p in problems), problems
    Order.objects.filter(pk=order.pk).update(filled_quantity=D("4"), average_price=D("151"))
    assert any("avgPx 151" in p for p in books_problems())
