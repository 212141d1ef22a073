"""Retention (orders/services/retention.py): history older than the retention goes, done
order by done order (a routed parent with all its children), in bounded batches; what is
open, in flight or recent stays; positions keep their figures and the books add up after.

The cut-off is an instant taken between the "old" and the "recent" traffic of a test, and
retention runs as if 90 days had passed since it."""

import json
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
import uuid6
from django.core.management import call_command
from django.utils import timezone

from dispatch.models import UnmatchedResponse, VenueRequest
from dispatch.queue import unmatched_record
from dispatch.tally import requests_tally
from executions.checks import assert_books_add_up
from executions.models import ExecutionReport, Fill, Position
from orders import services
from orders.models import Order, OrderEvent
from orders.services.retention import history_prune
from orders.tally import orders_tally
from risk.models import Admission
from sessions.models import SessionEvent, TradingHaltEvent
from sessions.services import session_update, trading_halt_set
from tests.dispatch.conftest import drain, in_process_venue  # noqa: F401  (fixture)
from tests.executions.conftest import default_venue_open, live_order  # noqa: F401
from tests.factories import make_order
from tests.metrics.conftest import scrape, series  # noqa: F401  (fixture)
from tests.orders.test_parents import account, book, children, cl_ord_id, pump, routed, venues  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal
DAYS = 90


def cut() -> datetime:
    """An instant between what came before and what comes after."""
    time.sleep(0.002)
    at = timezone.now()
    time.sleep(0.002)
    return at


ORDER_HISTORY = ("orders", "order_events", "venue_requests", "execution_reports", "fills")


def retention(cutoff: datetime, **kwargs) -> dict[str, int]:
    """Beat's tallies, then a retention run as if `cutoff` was DAYS ago: what it removed of
    orders' history (the venues' set-up leaves session history behind in every test)."""
    orders_tally()
    requests_tally()
    removed = history_prune(now=cutoff + timedelta(days=DAYS), days=DAYS, **kwargs)
    return {kind: n for kind, n in removed.items() if kind in ORDER_HISTORY}


def rows_of(order: Order) -> dict[str, int]:
    return {"orders": Order.objects.filter(pk=order.pk).count(),
            "events": OrderEvent.objects.filter(order_id=order.pk).count(),
            "requests": VenueRequest.objects.filter(order_id=order.pk).count(),
            "reports": ExecutionReport.objects.filter(order_id=order.pk).count(),
            "fills": Fill.objects.filter(order_id=order.pk).count()}


def filled(venue, user, quantity="10", price="150", **terms) -> Order:
    order, cl = live_order(venue, user, quantity=D(quantity), limit_price=D(price), **terms)
    venue.deliver([venue.book.fill(cl, D(quantity), D(price))])
    order.refresh_from_db()
    assert order.status == "FILLED"
    return order


def position_figures(account_code="ACC-1", symbol="AAPL") -> tuple:
    held = Position.objects.get(account_id=account_code, symbol=symbol)
    return held.net_quantity, held.average_cost, held.realized_pnl, held.fees


# --- what goes, what stays -----------------------------------------------------------------------


def test_old_done_history_goes_and_open_or_recent_history_stays(trader, in_process_venue):
    venue = in_process_venue
    old_filled = filled(venue, trader)
    old_cancelled = make_order(user=trader, account_code="ACC-1")
    services.order_cancel(order_id=old_cancelled.pk, actor="trader")
    old_open, _ = live_order(venue, trader)
    assert rows_of(old_filled) == {"orders": 1, "events": 4, "requests": 1, "reports": 2,
                                   "fills": 1}
    cutoff = cut()
    recent_filled = filled(venue, trader)
    kept = {order.pk: rows_of(order) for order in (old_open, recent_filled)}

    removed = retention(cutoff)

    assert removed == {"orders": 2, "order_events": 6, "venue_requests": 2,
                       "execution_reports": 2, "fills": 1}
    for order in (old_filled, old_cancelled):
        assert set(rows_of(order).values()) == {0}
    assert {pk: rows_of(Order(pk=pk)) for pk in kept} == kept
    assert_books_add_up()


def test_nothing_goes_before_the_retention_or_with_retention_off(trader, in_process_venue):
    done = filled(in_process_venue, trader)
    orders_tally()
    requests_tally()
    before = rows_of(done)

    assert history_prune(now=timezone.now() + timedelta(days=DAYS - 1), days=DAYS).keys() \
        <= {"session_events"}
    assert history_prune(now=timezone.now() + timedelta(days=10 * DAYS), days=0) == {}
    assert rows_of(done) == before


def test_an_order_changed_since_the_cutoff_stays_until_that_change_is_old(
        trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    first = venue.book.fill(cl, D("4"), D("150"))
    venue.deliver([first, venue.book.fill(cl, D("6"), D("151"))])
    cutoff = cut()
    venue.deliver([venue.book.bust(first[17])])  # FILLED -> CANCELED after the cut-off

    assert retention(cutoff) == {}
    assert rows_of(order)["fills"] == 2
    assert retention(cut())["orders"] == 1


def test_an_order_not_yet_counted_by_metrics_waits_for_the_tally(trader, in_process_venue):
    done = filled(in_process_venue, trader)
    cutoff = cut()

    assert "orders" not in history_prune(now=cutoff + timedelta(days=DAYS), days=DAYS)
    assert rows_of(done)["orders"] == 1
    assert retention(cutoff)["orders"] == 1


def test_a_done_order_with_a_request_still_in_flight_stays(trader, in_process_venue):
    venue = in_process_venue
    done = filled(venue, trader)
    # A status question about it, claimed and unanswered (the sweeper's business).
    VenueRequest.objects.create(order=done, venue_id="XMOCK", kind="STATUS", state="SENDING",
                                claimed_at=timezone.now())
    cutoff = cut()

    assert retention(cutoff) == {}
    assert rows_of(done)["orders"] == 1


def test_routed_parents_wait_for_every_child(venues, trader, account):
    book("XMOCK", asks=[("100.00", "300")])
    book("XFAST", asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    kids = children(parent)
    pump(venues)
    venues["XMOCK"].deliver([venues["XMOCK"].book.fill(cl_ord_id(kids["XMOCK"]), D(300),
                                                       D("100.00"))])
    assert {k: c.status for k, c in children(parent).items()} == {
        "XMOCK": "FILLED", "XFAST": "NEW"}

    # The XMOCK child is done, its parent is not: nothing of the family goes.
    assert retention(cut()) == {}
    assert all(rows_of(order)["orders"] == 1 for order in (parent, *kids.values()))

    services.order_cancel(order_id=parent.pk, actor="trader")
    pump(venues)
    parent.refresh_from_db()
    assert parent.status == "CANCELED" and parent.filled_quantity == 300
    removed = retention(cut())
    assert removed["orders"] == 3 and removed["fills"] == 1
    assert not Order.objects.filter(pk__in=[parent.pk, *[c.pk for c in kids.values()]]).exists()
    assert Position.objects.get(account_id=account, symbol="AAPL").net_quantity == 300
    assert_books_add_up()


# --- positions -----------------------------------------------------------------------------------


def test_positions_keep_their_figures_and_a_later_bust_rebuilds_from_them(
        trader, in_process_venue):
    venue = in_process_venue
    filled(venue, trader, "10", "100")
    filled(venue, trader, "4", "110", side="SELL")
    cutoff = cut()
    recent, cl = live_order(venue, trader, quantity=D("6"), limit_price=D("105"))
    first = venue.book.fill(cl, D("2"), D("104"))
    venue.deliver([first, venue.book.fill(cl, D("3"), D("105"))])
    before = position_figures()

    assert retention(cutoff)["fills"] == 2
    assert position_figures() == before
    assert Fill.objects.filter(account_id="ACC-1").count() == 2
    assert_books_add_up()

    venue.deliver([venue.book.bust(first[17])])
    # Bought 10 @ 100, sold 4 @ 110 (realized 40), bought 3 @ 105: 9 at (6 x 100 + 315) / 9.
    assert position_figures()[:3] == (D("9"), D("101.66666667"), D("40"))
    assert_books_add_up()


def test_amending_a_trade_folded_into_a_position_flags_it_and_keeps_the_position(
        trader, in_process_venue):
    venue = in_process_venue
    open_order, cl = live_order(venue, trader, time_in_force="GTC")
    early = venue.book.fill(cl, D("2"), D("150"))
    venue.deliver([early])
    filled(venue, trader, "5", "151")  # done, after the open order's trade
    cutoff = cut()
    assert retention(cutoff)["orders"] == 1  # the open order's trade is folded, not removed
    before = position_figures()

    venue.deliver([venue.book.bust(early[17])])

    fill = Fill.objects.get(exec_id=early[17])
    assert fill.state == "BUSTED" and "retention folded it" in fill.flag
    open_order.refresh_from_db()
    assert open_order.filled_quantity == 0
    assert position_figures() == before
    assert_books_add_up()


# --- bounded, idempotent, archived ---------------------------------------------------------------


def test_each_run_is_bounded_and_a_second_run_changes_nothing(trader, in_process_venue,
                                                               tmp_path):
    venue = in_process_venue
    orders = [filled(venue, trader) for _ in range(5)]
    cutoff = cut()

    first = retention(cutoff, batch=2, max_batches=1, archive_dir=str(tmp_path))
    assert first["orders"] == 2
    assert retention(cutoff, batch=2, max_batches=2, archive_dir=str(tmp_path))["orders"] == 3
    assert retention(cutoff, batch=2, max_batches=2, archive_dir=str(tmp_path)) == {}

    assert not Order.objects.filter(pk__in=[o.pk for o in orders]).exists()
    archived = [json.loads(line) for path in (tmp_path / "orders_order").glob("*.jsonl")
                for line in path.read_text().splitlines()]
    assert sorted(row["id"] for row in archived) == sorted(str(o.pk) for o in orders)
    fills = (tmp_path / "executions_fill").glob("*.jsonl")
    assert sum(len(path.read_text().splitlines()) for path in fills) == 5
    assert_books_add_up()


def test_the_command_catches_up_until_nothing_is_left(trader, capsys, monkeypatch):
    # uuid7() never goes back in time within a process: let it, for orders made "long ago".
    monkeypatch.setattr(uuid6, "_last_v7_timestamp", None)
    with time_machine.travel(timezone.now() - timedelta(days=DAYS + 1), tick=True):
        for _ in range(3):
            order = make_order(user=trader, account_code="ACC-1")
            services.order_cancel(order_id=order.pk, actor="trader")

    call_command("oms_retention", "--days", "0")
    assert "Retention is off" in capsys.readouterr().out
    call_command("oms_retention", "--days", str(DAYS), "--batch", "1", "--max-batches", "1",
                 "--until-done")

    assert not Order.objects.exists()
    assert "orders 3" in capsys.readouterr().out


# --- the rest of the history ----------------------------------------------------------------------


def test_session_history_and_unmatched_messages_go_but_a_pending_logon_stays(
        in_process_venue):
    session_update(venue_code="XMOCK", actor="ops", override="CLOSED")
    trading_halt_set(halted=True, reason="drill", actor="ops")
    trading_halt_set(halted=False, reason="", actor="ops")
    unmatched_record(venue_code="XMOCK", key="x", why="test", payload={})
    pending = SessionEvent.objects.create(session_id="XMOCK", type="LOGON", actor="beat",
                                          result="PENDING")
    cutoff = cut()
    session_update(venue_code="XMOCK", actor="ops", override="OPEN")
    recent = SessionEvent.objects.order_by("-id").first()

    orders_tally()
    requests_tally()
    removed = history_prune(now=cutoff + timedelta(days=DAYS), days=DAYS)

    assert removed["trading_halt_events"] == 2 and removed["unmatched_responses"] == 1
    assert removed["session_events"] >= 1
    assert set(SessionEvent.objects.values_list("pk", flat=True)) >= {pending.pk, recent.pk}
    assert not SessionEvent.objects.filter(created_at__lt=cutoff).exclude(pk=pending.pk)
    assert not TradingHaltEvent.objects.exists() and not UnmatchedResponse.objects.exists()


def test_a_market_orders_admitted_price_goes_with_it(trader, in_process_venue, quotes):
    quotes("XMOCK", "AAPL", bid="149.9", ask="150.1")
    order = make_order(user=trader, account_code="ACC-1", order_type="MARKET",
                       limit_price=None)
    services.order_cancel(order_id=order.pk, actor="trader")
    assert Admission.objects.filter(order_id=order.pk).exists()

    assert retention(cut())["orders"] == 1
    assert not Admission.objects.filter(order_id=order.pk).exists()


# --- /metrics across retention --------------------------------------------------------------------


def test_metrics_counters_do_not_fall_when_retention_removes_history(
        trader, in_process_venue, scrape):  # noqa: F811
    venue = in_process_venue
    filled(venue, trader)
    cancelled = make_order(user=trader, account_code="ACC-1")
    services.order_cancel(order_id=cancelled.pk, actor="trader")
    live_order(venue, trader)
    before = scrape()

    assert retention(cut())["orders"] == 2
    after = scrape()

    for name in ("oms_venue_requests_sent_total", "oms_venue_request_latency_seconds_bucket",
                 "oms_venue_request_latency_seconds_count",
                 "oms_venue_request_latency_seconds_sum", "oms_fills_quarantined_total",
                 "oms_fills_reconciled_total"):
        assert after[name] == before[name], name
    # oms_orders is the orders there are: the two removed are no longer counted.
    assert series(before, "oms_orders", venue="XMOCK")["FILLED"] == 1
    assert series(after, "oms_orders", venue="XMOCK") == {
        **series(before, "oms_orders", venue="XMOCK"), "FILLED": 0, "CANCELED": 0}
