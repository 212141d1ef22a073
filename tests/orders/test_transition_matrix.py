"""Every venue message in every status: an order is brought to each status the way orders get
there (intake, the in-process venue's claim, write and answer, its fills), then one thing
comes from the venue: the answer to what is on its way, a fill, a cancel or an expiry of its
own (tests/venues/book.py), or a hand-built reject (35=8 150=8, 35=9, 35=3, 35=j), status
answer (150=I) or report our rules cannot follow. The books may only move along
ALLOWED_TRANSITIONS, one audit event per change; what they cannot follow is stored, flagged
on the order, and changes nothing else."""

import itertools
from collections.abc import Callable
from decimal import Decimal
from uuid import uuid4

import pytest

from dispatch.drain import dispatch_drain
from dispatch.queue import requests_enqueue_status
from executions.models import ExecutionReport
from orders import services
from orders.errors import InvalidTransition
from orders.models import AFTER_TRADE_AMENDED, ALLOWED_TRANSITIONS, Order
from tests.dispatch.conftest import drain
from tests.factories import make_order

pytestmark = pytest.mark.django_db

VENUE = "XMOCK"
FLAG = "FLAG"  # the outcome: flagged for an operator, nothing else changed
_exec_ids = itertools.count(1)


# --- bringing an order to each status ---------------------------------------------------------


def new_cl_ord_id(order: Order) -> str:
    return str(order.requests.get(kind="NEW").request_id)


def claim() -> None:
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)


def order_in(status: str, venue, user) -> Order:
    """PENDING_NEW: claimed, not yet written. PENDING_CANCEL / PENDING_REPLACE: the CANCEL /
    MODIFY waits in our queue, the venue's order is live. The venue has every order that got
    past PENDING_NEW, except the rejected one."""
    if status == "REJECTED":
        venue.book.reject_symbols.add("NOPE")
    order = make_order(user=user, account_code="ACC-1",
                       symbol="NOPE" if status == "REJECTED" else "AAPL")
    if status == "PENDING_NEW":
        claim()
    elif status != "QUEUED":
        drain(venue)
    cl = new_cl_ord_id(order)
    if status == "PARTIALLY_FILLED":
        venue.deliver([venue.book.fill(cl, Decimal("4"), Decimal("150"))])
    elif status == "FILLED":
        venue.deliver([venue.book.fill(cl, Decimal("10"), Decimal("150"))])
    elif status == "EXPIRED":
        venue.deliver(venue.book.expire_day_orders())
    elif status in ("PENDING_CANCEL", "CANCELED"):
        services.order_cancel(order_id=order.pk, actor="trader")
        if status == "CANCELED":
            drain(venue)
    elif status == "PENDING_REPLACE":
        services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("12"))
    order.refresh_from_db()
    assert order.status == status, order.events.values_list("type", "to_status")
    return order


# --- what comes from the venue ------------------------------------------------------------------


def at_venue(venue, order: Order) -> dict | None:
    return venue.book.order_for(new_cl_ord_id(order))


def report(venue, order: Order, exec_type: str, ord_status: str, **figures) -> dict:
    """An ExecutionReport about the order with the venue's figures, or ours where the venue
    never had it, as a venue writes one (docs/fix.md)."""
    book = at_venue(venue, order) or {}
    values = {"cum": book.get("cum", order.filled_quantity), "avg": book.get("avg", 0),
              "qty": book.get("qty", order.quantity)} | figures
    tags = {35: "8", 37: book.get("orderId", "NONE"), 17: f"HAND-{next(_exec_ids)}",
            150: exec_type, 39: ord_status, 11: book.get("clOrdId", new_cl_ord_id(order)),
            55: order.symbol, 54: "1", 38: values["qty"], 44: order.limit_price,
            151: max(values["qty"] - values["cum"], 0), 14: values["cum"], 6: values["avg"]}
    return {k: str(v) for k, v in tags.items()}


def own_or_hand_built(venue, order, action: Callable[[dict], dict], exec_type: str,
                      ord_status: str, **figures) -> list[dict]:
    # The venue acting on its own order; on one it never had, the same report by hand.
    book = at_venue(venue, order)
    if book is None:
        return [report(venue, order, exec_type, ord_status, **figures)]
    return [action(book)]


def on_the_wire(venue, order: Order):
    """What the order has claimed or queued is written, and lost on the way: a reject will
    answer it. (A queued order's NEW stays queued: claiming it is dispatch's move, not the
    venue's.) Returns the order's latest written request, or None."""
    if order.status != "QUEUED":
        claim()
        venue.lose = True
        venue.write()
        venue.lose = False
    return order.requests.filter(sent_at__isnull=False).order_by("-id").first()


def answer(venue, order):
    drain(venue)  # claim, write, answer: what is queued or on its way
    return []


def trade(venue, order, ord_status: str, quantity: Decimal) -> dict:
    """A trade report by hand (for an order the venue never had), with LastQty and LastPx."""
    return report(venue, order, "F", ord_status, cum=order.filled_quantity + quantity,
                  avg=Decimal("151")) | {32: str(quantity), 31: "151"}


def fill(venue, order):
    book = at_venue(venue, order)
    if book is None:
        return [trade(venue, order, "1", Decimal("2"))]
    return [venue.book.fill(book["clOrdId"], Decimal("2"), Decimal("151"))]


def fill_the_rest(venue, order):
    book = at_venue(venue, order)
    if book is None:
        return [trade(venue, order, "2", order.quantity - order.filled_quantity)]
    if book["qty"] > book["cum"]:
        return [venue.book.fill(book["clOrdId"], book["qty"] - book["cum"], Decimal("151"))]
    # Filled already: a trade report with no trade in it (no LastQty), which is flagged.
    return [report(venue, order, "F", "2")]


def last_trade(venue, order) -> str | None:
    fill = order.fills.filter(state="APPLIED").order_by("-id").first()
    return fill.exec_id if fill else None


def never_received(venue, order, exec_type: str) -> dict:
    """A bust or correction of a trade whose report never reached us, its CumQty equal to
    ours (the venue's status as it has it)."""
    status = (at_venue(venue, order) or {}).get("status", "0")
    return report(venue, order, exec_type, status) | {19: "NEVER-RECEIVED", 32: "1", 31: "150"}


def bust(venue, order):
    """The venue busts the order's last trade; of an order with none, one we never
    received."""
    exec_id = last_trade(venue, order)
    if exec_id is None:
        return [never_received(venue, order, "H")]
    return [venue.book.bust(exec_id)]


def correct(venue, order):
    """The venue corrects the order's last trade to one less, one dearer."""
    exec_id = last_trade(venue, order)
    if exec_id is None:
        return [never_received(venue, order, "G")]
    was = venue.book.trades[exec_id]
    return [venue.book.correct(exec_id, was["qty"] - 1, was["px"] + 1)]


def venue_cancel(venue, order):
    return own_or_hand_built(venue, order, lambda book: venue.book.cancel(book["clOrdId"]),
                             "4", "4")


def venue_expire(venue, order):
    return venue.book.expire_day_orders() or [report(venue, order, "C", "C")]


def new_rejected(venue, order):
    return [report(venue, order, "8", "8") | {11: new_cl_ord_id(order), 103: "0",
                                              58: "BROKER_OPTION"}]


def cancel_rejected(venue, order):
    on_the_wire(venue, order)
    change = order.requests.filter(kind__in=("CANCEL", "MODIFY")).order_by("-id").first()
    book = at_venue(venue, order) or {}
    return [{35: "9", 37: book.get("orderId", "NONE"),
             11: str(change.request_id) if change else str(uuid4()),
             41: order.venue_cl_ord_id or new_cl_ord_id(order), 39: book.get("status", "8"),
             434: "1" if change is None or change.kind == "CANCEL" else "2", 102: "0",
             58: "TOO_LATE_TO_CANCEL"}]


def session_rejected(venue, order):
    written = on_the_wire(venue, order)
    seq = written.msg_seq_num if written else 9999
    return [{35: "3", 45: seq, 373: "5", 58: "Value is incorrect (out of range) for this tag"}]


def business_rejected(reason: str, text: str):
    def reject(venue, order):
        written = on_the_wire(venue, order)
        target = written or order.requests.get(kind="NEW")
        return [{35: "j", 45: target.msg_seq_num or 9999,
                 372: (target.message or {}).get("msgType", "D"),
                 379: str(target.request_id), 380: reason, 58: text}]
    return reject


def status_answer(*, known: bool):
    """The venue's answer to our status request (35=H): the order as it has it, or
    "unknown order". A queued order is never asked about: its answer comes unasked."""

    def answer_status(venue, order):
        asked = None
        if order.status != "QUEUED":
            on_the_wire(venue, order)
            requests_enqueue_status(venue_code=VENUE, order_ids=[order.pk])
            asked = on_the_wire(venue, order)
            assert asked.kind == "STATUS"
        book = at_venue(venue, order) if known else None
        if book is None:
            tags = report(venue, order, "I", "8", cum=Decimal(0)) | {
                103: "5", 11: order.venue_cl_ord_id or new_cl_ord_id(order), 37: "NONE"}
        else:
            tags = report(venue, order, "I", book["status"])
        return [tags | ({790: str(asked.request_id)} if asked else {})]

    return answer_status


def unknown_exec_type(venue, order):
    return [report(venue, order, "Z", (at_venue(venue, order) or {}).get("status", "0"))]


def unknown_ord_status(venue, order):
    return [report(venue, order, "D", "Z")]


def overfill(venue, order):
    """A trade of one more than the order has left at the venue."""
    cum = (at_venue(venue, order) or {}).get("cum", order.filled_quantity)
    return [report(venue, order, "F", "2", cum=order.quantity + 1, avg=Decimal("150"))
            | {32: str(order.quantity - cum + 1), 31: "150"}]


EVENTS = {
    "answer": answer,
    "fill": fill,
    "fill_the_rest": fill_the_rest,
    "venue_cancel": venue_cancel,
    "venue_expire": venue_expire,
    "new_rejected": new_rejected,
    "cancel_rejected": cancel_rejected,
    "session_rejected": session_rejected,
    "business_rejected": business_rejected("5", "Conditionally required field missing"),
    "throttled": business_rejected("0", "RATE_LIMIT"),
    "status": status_answer(known=True),
    "status_unknown": status_answer(known=False),
    "unknown_exec_type": unknown_exec_type,
    "unknown_ord_status": unknown_ord_status,
    "overfill": overfill,
    "bust": bust,
    "correct": correct,
}


# --- the matrix ---------------------------------------------------------------------------------

STATUSES = ["QUEUED", "PENDING_NEW", "NEW", "PARTIALLY_FILLED", "FILLED", "PENDING_CANCEL",
            "CANCELED", "PENDING_REPLACE", "REJECTED", "EXPIRED"]
SAME = "="  # the status stays (figures may follow the venue, unflagged)
MOVED_AND_FLAGGED = "REJECTED+FLAG"  # an order the venue accepted once and no longer knows
# A trade after the order closed here: booked (it happened at the venue), the status stays,
# flagged for an operator.
LATE = "=+LATE"


def row(*outcomes: str) -> dict[str, str]:
    return dict(zip(STATUSES, outcomes, strict=True))


# Written out, not read from the code: a change to what the books do with a venue message
# must change this table too.
EXPECTED = {
    #                    QUEUED     PENDING_NEW   NEW        PARTIALLY_FILLED
    #                    FILLED     PENDING_CANCEL CANCELED  PENDING_REPLACE  REJECTED  EXPIRED
    "answer": row("NEW", "NEW", SAME, SAME,
                  SAME, "CANCELED", SAME, "NEW", SAME, SAME),
    # A trade is booked while the order lives; one that would overfill it (FILLED), or
    # for an order that never lived at the venue (QUEUED, REJECTED), is quarantined.
    "fill": row(FLAG, "PARTIALLY_FILLED", "PARTIALLY_FILLED", SAME,
                FLAG, SAME, LATE, SAME, FLAG, LATE),
    "fill_the_rest": row(FLAG, "FILLED", "FILLED", "FILLED",
                         FLAG, "FILLED", LATE, "FILLED", FLAG, LATE),
    # The venue's word on an order that never left: nothing to cancel there, none here.
    "venue_cancel": row("CANCELED", "CANCELED", "CANCELED", "CANCELED",
                        FLAG, "CANCELED", SAME, "CANCELED", FLAG, FLAG),
    "venue_expire": row("EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED",
                        FLAG, "EXPIRED", FLAG, "EXPIRED", FLAG, SAME),
    "new_rejected": row(FLAG, "REJECTED", "REJECTED", "REJECTED",
                        FLAG, "REJECTED", FLAG, "REJECTED", SAME, FLAG),
    # Rejects answer a request on the wire; an order with none there is not touched.
    "cancel_rejected": row(SAME, SAME, SAME, SAME,
                           SAME, "NEW", SAME, "NEW", SAME, SAME),
    "session_rejected": row(SAME, "REJECTED", SAME, SAME,
                            SAME, "NEW", SAME, "NEW", SAME, SAME),
    "business_rejected": row(SAME, "REJECTED", SAME, SAME,
                             SAME, "NEW", SAME, "NEW", SAME, SAME),
    # Not now: the NEW waits in the queue again (a cancel or replace stays pending).
    "throttled": row(SAME, "QUEUED", SAME, SAME,
                     SAME, SAME, SAME, SAME, SAME, SAME),
    # The venue never got the NEW (it was lost): it goes again. A lost cancel or replace
    # is queued again and the order stays pending.
    "status": row(SAME, "QUEUED", SAME, SAME,
                  SAME, SAME, SAME, SAME, SAME, SAME),
    "status_unknown": row(SAME, "QUEUED", MOVED_AND_FLAGGED, MOVED_AND_FLAGGED,
                          SAME, MOVED_AND_FLAGGED, SAME, MOVED_AND_FLAGGED, SAME, SAME),
    "unknown_exec_type": row(*[FLAG] * len(STATUSES)),
    "unknown_ord_status": row(*[FLAG] * len(STATUSES)),
    "overfill": row(*[FLAG] * len(STATUSES)),
    # Of the order's trade (it has one when partially filled or filled): a filled order no
    # longer filled in full is cancelled, never reopened (docs/fix.md). Of a trade we never
    # received, with the venue's CumQty equal to ours: the venue's status is followed, as
    # any report's (on an order that never left, it cannot be).
    "bust": row(FLAG, "NEW", SAME, "NEW",
                "CANCELED", SAME, SAME, SAME, FLAG, SAME),
    "correct": row(FLAG, "NEW", SAME, SAME,
                   "CANCELED", SAME, SAME, SAME, FLAG, SAME),
}
FIGURES = ("quantity", "limit_price", "stop_price", "filled_quantity", "average_price",
           "venue_order_id", "venue_cl_ord_id")


def snapshot(order: Order) -> dict:
    order.refresh_from_db()
    return {field: getattr(order, field) for field in ("status", "flag", *FIGURES)}


def assert_moves_are_allowed_and_audited(events, *, before: str, after: str) -> None:
    """The new events chain from the old status to the new one, each change allowed and
    audited by exactly one event."""
    status = before
    for event in events:
        assert event.from_status == status, (event.type, event.from_status, status)
        if event.to_status != event.from_status:
            allowed = ALLOWED_TRANSITIONS[event.from_status]
            if event.type in ("BUSTED", "CORRECTED"):
                allowed |= AFTER_TRADE_AMENDED.get(event.from_status, frozenset())
            assert event.to_status in allowed, event.type
        status = event.to_status
    assert status == after


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("event", list(EVENTS))
def test_every_venue_message_in_every_status(trader, in_process_venue, event, status):
    venue = in_process_venue
    order = order_in(status, venue, trader)
    before = snapshot(order)
    seen = order.events.count()

    messages = EVENTS[event](venue, order)
    venue.deliver(messages)

    after = snapshot(order)
    events = list(order.events.order_by("id"))[seen:]
    assert_moves_are_allowed_and_audited(events, before=status, after=after["status"])
    expected = EXPECTED[event][status]
    if expected == FLAG:
        assert after["flag"], events
        assert {k: v for k, v in after.items() if k != "flag"} == {
            k: v for k, v in before.items() if k != "flag"}
        assert [e.type for e in events] == ["FLAGGED"]
        for reported in (m for m in messages if m[35] == "8"):
            assert ExecutionReport.objects.get(exec_id=reported[17]).flag
        return
    if expected == LATE:
        assert (after["status"], bool(after["flag"])) == (status, True), after
        assert after["filled_quantity"] > before["filled_quantity"]
        assert [e.type for e in events] == ["FILLED", "FLAGGED"]
        reported = messages[0][17]
        assert order.fills.get(exec_id=reported).state == "APPLIED"
        assert ExecutionReport.objects.get(exec_id=reported).flag
        return
    if expected == MOVED_AND_FLAGGED:
        assert (after["status"], events[-1].type) == ("REJECTED", "FLAGGED")
        assert after["flag"] == "the venue does not know this order"
        return
    assert after["status"] == (status if expected == SAME else expected)
    assert not after["flag"], after["flag"]
    changes = [e for e in events if e.from_status != e.to_status]
    # One change per message; the answer to a queued order is two (claimed, acknowledged).
    moved = after["status"] != status
    assert len(changes) == (0 if not moved else 2 if (event, status) == ("answer", "QUEUED")
                            else 1)
    for reported in (m for m in messages if m[35] == "8"):
        assert ExecutionReport.objects.filter(exec_id=reported[17]).exists()


# What clients and the close may do in each status: a change, or a refusal that changes
# nothing (written out too).
REFUSED = "REFUSED"
CLIENT_EXPECTED = {
    #              QUEUED     PENDING_NEW       NEW        PARTIALLY_FILLED
    #              FILLED     PENDING_CANCEL    CANCELED   PENDING_REPLACE   REJECTED  EXPIRED
    "modify": row("QUEUED", REFUSED, "PENDING_REPLACE", "PENDING_REPLACE",
                  REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "cancel": row("CANCELED", "PENDING_CANCEL", "PENDING_CANCEL", "PENDING_CANCEL",
                  REFUSED, REFUSED, REFUSED, "PENDING_CANCEL", REFUSED, REFUSED),
    "expire_at_close": row("EXPIRED", REFUSED, REFUSED, REFUSED,
                           REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
}
CLIENT_ACTIONS = {
    "modify": lambda order: services.order_modify(order_id=order.pk, actor="trader",
                                                  quantity=Decimal("9")),
    "cancel": lambda order: services.order_cancel(order_id=order.pk, actor="trader"),
    "expire_at_close": lambda order: services.order_expire(order_id=order.pk,
                                                           actor="system:session-close",
                                                           reason="DAY order at the close"),
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(CLIENT_ACTIONS))
def test_client_changes_in_every_status(trader, in_process_venue, action, status):
    order = order_in(status, in_process_venue, trader)
    before = snapshot(order)
    seen = order.events.count()
    expected = CLIENT_EXPECTED[action][status]

    if expected == REFUSED:
        with pytest.raises(InvalidTransition):
            CLIENT_ACTIONS[action](order)
        assert snapshot(order) == before
        assert order.events.count() == seen
        return
    CLIENT_ACTIONS[action](order)
    after = snapshot(order)
    events = list(order.events.order_by("id"))[seen:]
    assert after["status"] == expected
    assert len(events) == 1  # one audit event, whether the status moved or not
    assert_moves_are_allowed_and_audited(events, before=status, after=expected)
