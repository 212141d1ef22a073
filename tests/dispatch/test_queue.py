"""The queue as the venue sees it: FIFO, cancel wins in the queue, intent before the wire,
the send gate (logon, kill switch, DAY orders), and every answer matched to its request.
The venue is in this process (tests/venues/inproc.py): the OMS's own writer and books, no
socket."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dispatch.drain import dispatch_drain
from dispatch.models import UnmatchedResponse, VenueRequest
from executions.models import ExecutionReport
from orders import services
from orders.models import Order
from sessions.services import session_record_logged_off, trading_halt_set
from tests.dispatch.conftest import drain
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def new_ids(venue) -> list[str]:
    """The client order ids of the NewOrderSingles the venue received, in order."""
    return [m[526] for m in venue.messages("D")]


def test_requests_reach_the_venue_in_acceptance_order(trader, in_process_venue):
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(5)]

    drain(in_process_venue)

    assert new_ids(in_process_venue) == [o.client_order_id for o in orders]
    assert {o.status for o in Order.objects.all()} == {"NEW"}


def test_modifying_a_queued_order_keeps_its_place_and_sends_the_new_terms(
    trader, in_process_venue
):
    first = make_order(user=trader, account_code="ACC-1")
    second = make_order(user=trader, account_code="ACC-1")
    services.order_modify(order_id=first.pk, actor="trader", quantity=Decimal("3"))

    drain(in_process_venue)

    sent = in_process_venue.messages("D")
    assert [m[526] for m in sent] == [first.client_order_id, second.client_order_id]
    assert (sent[0][38], sent[1][38]) == ("3", "10")


def test_a_cancelled_queued_order_never_reaches_the_venue(trader, in_process_venue):
    cancelled = make_order(user=trader, account_code="ACC-1")
    kept = make_order(user=trader, account_code="ACC-1")
    services.order_cancel(order_id=cancelled.pk, actor="trader")

    drain(in_process_venue)

    assert new_ids(in_process_venue) == [kept.client_order_id]
    cancelled.refresh_from_db()
    assert cancelled.status == "CANCELED"
    assert cancelled.requests.get().state == "WITHDRAWN"


def test_a_claimed_order_is_possibly_at_the_venue_so_a_cancel_goes_there(
    trader, in_process_venue
):
    """Intent before the wire: the claim commits the NEW as possibly sent before any byte
    of it can leave, and from then on a cancel is a CANCEL behind it, never only ours."""
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)  # claimed, not yet written

    order.refresh_from_db()
    request = order.requests.get()
    assert (order.status, request.state, request.sent_at) == ("PENDING_NEW", "SENDING", None)
    assert in_process_venue.messages() == []

    assert services.order_cancel(order_id=order.pk, actor="trader").status == "PENDING_CANCEL"
    drain(in_process_venue)  # the NEW goes, is answered, then the CANCEL goes
    drain(in_process_venue)

    assert [m[35] for m in in_process_venue.messages()] == ["D", "F"]
    order.refresh_from_db()
    assert order.status == "CANCELED"
    cancel = in_process_venue.messages("F")[0]
    assert cancel[41] == in_process_venue.messages("D")[0][11]  # OrigClOrdID: the NEW's


def test_a_cancel_never_overtakes_the_new_it_cancels(trader, in_process_venue):
    stuck = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.write()  # the NEW is on the wire; its answer has not come back yet
    services.order_cancel(order_id=stuck.pk, actor="trader")
    other = make_order(user=trader, account_code="ACC-1")

    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.write()

    assert [(m[35], m[526]) for m in in_process_venue.messages()] == [
        ("D", stuck.client_order_id), ("D", other.client_order_id)]  # the CANCEL waits
    assert stuck.requests.get(kind="CANCEL").state == "QUEUED"
    in_process_venue.deliver()
    drain(in_process_venue)
    assert [m[35] for m in in_process_venue.messages()] == ["D", "D", "F"]


def test_live_modify_and_cancel_chain_their_clordids_and_name_the_client_order(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("4"))
    drain(in_process_venue)
    order.refresh_from_db()
    assert (order.status, order.quantity) == ("NEW", Decimal("4"))

    services.order_cancel(order_id=order.pk, actor="trader")
    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "CANCELED"
    new, replace, cancel = in_process_venue.messages()
    assert (new[35], replace[35], cancel[35]) == ("D", "G", "F")
    assert replace[41] == new[11] and cancel[41] == replace[11]
    assert {new[526], replace[526], cancel[526]} == {order.client_order_id}
    assert replace[37] == cancel[37] == order.venue_order_id
    requests = list(order.requests.order_by("id"))
    assert [r.kind for r in requests] == ["NEW", "MODIFY", "CANCEL"]
    assert [str(r.request_id) for r in requests] == [new[11], replace[11], cancel[11]]
    assert all(r.result == "ACCEPT" and r.latency_micros is not None for r in requests)


def test_a_venue_reject_closes_the_order_with_the_reason(trader, in_process_venue):
    in_process_venue.book.reject_symbols.add("AAPL")
    order = make_order(user=trader, account_code="ACC-1")

    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert order.events.last().data["text"] == "UNKNOWN_SYMBOL"
    request = order.requests.get()
    assert (request.result, request.reason) == ("REJECT", "UNKNOWN_SYMBOL: UNKNOWN_SYMBOL")


# --- the send gate ------------------------------------------------------------------------------


def test_nothing_is_claimed_while_the_venue_is_not_logged_on(trader, in_process_venue):
    session_record_logged_off(venue_code="XMOCK", asked=False, reason="test")
    order = make_order(user=trader, account_code="ACC-1")

    assert drain(in_process_venue).stopped == "gated"

    assert in_process_venue.messages() == []
    assert order.requests.get().state == "QUEUED"


def test_a_claim_the_wire_cannot_take_goes_back_to_its_place(trader, in_process_venue,
                                                              limiter_redis):
    first = make_order(user=trader, account_code="ACC-1")
    second = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    assert limiter_redis.zcard("oms:limiter:XMOCK:log") == 2
    in_process_venue.up = False  # the session went down before the holder wrote them

    in_process_venue.write()

    for order in (first, second):
        order.refresh_from_db()
        assert order.status == "QUEUED"
        assert order.events.last().type == "RETURNED"
        assert order.requests.get().state == "QUEUED"
    assert limiter_redis.zcard("oms:limiter:XMOCK:log") == 0  # unused slots given back
    in_process_venue.up = True
    drain(in_process_venue)
    assert new_ids(in_process_venue) == [first.client_order_id, second.client_order_id]


def test_the_first_halt_ever_stops_new_orders_at_the_wire_and_lets_cancels_out(
    trader, in_process_venue, operator
):
    live = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    claimed = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)  # claimed before the halt

    trading_halt_set(halted=True, reason="test", actor="desk")
    services.order_cancel(order_id=live.pk, actor="trader")
    drain(in_process_venue)

    assert new_ids(in_process_venue) == [live.client_order_id]  # nothing new left
    assert [m[35] for m in in_process_venue.messages()] == ["D", "F"]
    claimed.refresh_from_db()
    live.refresh_from_db()
    assert (claimed.status, live.status) == ("QUEUED", "CANCELED")
    assert claimed.events.last().data == {"why": "trading is halted"}

    trading_halt_set(halted=False, reason="", actor="desk")
    drain(in_process_venue)
    claimed.refresh_from_db()
    assert claimed.status == "NEW"


def test_a_day_order_held_back_past_the_close_expires_unsent(trader, in_process_venue):
    from sessions.models import VenueSession

    order = make_order(user=trader, account_code="ACC-1", time_in_force="DAY")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    # The window closed (and opened again) after the claim: the order is yesterday's.
    session = VenueSession.objects.get(pk="XMOCK")
    now = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(0))
    session.open_time = (now + timedelta(minutes=1)).time()
    session.close_time = (now - timedelta(minutes=1)).time()
    session.save()
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    in_process_venue.write()

    order.refresh_from_db()
    assert order.status == "EXPIRED"
    assert in_process_venue.messages() == []
    assert order.requests.get().state == "WITHDRAWN"


# --- answers ----------------------------------------------------------------------------------


def test_a_report_that_matches_no_request_is_stored_and_flagged(trader, in_process_venue):
    stray = {35: "8", 37: "X-9", 17: "E-stray", 150: "0", 39: "0", 11: "not-ours", 55: "AAPL",
             54: "1", 151: "1", 14: "0", 6: "0"}

    in_process_venue.deliver([stray])

    report = ExecutionReport.objects.get(exec_id="E-stray")
    assert report.order is None and report.flag == "matches no order of ours"
    assert "11=not-ours" in report.raw


def test_a_cancel_reject_for_no_request_is_kept_for_an_operator(trader, in_process_venue):
    in_process_venue.deliver([{35: "9", 37: "NONE", 11: "nobody", 41: "x", 39: "8", 434: "1",
                               102: "1"}])
    unmatched = UnmatchedResponse.objects.get()
    assert unmatched.why == "a cancel reject for no request of ours"


def test_the_same_report_again_changes_nothing(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    cl = in_process_venue.messages("D")[0][11]
    fill = in_process_venue.book.fill(cl, Decimal("4"), Decimal("150"))

    in_process_venue.deliver([fill, fill, dict(fill)])

    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", Decimal("4"))
    assert ExecutionReport.objects.filter(exec_id=fill[17]).count() == 1
    assert order.events.filter(type="FILLED").count() == 1


def test_order_detail_and_latency_stats_show_the_venue_requests(
    trader, trader_api, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)

    body = trader_api.get(f"/api/v1/orders/{order.pk}").json()
    assert body["status"] == "NEW"
    (request,) = body["requests"]
    assert request["kind"] == "NEW" and request["result"] == "ACCEPT"
    assert request["latencyMicros"] == 100
    stats = trader_api.get("/api/v1/stats/latency").json()
    assert stats[0]["venue"] == "XMOCK" and stats[0]["count"] == 1


def test_every_outbound_message_is_kept_as_sent(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    request = VenueRequest.objects.get(order=order)
    assert request.message["msgType"] == "D"
    assert request.message["clOrdId"] == str(request.request_id)
    assert request.msg_seq_num == 2 and request.sent_at is not None


def test_a_cancel_reject_saying_the_order_is_closed_closes_it_here(trader, in_process_venue):
    filled = make_order(user=trader, account_code="ACC-1")
    unknown = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    for order in (filled, unknown):
        services.order_cancel(order_id=order.pk, actor="trader")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    # The venue answers each cancel with a reject that says what the order is there.
    in_process_venue.book.silent = True
    in_process_venue.write()
    cancels = {m[526]: m for m in in_process_venue.messages("F")}
    in_process_venue.deliver([
        {35: "9", 37: "V-1", 11: cancels[filled.client_order_id][11], 41: "x", 39: "2",
         434: "1", 102: "0", 58: "too late: filled"},
        {35: "9", 37: "NONE", 11: cancels[unknown.client_order_id][11], 41: "x", 39: "8",
         434: "1", 102: "1"},
    ])

    filled.refresh_from_db()
    unknown.refresh_from_db()
    assert filled.status == "FILLED"  # not live here while the venue says it is done
    assert (unknown.status, unknown.flag) == ("REJECTED", "the venue does not know this order")
    assert filled.requests.get(kind="CANCEL").result == "REJECT"


def test_a_cancel_reject_of_a_live_order_leaves_it_live(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    services.order_cancel(order_id=order.pk, actor="trader")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.book.silent = True
    in_process_venue.write()
    cancel = in_process_venue.messages("F")[0]
    in_process_venue.deliver([{35: "9", 37: "V-1", 11: cancel[11], 41: cancel[41], 39: "0",
                               434: "1", 102: "2", 58: "broker option"}])
    order.refresh_from_db()
    assert order.status == "NEW"
    assert order.events.last().type == "CANCEL_REJECTED"
