"""A venue that misbehaves: garbage, broken framing, missing tags, unknown message types,
values we cannot map, a wrong CompID, a sequence number too low, an endless message. Each
gets a session-level Reject or a Logout and a log line; the session holder never dies, and
no order is lost or sent twice."""

import pytest

from dispatch.drain import dispatch_drain
from executions.models import ExecutionReport
from orders import services
from orders.models import Order
from sessions.services import session_reconcile, session_update
from tests.conftest import limiter_born_long_ago
from tests.factories import OperatorFactory, order_terms
from tests.venues.conftest import VENUE, session_state, wait_until
from tests.venues.rawpeer import RawVenue
from venues.services import venue_put

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def raw(limiter_redis, transactional_db, holders):
    venue = RawVenue(venue=VENUE)
    limiter_born_long_ago(limiter_redis, VENUE)
    venue_put(code=VENUE, actor="tests", fix_port=venue.port, heartbeat_seconds=1)
    session_update(venue_code=VENUE, actor="tests", override="OPEN")
    session_reconcile(venue_code=VENUE)
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")
    yield venue
    venue.close()


def an_order_at_the_venue(raw: RawVenue) -> tuple[Order, bytes]:
    order, _ = services.order_create(user=OperatorFactory(), account_code="ACC-1",
                                     client_order_id="c1", venue_code=VENUE, terms=order_terms())
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)
    (new,) = wait_until(lambda: raw.received(b"D"), what="the NewOrderSingle")
    return order, new.get(11)


def ack(raw: RawVenue, cl_ord_id: bytes, **extra) -> dict:
    body = {37: "V-1", 17: "E-1", 150: "0", 39: "0", 11: cl_ord_id.decode(), 55: "AAPL",
            54: "1", 151: "10", 14: "0", 6: "0"}
    body.update({int(k[1:]): v for k, v in extra.items()})
    return body


def test_garbage_and_a_bad_checksum_are_ignored_and_the_session_goes_on(raw):
    order, cl = an_order_at_the_venue(raw)
    raw.send(b"\x00\xffnot fix at all\x01\x01garbage=\x01")
    broken = raw.message("8", ack(raw, cl))
    raw.next_seq -= 1  # the broken copy does not count: the good one takes its number
    raw.send(broken[:-4] + b"000" + SOH_)
    raw.send(raw.message("8", ack(raw, cl)))

    wait_until(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the good report")
    assert session_state() == "LOGGED_ON"
    assert ExecutionReport.objects.count() == 1


SOH_ = b"\x01"


def test_a_report_missing_a_required_tag_gets_a_session_reject(raw):
    order, cl = an_order_at_the_venue(raw)
    body = ack(raw, cl)
    del body[17]  # no ExecID
    raw.send(raw.message("8", body))

    reject = wait_until(lambda: raw.received(b"3"), what="a Reject")[0]
    assert reject.get(373) == b"1"  # REQUIRED_TAG_MISSING
    assert Order.objects.get(pk=order.pk).status == "PENDING_NEW"  # nothing applied
    raw.send(raw.message("8", ack(raw, cl)))  # the venue tries again, properly
    wait_until(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the report")


def test_an_unknown_message_type_gets_a_session_reject(raw):
    raw.send(raw.message("ZZ", {58: "what is this"}))
    reject = wait_until(lambda: raw.received(b"3"), what="a Reject")[0]
    assert reject.get(373) == b"11"  # INVALID_MSGTYPE
    assert session_state() == "LOGGED_ON"


def test_an_ordstatus_we_cannot_map_is_stored_and_flagged_not_dropped(raw):
    order, cl = an_order_at_the_venue(raw)
    raw.send(raw.message("8", ack(raw, cl, _39="Z")))

    report = wait_until(lambda: ExecutionReport.objects.filter(exec_id="E-1").first(),
                        what=lambda: f"the stored report; the OMS sent {[m.to_string() for m in raw.received()][-4:]}")
    assert report.flag == "unknown OrdStatus 'Z'"
    order.refresh_from_db()
    assert order.status == "PENDING_NEW" and "unknown OrdStatus" in order.flag
    assert raw.received(b"3") == []  # not rejected by the session: it reached the books


def test_a_wrong_compid_ends_the_session_and_it_comes_back(raw):
    raw.send(raw.message("0", sender="SOMEONE_ELSE"))
    wait_until(lambda: raw.received(b"5") or raw.connected() > 1, what="a Logout or drop")
    wait_until(lambda: raw.connected() > 1 and session_state() == "LOGGED_ON", timeout=20,
               what="the reconnect")


def test_a_sequence_number_too_low_ends_the_session_with_a_logout(raw):
    raw.send(raw.message("0", seq=1))  # 1 was the Logon
    logout = wait_until(lambda: raw.received(b"5"), what="a Logout")[0]
    assert b"too low" in logout.get(58)


def test_an_endless_message_does_not_take_the_holder_down(raw):
    order, cl = an_order_at_the_venue(raw)
    raw.send(b"8=FIX.4.4\x019=99999999\x0135=8\x01" + b"A" * 1_000_000)
    raw.drop()  # the venue gives up on that connection
    wait_until(lambda: raw.connected() > 1 and session_state() == "LOGGED_ON", timeout=20,
               what="the reconnect")
    raw.send(raw.message("8", ack(raw, cl)))
    wait_until(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the report")
    assert len([m for c in range(raw.connected()) for m in raw.received(b"D", c)]) == 1


def test_a_report_sent_again_possdup_or_not_changes_nothing_twice(raw):
    order, cl = an_order_at_the_venue(raw)
    first = ack(raw, cl)
    raw.send(raw.message("8", first))
    wait_until(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the report")
    raw.send(raw.message("8", first, seq=raw.next_seq - 1, poss_dup=True))  # a resend
    raw.send(raw.message("8", first, poss_dup=True))  # and again, at a new number
    fill = {**first, 17: "E-2", 150: "F", 39: "1", 32: "4", 31: "150", 14: "4", 151: "6",
            6: "150"}
    raw.send(raw.message("8", fill))
    raw.send(raw.message("8", fill))  # a venue that repeats itself

    wait_until(lambda: Order.objects.get(pk=order.pk).filled_quantity == 4, what="the fill")
    import time

    time.sleep(0.5)
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", 4)
    assert ExecutionReport.objects.filter(order=order).count() == 2
    assert order.events.filter(type="FILLED").count() == 1
    assert session_state() == "LOGGED_ON" and raw.received(b"5") == []


def test_bad_trades_are_stored_and_flagged_and_the_holder_goes_on(raw):
    """Over the wire, through the FIX session's holder: a trade for no order of ours, a zero
    or negative LastQty, a price finer than the instrument allows (or than a price is
    stored with), and a trade for an order already filled. Each is stored and flagged; the
    position moves by the good trades only."""
    from uuid import uuid4

    from executions.checks import books_problems
    from executions.models import Fill, Instrument, Position

    Instrument.objects.create(symbol="AAPL", price_decimals=2)
    order, cl = an_order_at_the_venue(raw)
    raw.send(raw.message("8", ack(raw, cl)))
    wait_until(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the ack")

    def trade(exec_id: str, **tags) -> dict:
        return {**ack(raw, cl), 17: exec_id, 150: "F", 39: "1", 32: "4", 31: "150",
                14: "4", 151: "6", 6: "150", **{int(k[1:]): v for k, v in tags.items()}}

    bad = {
        "T-UNKNOWN": trade("T-UNKNOWN", _11=str(uuid4())),
        "T-ZERO": trade("T-ZERO", _32="0"),
        "T-NEGATIVE": trade("T-NEGATIVE", _32="-5"),
        "T-TICK": trade("T-TICK", _31="150.125"),
        "T-FINER": trade("T-FINER", _31="150.123456789"),
    }
    for body in bad.values():
        raw.send(raw.message("8", body))
    raw.send(raw.message("8", trade("T-GOOD")))
    raw.send(raw.message("8", trade("T-REST", _32="6", _14="10", _151="0", _39="2")))
    raw.send(raw.message("8", trade("T-CLOSED", _32="1", _14="11", _151="0", _39="2")))

    wait_until(lambda: ExecutionReport.objects.filter(exec_id="T-CLOSED").exists(),
               what="the last report")
    for exec_id in [*bad, "T-CLOSED"]:
        assert ExecutionReport.objects.get(exec_id=exec_id).flag, exec_id
    assert ExecutionReport.objects.get(exec_id="T-UNKNOWN").order_id is None
    assert not Fill.objects.filter(exec_id__in=list(bad)).exists()
    assert Fill.objects.get(exec_id="T-CLOSED").quarantine_reason == "OVERFILL"
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("FILLED", 10)
    assert Position.objects.get(account_id="ACC-1", symbol="AAPL").net_quantity == 10
    assert books_problems() == []
    assert session_state() == "LOGGED_ON" and raw.received(b"3") == []
