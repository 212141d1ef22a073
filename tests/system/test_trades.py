"""The market trades, the OMS books it: with the mock exchange's market on, crossing orders
fill (a large one partially, then in full), IOCs leave a remainder cancelled, the FIX
holder is SIGKILLed mid-stream, the venue busts one trade and corrects another. After it
all, our executions table and the exchange's trade log match row for row, every order's
fills add up to its cumQty, every position to its signed fills, and our books equal the
venue's."""

import time
import uuid
from decimal import Decimal

import pytest

from executions.models import Fill, FillKind, FillState
from orders import services
from orders.models import Order
from sessions.models import VenueSession
from tests.factories import order_terms
from tests.system.books import check_books, check_wire, print_numbers, queue_is_drained
from tests.system.books import order_statuses, request_states
from tests.system.conftest import LIMIT, Beat
from tests.system.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

VENUE = "XMOCK"
D = Decimal


def logged_on() -> bool:
    return VenueSession.objects.get(pk=VENUE).state == "LOGGED_ON"


def place(user, run: str, n: int, **terms) -> Order:
    return services.order_create(user=user, account_code="ACC-1",
                                 client_order_id=f"t-{run}-{n:03d}", venue_code=VENUE,
                                 terms=order_terms(**{"time_in_force": "GTC", **terms}))[0]


def a_mix(user) -> list[Order]:
    """AAPL's demo market starts at 190.00, five levels of 500 a side, a cent apart."""
    run = uuid.uuid4().hex[:6]
    n = iter(range(1000))
    orders = []
    for _ in range(6):  # cross at once
        orders.append(place(user, run, next(n), quantity=D("300"), limit_price=D("191")))
        orders.append(place(user, run, next(n), side="SELL", quantity=D("200"),
                            limit_price=D("189")))
    for _ in range(2):  # more than the book shows: part now, the rest as it refreshes
        orders.append(place(user, run, next(n), quantity=D("3000"), limit_price=D("192")))
    for _ in range(3):  # take what is there, the rest cancelled by the venue
        orders.append(place(user, run, next(n), quantity=D("5000"), limit_price=D("190.5"),
                            time_in_force="IOC"))
    for _ in range(4):  # far from the market: they rest
        orders.append(place(user, run, next(n), quantity=D("10"), limit_price=D("186")))
    return orders


def trade_log_matches_our_fills(trades: list[dict]) -> list[str]:
    """Row for row: each trade the venue reported is one fill of ours with the same ExecID,
    side, quantity and price as they stand, fee, busted or corrected; and no trade of ours is
    unknown to the venue."""
    ours = {f.exec_id: f for f in Fill.objects.filter(venue_id=VENUE, kind=FillKind.TRADE)}
    problems = []
    for trade in trades:
        fill = ours.pop(trade["execId"], None)
        if fill is None:
            problems.append(f"the venue's trade {trade['execId']} is not in our executions")
            continue
        last = trade["corrections"][-1] if trade["corrections"] else trade
        theirs = (trade["side"], D(last["lastQty"]), D(last["lastPx"]), D(last["commission"]),
                  trade["busted"], trade["corrected"])
        mine = (fill.side, fill.last_quantity, fill.last_price, fill.fee,
                fill.state == FillState.BUSTED, fill.corrected)
        if theirs != mine:
            problems.append(f"{trade['execId']}: venue {theirs}, ours {mine}")
    problems += [f"our fill {exec_id} is not in the venue's trade log" for exec_id in ours]
    reconciled = Fill.objects.filter(venue_id=VENUE, kind=FillKind.RECONCILED,
                                     state=FillState.APPLIED, last_quantity__gt=0)
    problems += [f"a reconciled fill still stands: {f}" for f in reconciled]
    return problems


def test_trades_busts_and_corrections_are_booked_once_across_a_holder_kill(
    system_factory, operator
):
    system = system_factory(market=True, latency_ms="5")
    system.venue(VENUE, limit=LIMIT)
    holder = system.oms.holder(VENUE)
    system.oms.wait_ready([system.oms.dispatcher()])
    wait_for(logged_on, timeout=20, what="the logon")
    beat = Beat()

    orders = a_mix(operator)
    wait_for(lambda: Fill.objects.count() >= 3, timeout=30, every=0.02, tick=beat,
             what="the first fills")
    holder.kill()  # trades keep happening at the venue; their reports wait for a holder
    time.sleep(1)
    system.oms.holder(VENUE)
    wait_for(lambda: queue_is_drained(VENUE) and logged_on(), timeout=120, every=0.25,
             tick=beat, what=lambda: f"the queue to drain: {request_states(VENUE)}")
    for order in orders[-4:]:  # the resting ones
        services.order_cancel(order_id=order.pk, actor="trader")

    trades = system.exchange.trades(VENUE)
    busted, corrected = trades[0]["execId"], trades[1]["execId"]
    system.exchange.bust(VENUE, busted)
    system.exchange.correct(VENUE, corrected, qty=str(D(trades[1]["lastQty"]) - 1),
                            price=trades[1]["lastPx"])

    def settled() -> bool:
        fills = {f.exec_id: f for f in Fill.objects.filter(exec_id__in=[busted, corrected])}
        return (queue_is_drained(VENUE) and not trade_log_matches_our_fills(
            system.exchange.trades(VENUE)) and fills[busted].state == FillState.BUSTED
            and fills[corrected].corrected)

    wait_for(settled, timeout=60, every=0.5, tick=beat,
             what=lambda: "our fills to match the venue's trade log: "
             f"{trade_log_matches_our_fills(system.exchange.trades(VENUE))[:5]} "
             f"{order_statuses(o.pk for o in orders)}")

    books = check_books(venue_code=VENUE, book=system.exchange.book(VENUE))
    wire = check_wire(stats=system.exchange.stats(VENUE),
                      messages=system.exchange.messages(VENUE), limit=LIMIT)
    statuses = order_statuses(o.pk for o in orders)
    assert statuses.get("FILLED", 0) >= 10, statuses
    large = Order.objects.filter(pk__in=[o.pk for o in orders[12:14]])
    assert all(o.fills.count() >= 2 for o in large), "a large order filled in one trade"
    print_numbers("trades across a holder kill", **books, **wire, statuses=statuses,
                  trades=len(trades), fills=Fill.objects.count())
