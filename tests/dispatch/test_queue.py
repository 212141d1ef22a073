"""The queue's semantics, seen from the venue: FIFO, modify keeps its place, cancel wins,
a CANCEL never overtakes its NEW, sessions gate the wire, every answer is matched."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dispatch import services as dispatch_services
from dispatch.models import UnmatchedResponse, VenueRequest
from orders import services
from orders.models import Order
from sessions.services import session_update, trading_halt_set
from tests.dispatch.conftest import at_once, venue_live
from tests.factories import make_order
from venues.gateway import GatewayError, HttpVenueGateway, VenueAnswer

pytestmark = pytest.mark.django_db


def drain(venue: str = "XMOCK", **kwargs):
    return dispatch_services.dispatch_drain(venue_code=venue, **kwargs)


def sent_ids(gateway, venue="XMOCK") -> list[tuple[str, str]]:
    return [(m["kind"], m["clientOrderId"]) for m in gateway.messages(venue)]


# --- FIFO, modify, cancel ------------------------------------------------------------------------


def test_requests_reach_the_venue_in_acceptance_order(trader, in_process_venue):
    venue_live()
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(6)]

    result = drain()

    assert result.sent == 6 and result.stopped == "empty"
    assert sent_ids(in_process_venue) == [("NEW", str(o.pk)) for o in orders]
    assert {o.status for o in Order.objects.all()} == {"NEW"}


def test_modifying_a_queued_order_keeps_its_place_and_sends_the_new_terms(
    trader, in_process_venue
):
    venue_live()
    first, second, third = (make_order(user=trader, account_code="ACC-1") for _ in range(3))
    services.order_modify(order_id=first.pk, actor="trader", quantity=Decimal("33"),
                          limit_price=Decimal("149.5"))

    drain()

    messages = in_process_venue.messages("XMOCK")
    assert [m["clientOrderId"] for m in messages] == [str(first.pk), str(second.pk),
                                                      str(third.pk)]
    assert (messages[0]["quantity"], messages[0]["limitPrice"]) == ("33", "149.5")


def test_a_cancelled_queued_order_never_reaches_the_venue(trader, in_process_venue):
    venue_live()
    cancelled = make_order(user=trader, account_code="ACC-1")
    kept = make_order(user=trader, account_code="ACC-1")
    services.order_cancel(order_id=cancelled.pk, actor="trader")

    drain()

    assert sent_ids(in_process_venue) == [("NEW", str(kept.pk))]
    cancelled.refresh_from_db()
    assert cancelled.status == "CANCELED"
    assert cancelled.requests.get().state == "WITHDRAWN"


def test_a_cancel_never_overtakes_the_new_it_cancels(trader, in_process_venue):
    venue_live()
    stuck = make_order(user=trader, account_code="ACC-1")
    # Its NEW went out and the answer was lost: outcome unknown, the order PENDING_NEW.
    services.order_mark_sent(order_id=stuck.pk, actor="system:dispatch")
    stuck.requests.update(state="SENDING", claimed_at=timezone.now(), attempts=1)
    services.order_cancel(order_id=stuck.pk, actor="trader")
    other = make_order(user=trader, account_code="ACC-1")

    drain()

    assert sent_ids(in_process_venue) == [("NEW", str(other.pk))]  # the CANCEL waits
    assert stuck.requests.get(kind="CANCEL").state == "QUEUED"


def test_live_modify_and_cancel_go_to_the_venue_and_come_back(trader, exchange):
    venue_live()
    order = make_order(user=trader, account_code="ACC-1")
    drain()

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("4"))
    drain()
    order.refresh_from_db()
    assert (order.status, order.quantity) == ("NEW", Decimal("4"))

    services.order_cancel(order_id=order.pk, actor="trader")
    drain()
    order.refresh_from_db()
    assert order.status == "CANCELED"
    at_venue = exchange.book("XMOCK")
    assert at_venue[str(order.pk)]["state"] == "CANCELED"
    assert str(at_venue[str(order.pk)]["quantity"]) == "4"
    assert [r.kind for r in order.requests.order_by("id")] == ["NEW", "MODIFY", "CANCEL"]
    assert all(r.result == "ACCEPT" and r.latency_micros > 0 for r in order.requests.all())


def test_a_venue_reject_closes_the_order_with_the_reason(trader, exchange):
    venue_live()
    exchange.configure("XMOCK", rejectRatio=1.0)
    order = make_order(user=trader, account_code="ACC-1")

    drain()

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert order.events.last().data == {"reason": "RANDOM_REJECT"}
    assert order.requests.get().result == "REJECT"


# --- sessions gate the wire ----------------------------------------------------------------------


def test_nothing_is_sent_while_the_venue_is_not_logged_on(trader, exchange):
    from sessions.services import session_reconcile

    venue_live()
    order = make_order(user=trader, account_code="ACC-1")
    session_update(venue_code="XMOCK", actor="ops", override="CLOSED")
    session_reconcile(venue_code="XMOCK")  # logs out

    assert drain().stopped == "gated"
    assert exchange.stats("XMOCK")["received"] == 0
    assert order.requests.get().state == "QUEUED"

    session_update(venue_code="XMOCK", actor="ops", override="OPEN")
    session_reconcile(venue_code="XMOCK")
    assert drain().sent == 1
    assert exchange.stats("XMOCK")["received"] == 1


def test_the_halt_stops_sending_at_once(trader, in_process_venue, operator):
    venue_live()
    make_order(user=trader, account_code="ACC-1")
    trading_halt_set(halted=True, reason="fat finger", actor=operator.username)

    assert drain().stopped == "gated"
    assert in_process_venue.messages() == []


def test_a_venue_that_dropped_our_session_gets_a_fresh_logon(trader, exchange):
    from sessions.models import VenueSession
    from sessions.services import session_reconcile

    venue_live()
    order = make_order(user=trader, account_code="ACC-1")
    exchange.reset()  # the venue restarted: it no longer knows our session

    assert drain().stopped == "gated"
    order.refresh_from_db()
    assert (order.status, order.requests.get().state) == ("QUEUED", "QUEUED")
    assert VenueSession.objects.get(pk="XMOCK").state == "LOGGED_OUT"

    session_reconcile(venue_code="XMOCK")
    drain()
    order.refresh_from_db()
    assert order.status == "NEW"


# --- answers: matched, timed, or flagged -----------------------------------------------------------


class ForeignAnswerGateway(HttpVenueGateway):
    def send(self, venue_code, message):
        answer = super().send(venue_code, message)
        return VenueAnswer(body={**answer.body, "requestId": "someone-else"},
                           latency_micros=answer.latency_micros)


def test_an_answer_that_matches_no_request_is_stored_and_flagged(trader, exchange):
    venue_live()
    order = make_order(user=trader, account_code="ACC-1")

    drain(gateway=ForeignAnswerGateway())

    flagged = UnmatchedResponse.objects.get()
    assert flagged.request_id == "someone-else"
    assert flagged.payload["clientOrderId"] == str(order.pk)
    request = order.requests.get()
    assert request.state == "SENDING"  # its own answer is still unknown: it will be resent


def test_latency_is_the_round_trip_in_microseconds(trader, exchange):
    venue_live()
    exchange.configure("XMOCK", latencyMs="20")
    order = make_order(user=trader, account_code="ACC-1")

    drain()

    request = order.requests.get()
    assert 20_000 <= request.latency_micros < 60_000
    assert request.sent_at <= request.responded_at


def test_the_sweeper_requeues_unknown_outcomes_after_the_back_off(trader, in_process_venue,
                                                                  settings):
    settings.OMS_DISPATCH_RESEND_AFTER_SECONDS = 5
    venue_live()
    order = make_order(user=trader, account_code="ACC-1")
    services.order_mark_sent(order_id=order.pk, actor="system:dispatch")
    now = timezone.now()
    order.requests.update(state="SENDING", claimed_at=now - timedelta(seconds=4), attempts=1)

    assert dispatch_services.dispatch_sweep(now=now)["requeued"] == 0
    assert dispatch_services.dispatch_sweep(now=now + timedelta(seconds=2))["requeued"] == 1

    drain()
    order.refresh_from_db()
    assert order.status == "NEW"
    request = order.requests.get()
    assert (request.state, request.attempts) == ("ANSWERED", 2)


def test_an_unreachable_venue_leaves_the_outcome_unknown(trader, in_process_venue):
    class Down:
        def send(self, venue_code, message):
            raise GatewayError("connection refused")

    venue_live()
    order = make_order(user=trader, account_code="ACC-1")

    drain(gateway=Down(), budget_seconds=0.2)

    order.refresh_from_db()
    request = order.requests.get()
    assert (order.status, request.state, request.attempts) == ("PENDING_NEW", "SENDING", 1)
    assert "connection refused" in request.reason


# --- the API shows it --------------------------------------------------------------------------


def test_order_detail_and_latency_stats_show_the_venue_requests(trader, trader_api, exchange):
    venue_live()
    order = make_order(user=trader, account_code="ACC-1")
    drain()

    detail = trader_api.get(f"/api/v1/orders/{order.pk}").json()
    (request,) = detail["requests"]
    assert request["kind"] == "NEW" and request["result"] == "ACCEPT"
    assert request["latencyMicros"] > 0
    assert request["queuedAt"] and request["sentAt"] and request["respondedAt"]
    assert request["response"]["clientOrderId"] == str(order.pk)

    stats = trader_api.get("/api/v1/stats/latency").json()
    assert [(s["venue"], s["kind"], s["count"]) for s in stats] == [("XMOCK", "NEW", 1)]
    assert stats[0]["p50Micros"] == stats[0]["maxMicros"] == request["latencyMicros"]


# --- the race between a cancel and a dispatcher ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cancel_racing_a_claim_never_loses_and_never_sends_a_cancelled_order(
    trader, in_process_venue
):
    venue_live()
    for _ in range(15):
        in_process_venue.reset()
        in_process_venue().logon("XMOCK")
        order = make_order(user=trader, account_code="ACC-1")
        outcome = {}

        def cancel():
            outcome["cancel"] = services.order_cancel(order_id=order.pk, actor="trader").status

        at_once(cancel, drain)
        drain()  # whatever the race left queued (a CANCEL) goes out now

        order.refresh_from_db()
        seen = sent_ids(in_process_venue)
        assert order.status == "CANCELED"
        if outcome["cancel"] == "CANCELED":  # the cancel won in the queue
            assert seen == []
        else:  # the NEW was claimed first: the CANCEL followed it
            assert outcome["cancel"] == "PENDING_CANCEL"
            assert seen == [("NEW", str(order.pk)), ("CANCEL", str(order.pk))]
        assert not VenueRequest.objects.filter(order=order, state__in=["QUEUED", "SENDING"])


@pytest.mark.django_db(transaction=True)
def test_modify_racing_a_claim_is_either_in_place_or_refused_never_half_applied(
    trader, in_process_venue
):
    from orders.errors import InvalidTransition

    venue_live()
    for _ in range(15):
        in_process_venue.reset()
        in_process_venue().logon("XMOCK")
        order = make_order(user=trader, account_code="ACC-1")  # quantity 10
        outcome = {}

        def modify():
            try:
                services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("7"))
                outcome["modify"] = "done"
            except InvalidTransition:
                outcome["modify"] = "refused"  # the NEW was already on the wire

        at_once(modify, drain)
        drain()

        order.refresh_from_db()
        seen = [(m["kind"], m["quantity"]) for m in in_process_venue.messages("XMOCK")]
        assert order.status == "NEW"
        if seen == [("NEW", "7")]:  # modified in the queue: the NEW carried the new terms
            assert (outcome["modify"], order.quantity) == ("done", Decimal("7"))
        elif seen == [("NEW", "10")]:  # the NEW was on the wire: the modify was refused
            assert (outcome["modify"], order.quantity) == ("refused", Decimal("10"))
        else:  # the NEW was answered first: the modify went to the venue as a MODIFY
            assert seen == [("NEW", "10"), ("MODIFY", "7")]
            assert (outcome["modify"], order.quantity) == ("done", Decimal("7"))


@pytest.mark.django_db(transaction=True)
def test_intake_nudges_are_coalesced_and_an_empty_drain_reopens_them(
    trader, in_process_venue, monkeypatch
):
    from dispatch import nudge, tasks

    # A window far longer than the test: only the drain's forgetting can reopen nudges.
    monkeypatch.setattr(nudge, "COALESCE_MS", 60_000)
    published = []
    monkeypatch.setattr(tasks.dispatch_drain_task, "apply_async",
                        lambda args, **kw: published.append(args[0]))
    venue_live()

    for _ in range(20):  # each commits on its own and nudges on commit
        make_order(user=trader, account_code="ACC-1")
    assert published == ["XMOCK"]  # one per coalescing window, not one per order

    assert drain().stopped == "empty"
    published.clear()
    make_order(user=trader, account_code="ACC-1")  # right after a drain emptied the queue
    assert published == ["XMOCK"]  # nudged at once, not left for the sweeper


@pytest.mark.django_db(transaction=True)
def test_a_drain_that_empties_the_queue_in_a_short_batch_reopens_nudges(
    trader, in_process_venue, monkeypatch
):
    """Fewer orders than a batch: the drain sends them, takes its last look and ends, and
    the next order nudges at once rather than waiting for the sweeper."""
    from dispatch import nudge, tasks

    monkeypatch.setattr(nudge, "COALESCE_MS", 60_000)
    published = []
    monkeypatch.setattr(tasks.dispatch_drain_task, "apply_async",
                        lambda args, **kw: published.append(args[0]))
    venue_live()
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(3)]

    result = drain()
    assert (result.stopped, result.sent) == ("empty", 3)
    assert len(in_process_venue.messages("XMOCK")) == 3
    published.clear()
    make_order(user=trader, account_code="ACC-1")
    assert published == ["XMOCK"]
    assert all(o.requests.get().state == "ANSWERED" for o in orders)
