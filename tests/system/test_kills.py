"""SIGKILL the process that holds the venue's FIX session, and separately a dispatcher, with
sends in flight; then cancel and modify the orders at once. After recovery every order's
status and terms here equal the venue's book, nothing acted twice at the venue, and no
cancel was lost."""

import uuid
from decimal import Decimal

import pytest

from orders import services
from orders.errors import InvalidTransition
from orders.models import Order
from sessions.models import VenueSession
from tests.factories import order_terms
from tests.system.books import check_books, check_wire, print_numbers, queue_is_drained
from tests.system.books import order_statuses, request_states
from tests.system.conftest import LIMIT, Beat
from tests.system.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

VENUE = "XMOCK"


def burst(user, count: int) -> list[Order]:
    run = uuid.uuid4().hex[:6]
    return [services.order_create(user=user, account_code="ACC-1",
                                  client_order_id=f"k-{run}-{n:03d}", venue_code=VENUE,
                                  terms=order_terms())[0]
            for n in range(count)]


def logged_on() -> bool:
    return VenueSession.objects.get(pk=VENUE).state == "LOGGED_ON"


def in_flight() -> int:
    from dispatch.models import VenueRequest

    return VenueRequest.objects.filter(venue_id=VENUE, state="SENDING").count()


def change_at_once(orders: list[Order]) -> tuple[set, dict]:
    """Cancel every third order and modify the one after it, whatever state each is in: the
    services accept or refuse as the order's state decides."""
    cancelled, modified = set(), {}
    for i, order in enumerate(orders):
        try:
            if i % 3 == 0:
                services.order_cancel(order_id=order.pk, actor="trader")
                cancelled.add(order.pk)
            elif i % 3 == 1:
                services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("7"))
                modified[order.pk] = Decimal("7")
        except InvalidTransition:
            pass  # e.g. a modify of an order whose NEW is on the wire
    return cancelled, modified


def settle_and_check(system, orders, cancelled, modified, *, beat: Beat, label: str):
    wait_for(lambda: queue_is_drained(VENUE), timeout=120, every=0.25, tick=beat,
             what=lambda: f"the queue to drain: {request_states(VENUE)} "
                          f"{order_statuses(o.pk for o in orders)}")
    books = check_books(venue_code=VENUE, book=system.exchange.book(VENUE))
    wire = check_wire(stats=system.exchange.stats(VENUE),
                      messages=system.exchange.messages(VENUE), limit=LIMIT)
    final = {o.pk: o for o in Order.objects.filter(pk__in=[o.pk for o in orders])}
    lost = [str(pk) for pk in cancelled if final[pk].status != "CANCELED"]
    assert not lost, f"cancels lost: {lost}"
    unapplied = [str(pk) for pk, qty in modified.items()
                 if pk not in cancelled and final[pk].quantity != qty]
    assert not unapplied, f"modifies not applied: {unapplied}"
    print_numbers(label, **books, **wire, cancelled=len(cancelled), modified=len(modified),
                  status_checks=beat.asked)


def test_the_session_holder_killed_mid_burst_loses_nothing_and_acts_once(
    system_factory, operator
):
    system = system_factory(latency_ms="40")
    system.venue(VENUE)
    holder = system.oms.holder(VENUE)
    system.oms.wait_ready([system.oms.dispatcher()])
    wait_for(logged_on, timeout=20, what="the logon")
    orders = burst(operator, 40)
    wait_for(lambda: in_flight() >= 3 and Order.objects.filter(status="NEW").count() >= 5,
             timeout=30, every=0.02, what="sends in flight")

    holder.kill()
    cancelled, modified = change_at_once(orders)
    system.oms.holder(VENUE)  # takes the session over once the dead one's lease runs out

    settle_and_check(system, orders, cancelled, modified, beat=Beat(),
                     label="session holder SIGKILLed mid-burst")


def test_a_dispatcher_killed_mid_burst_loses_nothing_and_acts_once(system_factory, operator):
    system = system_factory(latency_ms="5")
    system.venue(VENUE)
    system.oms.holder(VENUE)
    dispatcher = system.oms.dispatcher()
    system.oms.wait_ready([dispatcher])
    wait_for(logged_on, timeout=20, what="the logon")
    orders = burst(operator, 40)
    wait_for(lambda: Order.objects.filter(status="NEW").count() >= 5, timeout=30,
             every=0.02, what="sends under way")

    dispatcher.kill()
    cancelled, modified = change_at_once(orders)
    system.oms.wait_ready([system.oms.dispatcher()])

    settle_and_check(system, orders, cancelled, modified, beat=Beat(),
                     label="dispatcher SIGKILLed mid-burst")
