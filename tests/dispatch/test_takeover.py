"""A holder that takes over after one that died mid-write: what the dead one claimed and never
recorded as written may be at the venue. It is asked about, never given back as unsent: a
NEW given back would let its order be cancelled (or just sit queued) here while it is live
at the venue. (Found by tests/security/test_state_machine.py.)"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from dispatch.drain import dispatch_drain
from dispatch.sweeper import dispatch_sweep
from orders import services
from orders.models import Order
from sessions.services import trading_halt_set
from tests.dispatch.conftest import drain
from tests.factories import make_order
from tests.venues.inproc import HolderDied

pytestmark = pytest.mark.django_db


def die_mid_write(venue, *, reached_the_venue: bool) -> None:
    venue.lose, venue.die_after_writing = not reached_the_venue, True
    with pytest.raises(HolderDied):
        venue.write()
    venue.lose = venue.die_after_writing = False


def test_a_new_the_dead_holder_wrote_is_cancelled_at_the_venue_not_only_here(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1", time_in_force="GTC")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    die_mid_write(in_process_venue, reached_the_venue=True)

    assert in_process_venue.take_over() == 1
    services.OrderBooks().logged_on(venue_code="XMOCK")  # the successor's logon asks
    # The kill switch: nothing new may leave, every open order is cancelled.
    trading_halt_set(halted=True, reason="test", actor="desk")
    services.order_cancel(order_id=order.pk, actor="desk")
    drain(in_process_venue)  # the question, its answer (the venue has it)...
    drain(in_process_venue)  # ...then the cancel, which goes while halted

    order.refresh_from_db()
    assert (order.status, order.flag) == ("CANCELED", "")
    assert [m[35] for m in in_process_venue.messages()] == ["D", "H", "F"]
    assert in_process_venue.book.order_for(order.venue_cl_ord_id)["status"] == "4"


def test_a_new_the_venue_never_got_is_asked_about_then_sent_once(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    die_mid_write(in_process_venue, reached_the_venue=False)

    assert in_process_venue.take_over() == 1
    services.OrderBooks().logged_on(venue_code="XMOCK")
    drain(in_process_venue)  # H: unknown order -> the NEW goes back to its place...
    drain(in_process_venue)  # ...and goes, with its ClOrdID

    order.refresh_from_db()
    assert order.status == "NEW"
    assert [m[35] for m in in_process_venue.messages()] == ["H", "D"]
    assert [e.type for e in order.events.all()] == [
        "CREATED", "SENT", "RETURNED", "SENT", "ACKNOWLEDGED"]


def test_a_new_the_dead_holder_wrote_is_not_sent_again_as_new_while_halted(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1", quantity=Decimal("5"))
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    die_mid_write(in_process_venue, reached_the_venue=True)
    assert in_process_venue.take_over() == 1
    trading_halt_set(halted=True, reason="test", actor="desk")

    services.OrderBooks().logged_on(venue_code="XMOCK")
    drain(in_process_venue)

    order.refresh_from_db()
    # Not QUEUED (as if it never left) but what the venue says it is.
    assert (order.status, order.flag, order.quantity) == ("NEW", "", Decimal("5"))
    assert Order.objects.get(pk=order.pk).requests.get(kind="NEW").result == "ACCEPT"


def test_a_logon_question_lost_with_a_dying_holder_is_asked_again(trader, in_process_venue):
    """The venue cancelled an order and we never heard; the logon's question about it is
    written and its answer lost as the holder dies. Nothing else about the order is stale,
    so when the sweeper gives the question up it asks it again."""
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    order.refresh_from_db()
    in_process_venue.book.cancel(order.venue_cl_ord_id)  # its report never reaches us
    services.OrderBooks().logged_on(venue_code="XMOCK")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    die_mid_write(in_process_venue, reached_the_venue=True)
    in_process_venue.take_over()
    services.OrderBooks().logged_on(venue_code="XMOCK")  # a question is still waiting
    in_process_venue.book.silent = True  # this time the venue does not answer it at all
    in_process_venue.write()
    in_process_venue.book.silent = False

    later = timezone.now() + timedelta(seconds=3 * settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS)
    assert dispatch_sweep(now=later) == {"asked": 1, "given_up": 1, "nudged": ["XMOCK"]}
    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "CANCELED"
    assert order.events.last().type == "RECONCILED"
