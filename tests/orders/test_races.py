"""Races decided by PostgreSQL itself: each thread has its own connection and transaction."""

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from dispatch.drain import dispatch_drain
from orders import services
from orders.errors import DuplicateClientOrderId, InvalidTransition
from orders.models import Order, OrderStatus
from tests.factories import make_order, order_terms

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def _race(worker: Callable[[int], object]) -> list:
    """Run `worker(i)` in THREADS threads released at the same instant; return outcomes."""
    barrier = threading.Barrier(THREADS)
    outcomes: list = [None] * THREADS

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = worker(i)
        except Exception as exc:  # the outcome under test may be an exception
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_concurrent_duplicates_create_exactly_one_order(trader):
    outcomes = _race(lambda i: services.order_create(
        user=trader, account_code="ACC-1", client_order_id="dup-1", terms=order_terms()
    ))

    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sorted(created for _, created in outcomes) == [False] * (THREADS - 1) + [True]
    assert len({order.pk for order, _ in outcomes}) == 1
    assert Order.objects.filter(client_order_id="dup-1").count() == 1


def test_concurrent_conflicting_duplicates_yield_one_order_and_conflicts(trader):
    outcomes = _race(lambda i: services.order_create(
        user=trader, account_code="ACC-1", client_order_id="dup-2",
        terms=order_terms(quantity=Decimal(i + 1)),
    ))

    created = [o for o in outcomes if isinstance(o, tuple)]
    conflicts = [o for o in outcomes if isinstance(o, DuplicateClientOrderId)]
    assert len(created) == 1 and created[0][1] is True
    assert len(conflicts) == THREADS - 1
    assert Order.objects.filter(client_order_id="dup-2").count() == 1


def test_cancel_racing_a_claim_is_decided_by_whoever_locks_first(trader, in_process_venue):
    """Dispatchers claiming the queue and clients cancelling the order, at the same instant:
    either the cancel takes the order while it is still only ours (its NEW never leaves), or
    the claim does and the cancel becomes a CANCEL for the venue, queued behind the NEW."""
    order = make_order(user=trader, account_code="ACC-1")

    def act(i: int):
        if i % 2:
            return ("cancel", services.order_cancel(order_id=order.pk, actor="trader").status)
        return ("claim", dispatch_drain(venue_code="XMOCK", budget_seconds=0.5).claimed)

    outcomes = _race(act)

    refused = [o for o in outcomes if not isinstance(o, tuple)]
    assert all(isinstance(o, InvalidTransition) for o in refused), outcomes
    cancels = [o for o in outcomes if isinstance(o, tuple) and o[0] == "cancel"]
    claimed = sum(o[1] for o in outcomes if isinstance(o, tuple) and o[0] == "claim")
    order.refresh_from_db()
    requests = {r.kind: r.state for r in order.requests.all()}
    if order.status == OrderStatus.CANCELED:
        # The cancel locked first: the NEW was withdrawn and no dispatcher claimed it.
        assert (cancels, claimed) == ([("cancel", "CANCELED")], 0)
        assert requests == {"NEW": "WITHDRAWN"}
    else:
        # A claim locked first: one cancel became a request to the venue, the rest refused.
        assert (cancels, claimed) == ([("cancel", "PENDING_CANCEL")], 1)
        assert order.status == OrderStatus.PENDING_CANCEL
        assert requests == {"NEW": "SENDING", "CANCEL": "QUEUED"}
    assert order.events.count() == 1 + len(cancels) + claimed
