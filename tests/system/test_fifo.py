"""FIFO on the wire: with three dispatcher processes at a 20/s limit, NewOrderSingles reach
the venue in acceptance order, as the venue's own log times them. (Measured before claims
took turns: 28 of 110 reached it more than one slot, 50 ms, out of order.)"""

import pytest

from dispatch.models import VenueRequest
from tests.system.books import check_books, print_numbers, queue_is_drained
from tests.system.conftest import Beat
from tests.system.processes import wait_for
from tests.system.test_kills import VENUE, burst, logged_on

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

LIMIT = 20
SLOT_NS = 1_000_000_000 // LIMIT


def test_new_orders_reach_the_venue_in_acceptance_order(system_factory, operator):
    system = system_factory(limit=LIMIT, latency_ms="1-3")
    system.venue(VENUE, limit=LIMIT)
    system.oms.holder(VENUE)
    system.oms.wait_ready([system.oms.dispatcher() for _ in range(3)])
    wait_for(logged_on, timeout=20, what="the logon")

    orders = burst(operator, 110)
    wait_for(lambda: queue_is_drained(VENUE), timeout=60, every=0.25, tick=Beat())

    received = {m["clOrdId"]: m["receivedMonotonicNs"]
                for m in system.exchange.messages(VENUE) if m["msgType"] == "D"}
    accepted = [str(VenueRequest.objects.get(order=o, kind="NEW").request_id) for o in orders]
    times = [received[cl] for cl in accepted]
    # An earlier order received after a later one, and by how much.
    overtaken = []
    latest = 0
    for position, at in enumerate(times):
        if at < latest:
            overtaken.append((position, (latest - at) / 1e6))
        latest = max(latest, at)
    beyond_a_slot = [(p, ms) for p, ms in overtaken if ms * 1e6 > SLOT_NS]
    print_numbers("FIFO on the wire, 3 dispatchers at 20/s", orders=len(times),
                  overtaken=len(overtaken), beyond_one_slot=len(beyond_a_slot))
    assert not beyond_a_slot, beyond_a_slot
    check_books(venue_code=VENUE, book=system.exchange.book(VENUE))
