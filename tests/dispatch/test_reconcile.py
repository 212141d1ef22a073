"""Books that never disagree with the venue: when we cannot know what became of a message
(the holder died mid-write, the answer never came), we ask the venue (35=H) and follow its
answer; at every logon we ask about every open order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from dispatch.drain import dispatch_drain
from dispatch.sweeper import dispatch_sweep
from orders import services
from orders.models import Order
from tests.dispatch.conftest import drain
from tests.factories import make_order
from tests.venues.inproc import HolderDied

pytestmark = pytest.mark.django_db


def later(seconds: float | None = None):
    return timezone.now() + timedelta(
        seconds=seconds or settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS + 1)


def kinds(venue) -> list[str]:
    return [m[35] for m in venue.messages()]


def test_a_holder_dying_after_the_write_leaves_the_order_pending_and_the_venue_is_asked(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.die_after_writing = True
    with pytest.raises(HolderDied):
        in_process_venue.write()
    in_process_venue.die_after_writing = False
    # The venue has the order; our record of the write rolled back with the holder.
    assert kinds(in_process_venue) == ["D"]
    order.refresh_from_db()
    assert (order.status, order.requests.get().state) == ("PENDING_NEW", "SENDING")

    # A cancel meanwhile goes to the venue behind the NEW, never only to our books.
    assert services.order_cancel(order_id=order.pk, actor="trader").status == "PENDING_CANCEL"
    assert dispatch_sweep(now=later())["asked"] == 1
    # The next holder writes what is claimed and unrecorded: the NEW again (the venue
    # restates its first decision) and the question; then, the NEW settled, the CANCEL.
    drain(in_process_venue)
    drain(in_process_venue)

    assert kinds(in_process_venue) == ["D", "D", "H", "F"]
    first, again = in_process_venue.messages("D")
    assert first[11] == again[11]
    assert len(in_process_venue.book.orders) == 1  # one order at the venue, cancelled
    assert in_process_venue.book.order_for(first[11])["status"] == "4"
    order.refresh_from_db()
    assert order.status == "CANCELED"
    new = order.requests.get(kind="NEW")
    assert (new.state, new.result) == ("ANSWERED", "ACCEPT")


def test_a_holder_dying_before_a_write_leaves_nothing_at_the_venue_and_sends_once(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.up = False
    in_process_venue.lose = True  # nothing reached the venue
    in_process_venue.die_after_writing = True
    in_process_venue.up = True
    with pytest.raises(HolderDied):
        in_process_venue.write()
    in_process_venue.die_after_writing = in_process_venue.lose = False

    dispatch_sweep(now=later())
    drain(in_process_venue)
    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "NEW"
    assert len(in_process_venue.book.orders) == 1


def test_a_new_the_venue_never_received_is_sent_again_with_the_same_clordid(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    in_process_venue.lose = True
    drain(in_process_venue)
    in_process_venue.lose = False
    assert in_process_venue.messages() == []

    dispatch_sweep(now=later())
    drain(in_process_venue)  # H: unknown order -> the NEW goes back to its place
    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "NEW"
    assert kinds(in_process_venue) == ["H", "D"]
    request = order.requests.get(kind="NEW")
    assert in_process_venue.messages("D")[0][11] == str(request.request_id)
    assert request.attempts == 2
    assert [e.type for e in order.events.all()] == [
        "CREATED", "SENT", "RETURNED", "SENT", "ACKNOWLEDGED"]


def test_an_unanswered_question_is_asked_again_with_back_off(trader, in_process_venue):
    make_order(user=trader, account_code="ACC-1")
    in_process_venue.book.silent = True
    drain(in_process_venue)
    assert dispatch_sweep(now=later())["asked"] == 1
    assert dispatch_sweep(now=later())["asked"] == 0  # a question is already waiting
    drain(in_process_venue)
    assert dispatch_sweep(now=later(3 * settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS))[
        "given_up"] == 1
    in_process_venue.book.silent = False
    assert dispatch_sweep(now=later(4 * settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS))[
        "asked"] == 1
    drain(in_process_venue)
    assert Order.objects.get().status == "NEW"


def test_a_replace_with_an_unknown_outcome_follows_the_venue(trader, in_process_venue):
    applied = make_order(user=trader, account_code="ACC-1")
    missed = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    services.order_modify(order_id=applied.pk, actor="trader", quantity=Decimal("6"))
    services.order_modify(order_id=missed.pk, actor="trader", quantity=Decimal("7"))
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.book.silent = True  # the venue applies the first, answers neither...
    in_process_venue.lose = False
    in_process_venue.write()
    in_process_venue.book.silent = False
    # ... and never saw the second: take it out of its book's history.
    g_missed = [m for m in in_process_venue.messages("G") if m[526] == missed.client_order_id][0]
    in_process_venue.book.received.remove(g_missed)
    order = in_process_venue.book.order_for(g_missed[41])
    order["qty"], order["clOrdId"] = Decimal("10"), g_missed[41]
    order["chain"].remove(g_missed[11])
    del in_process_venue.book._by_cl_ord_id[g_missed[11]]
    del in_process_venue.book._decided[g_missed[11]]

    dispatch_sweep(now=later())
    drain(in_process_venue)
    drain(in_process_venue)

    applied.refresh_from_db()
    missed.refresh_from_db()
    assert (applied.status, applied.quantity) == ("NEW", Decimal("6"))
    assert (missed.status, missed.quantity) == ("NEW", Decimal("7"))
    resent = [m for m in in_process_venue.messages("G") if m[526] == missed.client_order_id]
    assert len(resent) == 1 and resent[0][11] == g_missed[11]  # the same ClOrdID again


def test_at_logon_every_open_order_is_checked_and_the_books_follow_the_venue(
    trader, in_process_venue
):
    cancelled_there = make_order(user=trader, account_code="ACC-1")
    filled_there = make_order(user=trader, account_code="ACC-1")
    untouched = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    d = {m[526]: m[11] for m in in_process_venue.messages("D")}
    # While we were away the venue cancelled one and filled another; we heard nothing.
    in_process_venue.book.cancel(d[cancelled_there.client_order_id])
    in_process_venue.book.fill(d[filled_there.client_order_id], Decimal("10"), Decimal("151"))

    services.OrderBooks().logged_on(venue_code="XMOCK")
    drain(in_process_venue)

    assert kinds(in_process_venue).count("H") == 3
    for order, status in ((cancelled_there, "CANCELED"), (filled_there, "FILLED"),
                          (untouched, "NEW")):
        order.refresh_from_db()
        assert order.status == status
    assert filled_there.filled_quantity == Decimal("10")
    assert filled_there.average_price == Decimal("151")
    assert cancelled_there.events.last().type == "RECONCILED"
    assert not untouched.events.filter(type="RECONCILED").exists()


def test_an_order_the_venue_accepted_and_no_longer_knows_is_closed_and_flagged(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    in_process_venue.book.orders.clear()
    in_process_venue.book._by_cl_ord_id.clear()

    services.OrderBooks().logged_on(venue_code="XMOCK")
    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert order.flag == "the venue does not know this order"


def test_a_new_put_back_in_the_queue_that_the_venue_acts_on_after_all_is_answered(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    in_process_venue.lose = True
    drain(in_process_venue)
    in_process_venue.lose = False
    dispatch_sweep(now=later())
    drain(in_process_venue)  # unknown at the venue: the NEW is queued again
    order.refresh_from_db()
    assert order.status == "QUEUED"
    # ... but the venue had it after all, and acts on it now.
    new = in_process_venue.book.answer({35: "D", 11: str(order.requests.get(kind="NEW")
                                                         .request_id), 55: "AAPL", 54: "1",
                                        38: "10", 40: "2", 44: "150.25", 59: "0",
                                        526: order.client_order_id})
    in_process_venue.deliver(new)

    order.refresh_from_db()
    assert order.status == "NEW" and not order.flag
    assert order.requests.get(kind="NEW").state == "ANSWERED"
    drain(in_process_venue)
    assert len(in_process_venue.messages("D")) == 1  # not sent a second time
