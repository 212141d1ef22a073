"""The OMS's FIX 4.4 session against an independent acceptor (QuickFIX, written in the
tests): logon when the session row wants it, orders and their answers, logout, sequence
numbers that survive reconnects and restarts, gaps recovered by ResendRequest and GapFill,
and one holder per venue at a time."""

from decimal import Decimal

import pytest

from dispatch.drain import dispatch_drain
from orders import services
from orders.models import Order
from sessions.services import session_reconcile, session_update
from tests.factories import OperatorFactory, order_terms
from tests.venues.conftest import VENUE, fix_record, session_state, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def new_order(client_order_id: str, **terms) -> Order:
    order, _ = services.order_create(
        user=OperatorFactory(), account_code="ACC-1", client_order_id=client_order_id,
        venue_code=VENUE, terms=order_terms(**terms))
    return order


def status_of(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def send(order: Order, status: str) -> None:
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)
    wait_until(lambda: status_of(order) == status, what=f"{order.client_order_id} {status}")


def test_logon_orders_and_logout_against_an_independent_acceptor(fix_venue, peer, holders):
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    assert peer.logons == 1

    order = new_order("c1")
    send(order, "NEW")
    services.order_modify(order_id=order.pk, actor="t", quantity=Decimal("4"))
    send(order, "NEW")
    services.order_cancel(order_id=order.pk, actor="t")
    send(order, "CANCELED")

    d, g, f = peer.messages()
    assert (d[35], g[35], f[35]) == ("D", "G", "F")
    assert (g[41], f[41]) == (d[11], g[11])  # the ClOrdID chain
    assert {d[526], g[526], f[526]} == {"c1"}  # the client's id on every message
    assert g[38] == "4"
    requests = list(Order.objects.get(pk=order.pk).requests.order_by("id"))
    assert [r.msg_seq_num for r in requests] == [int(d[34]), int(g[34]), int(f[34])]
    # Written -> first answer read, on one monotonic clock, in microseconds.
    assert all(0 < r.latency_micros < 1_000_000 for r in requests)

    session_update(venue_code=VENUE, actor="t", override="CLOSED")
    session_reconcile(venue_code=VENUE)
    wait_until(lambda: session_state() == "LOGGED_OUT", what="logout")
    assert peer.admin("5")  # the venue got our Logout
    assert not peer.logged_on()


def test_a_reconnect_and_a_restart_continue_the_sequence_numbers(fix_venue, peer, holders):
    running = holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    send(new_order("c1"), "NEW")
    first_logon = peer.admin("A")[0]

    peer.session().disconnect()  # the connection drops; our holder reconnects
    wait_until(lambda: peer.logons == 2 and session_state() == "LOGGED_ON", timeout=15,
               what="the reconnect")
    second_logon = peer.admin("A")[1]
    assert int(second_logon[34]) > int(first_logon[34])
    send(new_order("c2"), "NEW")

    running.stop()  # a clean stop records the exact numbers
    record = fix_record()
    assert record.clean_stop and not record.owner
    holders()
    wait_until(lambda: peer.logons == 3 and session_state() == "LOGGED_ON", timeout=15,
               what="the logon after a restart")
    third_logon = peer.admin("A")[2]
    assert int(third_logon[34]) == record.next_sender_seq  # continued, not reset to 1
    assert not peer.admin("2")  # nothing to resend: no gap either way
    send(new_order("c3"), "NEW")


def test_a_gap_from_the_venue_is_asked_for_and_filled(fix_venue, peer, holders):
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    order = new_order("c1")
    send(order, "NEW")
    session = peer.session()
    session.setNextSenderMsgSeqNum(session.getExpectedSenderNum() + 5)  # the venue skips 5

    services.order_cancel(order_id=order.pk, actor="t")
    send(order, "CANCELED")  # its answer comes after the gap, and is applied once filled

    assert peer.admin("2"), "the OMS sent no ResendRequest"
    resend = peer.admin("2")[0]
    assert int(resend[7]) == session.getExpectedSenderNum() - 7 + 1 or int(resend[7]) > 0


def test_a_resend_request_is_answered_with_a_gap_fill_never_an_order_again(
    fix_venue, peer, holders
):
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    send(new_order("c1"), "NEW")
    # The venue lost track of what we sent since our Logon: at our next message it asks for
    # a resend of everything from there, the NewOrderSingle included.
    peer.session().setNextTargetMsgSeqNum(2)

    fill = wait_until(lambda: [m for m in peer.admin("4") if m.get(123) == "Y"],
                      what=lambda: f"a SequenceReset-GapFill in {peer.admin_received}")
    assert int(fill[0][34]) == 2 and peer.admin("2") == []
    assert len(peer.messages("D")) == 1  # the order was not sent again
    send(new_order("c2"), "NEW")  # and the session goes on


def test_one_holder_at_a_time_and_another_takes_over_when_it_dies(fix_venue, peer, holders):
    first = holders(lease_seconds=3)
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    second = holders(lease_seconds=3)
    send(new_order("c1"), "NEW")
    owner = fix_record().owner
    assert owner == first.holder.name and not second.holder.runners
    assert peer.logons == 1

    first.crash()  # no Logout, no clean stop: the lease runs out
    wait_until(lambda: fix_record().owner == second.holder.name, timeout=15,
               what="the takeover")
    wait_until(lambda: peer.logons == 2 and peer.logged_on(), timeout=15,
               what="the new holder's logon")
    send(new_order("c2"), "NEW")
    assert len(peer.messages("D")) == 2


def test_a_venue_that_resets_at_logon_gets_141_and_both_sides_start_at_one(
    fix_venue, peer, holders
):
    from venues.models import FixSession
    from venues.services import venue_update

    venue_update(code=VENUE, actor="t", reset_seq_num_on_logon=True)
    FixSession.objects.filter(pk=VENUE).update(next_sender_seq=50, sender_seq_reserved=50,
                                               next_target_seq=60)
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")

    logon = peer.admin("A")[0]
    assert (logon.get(141), logon[34]) == ("Y", "1")
    send(new_order("c1"), "NEW")
    wait_until(lambda: fix_record().next_target_seq < 10, what="the reset numbers recorded")
