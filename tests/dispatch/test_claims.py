"""Claims: FIFO across many of them, a claim never larger than a share of the limit, what the
venue refused without acting (35=j, 35=3) sent again or closed, and a cancel or modify
racing a claim: applied in the queue, or following the NEW to the venue, never half."""

from decimal import Decimal

import pytest

from dispatch.drain import batch_size, dispatch_drain
from dispatch.models import VenueRequest
from orders import services
from orders.models import Order
from tests.dispatch.conftest import at_once, drain, venue_live
from tests.factories import make_order
from tests.venues.inproc import InProcessVenue

pytestmark = pytest.mark.django_db


def statuses(orders) -> list[str]:
    by_id = dict(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "status"))
    return [by_id[o.pk] for o in orders]


def test_many_claims_reach_the_venue_in_acceptance_order(trader, in_process_venue,
                                                         limiter_redis):
    venue_live(limit=1000)
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(150)]
    services.order_cancel(order_id=orders[5].pk, actor="trader")
    services.order_modify(order_id=orders[80].pk, actor="trader", quantity=Decimal("7"))

    result = drain(in_process_venue)

    kept = [o for i, o in enumerate(orders) if i != 5]
    sent = in_process_venue.messages("D")
    assert [m[526] for m in sent] == [o.client_order_id for o in kept]
    assert sent[79][38] == "7"  # modified in its place, sent with its new terms
    assert (result.claimed, result.stopped) == (len(kept), "empty")
    assert set(statuses(kept)) == {"NEW"}
    assert limiter_redis.zcard("oms:limiter:XMOCK:log") == len(kept)  # a slot per send


def test_a_claim_takes_at_most_a_twentieth_of_the_limit(trader, in_process_venue,
                                                          monkeypatch):
    from dispatch import drain as drain_module

    venue_live(limit=100)
    for _ in range(12):
        make_order(user=trader, account_code="ACC-1")
    sizes = []
    real = drain_module.dispatch_claim

    def counting(**kwargs):
        result = real(**kwargs)
        sizes.append(result.claimed)
        return result

    monkeypatch.setattr(drain_module, "dispatch_claim", counting)
    dispatch_drain(venue_code="XMOCK", budget_seconds=1)

    assert batch_size(100) == 5
    assert max(sizes) == 5 and sum(sizes) == 12


def throttle_once(venue: InProcessVenue, client_order_id: str, reason: str = "0"):
    refused = []

    def intercept(tags):
        if tags[35] == "D" and tags.get(526) == client_order_id and not refused:
            refused.append(tags)
            return [{35: "j", 45: "0", 372: "D", 379: tags[11], 380: reason,
                     58: "RATE_LIMIT: over the venue's limit"}]
        return None

    venue.book.intercept = intercept
    return refused


def test_a_message_the_venue_refused_for_now_goes_again_later_with_the_same_ids(
    trader, in_process_venue
):
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(3)]
    refused = throttle_once(in_process_venue, orders[1].client_order_id)

    drain(in_process_venue)

    assert statuses(orders) == ["NEW", "QUEUED", "NEW"]
    assert Order.objects.get(pk=orders[1].pk).events.last().type == "RETURNED"
    request = VenueRequest.objects.get(order=orders[1])
    assert request.state == "QUEUED" and request.not_before is not None
    VenueRequest.objects.filter(pk=request.pk).update(not_before=None)  # the back-off is over
    drain(in_process_venue)
    assert statuses(orders) == ["NEW", "NEW", "NEW"]
    again = [m for m in in_process_venue.messages("D") if m[526] == orders[1].client_order_id]
    assert [m[11] for m in again] == [refused[0][11]] * 2


def test_a_message_the_venue_will_never_take_closes_the_order(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    throttle_once(in_process_venue, order.client_order_id, reason="2")  # unknown security

    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert order.requests.get().reason.startswith("business reject 2")


def test_a_session_reject_of_our_message_closes_the_order(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    in_process_venue.book.intercept = lambda tags: [
        {35: "3", 45: "2", 371: "44", 372: "D", 373: "5", 58: "Value is incorrect"}]

    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert "session reject 5" in order.requests.get().reason


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_claim_either_withdraws_the_new_or_follows_it(trader, limiter_redis):
    venue_live()
    for round_ in range(10):
        venue = InProcessVenue("XMOCK")
        orders = [make_order(user=trader, account_code="ACC-1") for _ in range(4)]
        target = orders[2]
        outcome = {}

        def cancel():
            outcome["cancel"] = services.order_cancel(order_id=target.pk, actor="trader").status

        at_once(cancel, lambda: dispatch_drain(venue_code="XMOCK", budget_seconds=0.5))
        drain(venue)
        drain(venue)  # whatever the race left queued (a CANCEL) goes out now

        target.refresh_from_db()
        assert target.status == "CANCELED"
        others = [o for o in orders if o is not target]
        assert set(statuses(others)) == {"NEW"}
        mine = [m[35] for m in venue.messages() if m[526] == target.client_order_id]
        if outcome["cancel"] == "CANCELED":  # the cancel won in the queue
            assert mine == []
        else:  # its NEW was claimed first: the CANCEL followed it to the venue
            assert outcome["cancel"] == "PENDING_CANCEL"
            assert mine == ["D", "F"]
        assert not VenueRequest.objects.filter(state__in=["QUEUED", "SENDING"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_modify_racing_a_claim_is_applied_in_the_queue_or_at_the_venue_never_half(
    trader, limiter_redis
):
    from orders.errors import InvalidTransition

    venue_live()
    for round_ in range(10):
        venue = InProcessVenue("XMOCK")
        order = make_order(user=trader, account_code="ACC-1")  # quantity 10
        outcome = {}

        def modify():
            try:
                services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("7"))
                outcome["modify"] = "done"
            except InvalidTransition:
                outcome["modify"] = "refused"  # PENDING_NEW: claimed, not yet answered

        at_once(modify, lambda: dispatch_drain(venue_code="XMOCK", budget_seconds=0.5))
        drain(venue)
        drain(venue)

        order.refresh_from_db()
        seen = [(m[35], m[38]) for m in venue.messages() if m[526] == order.client_order_id]
        assert order.status == "NEW"
        if outcome["modify"] == "done" and seen == [("D", "7")]:  # in the queue, in place
            assert order.quantity == Decimal("7")
        elif outcome["modify"] == "refused":  # the NEW was claimed first
            assert seen == [("D", "10")] and order.quantity == Decimal("10")
        else:  # the NEW was answered first: the modify went to the venue as a replace
            assert seen == [("D", "10"), ("G", "7")] and order.quantity == Decimal("7")


@pytest.mark.django_db(transaction=True)
def test_a_claim_waiting_for_a_slot_holds_up_no_halt_and_no_logout(trader, limiter_redis):
    """No send gate is held for long: a claim that waits for the limit holds its queue rows,
    never the session or the halt, so a kill switch or a logout commits at once."""
    import threading
    import time

    from django.db import connection

    from sessions.services import session_reconcile, session_update, trading_halt_set

    venue_live(limit=5)
    make_order(user=trader, account_code="ACC-1")
    # The limit is used up for the next second: the claim will wait for a slot.
    from dispatch.limits import limiter_for, window_ms

    limiter_for("XMOCK").acquire_many(count=5, limit=5, window_ms=window_ms(), timeout=1)
    def claim():
        try:
            dispatch_drain(venue_code="XMOCK", budget_seconds=2)
        finally:
            connection.close()

    claiming = threading.Thread(target=claim)
    claiming.start()
    time.sleep(0.3)  # the claim is waiting now

    started = time.monotonic()
    trading_halt_set(halted=True, reason="test", actor="desk")
    session_update(venue_code="XMOCK", actor="desk", override="CLOSED")
    session_reconcile(venue_code="XMOCK")
    took = time.monotonic() - started
    claiming.join(10)
    assert took < 0.5, took


def _lose_the_limiters_log(client) -> None:
    """A Redis restart without persistence: the limiter's log and marker are gone."""
    client.delete("oms:limiter:XMOCK:log", "oms:limiter:XMOCK:born")


def test_after_a_fresh_start_the_first_order_goes_out_at_once(trader, in_process_venue,
                                                              limiter_redis):
    """No send of the venue in the database: an empty limiter log is the truth, no
    cool-down (the demo's first order used to wait ~7 s)."""
    _lose_the_limiters_log(limiter_redis)
    make_order(user=trader, account_code="ACC-1")

    result = drain(in_process_venue, budget=0.2)

    assert (result.claimed, result.stopped) == (1, "empty")


def test_after_a_restart_that_lost_recent_sends_claims_wait_for_them_to_age_out(
        trader, in_process_venue, limiter_redis):
    first = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    assert VenueRequest.objects.get(order=first).claimed_at is not None
    _lose_the_limiters_log(limiter_redis)  # the send just made is not in the log any more
    make_order(user=trader, account_code="ACC-1")

    result = drain(in_process_venue, budget=0.2)

    assert (result.claimed, result.stopped) == (0, "budget")
    assert limiter_redis.get("oms:limiter:XMOCK:born")  # the cool-down has begun


def test_a_claim_of_orders_of_their_own_asks_nothing_about_parents(trader, limiter_redis):
    """At a trickle each order is a claim of its own: what a claim costs is what a dispatcher
    costs an order. One that holds no routed child does not look for parents."""
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dispatch.claim import dispatch_claim
    from dispatch.limits import limiter_for

    venue_live(limit=1000)
    order = make_order(user=trader, account_code="ACC-1")
    with CaptureQueriesContext(connection) as queries:
        claim = dispatch_claim(venue_code="XMOCK", limiter=limiter_for("XMOCK"), limit=1000,
                               size=1, deadline=time.monotonic() + 1)
    assert claim.claimed == 1
    assert Order.objects.get(pk=order.pk).status == "PENDING_NEW"
    statements = [q["sql"] for q in queries.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    # The claim lock, the gate, the heads, the requests, the orders, their SENT events.
    assert len(statements) == 6, statements
    assert not any("parent_id" in sql and sql.startswith("SELECT") and "orders_order" in sql
                   and "IS NOT NULL" in sql for sql in statements), statements
