"""Order services: intake (validation, idempotency, limits), client modify and cancel, and a
change and its audit event as one transaction. What the venue's messages do to an order, in
every status, is test_transition_matrix.py's."""

from decimal import Decimal

import pytest
from django.test import override_settings

from dispatch.drain import dispatch_drain
from executions.models import ExecutionReport
from omsproject.errors import InvalidInput
from orders import services
from orders.errors import (
    AccountForbidden,
    DuplicateClientOrderId,
    InvalidTransition,
    UnknownVenue,
)
from orders.models import Account, Order, OrderStatus
from risk.errors import RiskRefused
from sessions.errors import TradingHalted
from sessions.services import trading_halt_set
from tests.dispatch.conftest import drain
from tests.factories import make_order, order_terms

pytestmark = pytest.mark.django_db


# --- intake --------------------------------------------------------------------------------------


def test_create_queues_the_order_and_writes_a_created_event(trader):
    order = make_order(user=trader, account_code="ACC-1")

    assert order.status == OrderStatus.QUEUED
    assert order.venue_id == "XMOCK"
    assert [(e.type, e.from_status, e.to_status, e.actor) for e in order.events.all()] == [
        ("CREATED", "", "QUEUED", "trader")
    ]


def test_order_ids_are_time_ordered_uuid7(trader):
    first = make_order(user=trader, account_code="ACC-1")
    second = make_order(user=trader, account_code="ACC-1")

    assert first.id.version == 7
    assert first.id < second.id


def test_replay_with_same_terms_returns_the_original(trader):
    original = make_order(user=trader, account_code="ACC-1", client_order_id="c-1")

    replay, created = services.order_create(
        user=trader,
        account_code="ACC-1",
        client_order_id="c-1",
        # 150.250 is the same price as 150.25: the replay must match.
        terms=order_terms(limit_price=Decimal("150.250")),
    )

    assert (replay.pk, created) == (original.pk, False)
    assert Order.objects.count() == 1


def test_replay_with_other_terms_is_a_conflict(trader):
    original = make_order(user=trader, account_code="ACC-1", client_order_id="c-1")

    with pytest.raises(DuplicateClientOrderId) as caught:
        services.order_create(
            user=trader,
            account_code="ACC-1",
            client_order_id="c-1",
            terms=order_terms(quantity=Decimal("11")),
        )

    assert caught.value.details == {"orderId": str(original.pk)}
    assert Order.objects.count() == 1


def test_same_client_order_id_on_another_account_is_another_order(trader, operator):
    make_order(user=operator, account_code="ACC-1", client_order_id="c-1")
    make_order(user=operator, account_code="ACC-9", client_order_id="c-1")

    assert Order.objects.count() == 2


def test_client_cannot_trade_for_an_account_it_does_not_hold(trader, other_trader):
    with pytest.raises(AccountForbidden):
        make_order(user=trader, account_code="ACC-2")
    with pytest.raises(AccountForbidden):  # nor one that does not exist: it is not created
        make_order(user=trader, account_code="ACC-NEW")
    assert not Account.objects.filter(code="ACC-NEW").exists()


def test_operator_creates_an_account_on_first_use(operator):
    make_order(user=operator, account_code="ACC-FRESH")

    assert Account.objects.filter(code="ACC-FRESH").exists()


def test_unknown_venue_is_refused(trader):
    with pytest.raises(UnknownVenue):
        services.order_create(
            user=trader, account_code="ACC-1", client_order_id="c-1",
            terms=order_terms(), venue_code="NOPE",
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"order_type": "LIMIT", "limit_price": None}, "limit_price"),
        ({"order_type": "MARKET", "limit_price": Decimal("1")}, "limit_price"),
        ({"order_type": "STOP", "limit_price": None, "stop_price": None}, "stop_price"),
        ({"order_type": "STOP", "limit_price": Decimal("1"), "stop_price": Decimal("1")},
         "limit_price"),
        ({"order_type": "STOP_LIMIT", "stop_price": None}, "stop_price"),
        ({"order_type": "STOP_LIMIT", "limit_price": None, "stop_price": Decimal("1")},
         "limit_price"),
        ({"quantity": Decimal("0")}, "quantity"),
        ({"quantity": Decimal("-5")}, "quantity"),
        ({"limit_price": Decimal("0")}, "limit_price"),
        ({"order_type": "STOP", "limit_price": None, "stop_price": Decimal("-1")}, "stop_price"),
    ],
)
def test_terms_that_cannot_trade_are_refused_per_field(trader, overrides, field):
    with pytest.raises(InvalidInput) as caught:
        make_order(user=trader, account_code="ACC-1", **overrides)

    assert field in caught.value.details
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("order_type", "prices"),
    [
        ("MARKET", {"limit_price": None}),
        ("LIMIT", {"limit_price": Decimal("1")}),
        ("STOP", {"limit_price": None, "stop_price": Decimal("1")}),
        ("STOP_LIMIT", {"limit_price": Decimal("1"), "stop_price": Decimal("1")}),
    ],
)
def test_each_order_type_with_its_prices_is_accepted(trader, quotes, order_type, prices):
    quotes("XMOCK", "AAPL", bid="1", ask="1.01")  # a MARKET order is valued at the market
    assert make_order(user=trader, account_code="ACC-1", order_type=order_type, **prices)


# --- modify and cancel of queued orders ----------------------------------------------------------


def test_modify_changes_terms_in_place_and_audits_before_and_after(trader):
    order = make_order(user=trader, account_code="ACC-1")
    created_at = order.created_at

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("20"),
                          limit_price=Decimal("151"))

    order.refresh_from_db()
    assert (order.quantity, order.limit_price, order.status) == (
        Decimal("20"), Decimal("151"), OrderStatus.QUEUED
    )
    assert order.created_at == created_at
    event = order.events.last()
    assert event.type == "MODIFIED"
    assert event.data == {
        "before": {"quantity": "10", "limit_price": "150.25"},
        "after": {"quantity": "20", "limit_price": "151"},
    }


def test_modify_applies_the_same_rules_as_intake(trader):
    order = make_order(user=trader, account_code="ACC-1")

    with pytest.raises(InvalidInput):
        services.order_modify(order_id=order.pk, actor="trader", limit_price=None)
    with pytest.raises(RiskRefused) as refused:  # pre-trade risk checks a change too
        services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("200000"))
    assert refused.value.code == "risk_max_order_quantity"

    order.refresh_from_db()
    assert (order.quantity, order.limit_price) == (Decimal("10"), Decimal("150.25"))
    assert order.events.count() == 1


def test_modify_with_no_change_writes_no_event(trader):
    order = make_order(user=trader, account_code="ACC-1")

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("10.000"))

    assert order.events.count() == 1


# --- modify and cancel of live orders: requests to the venue ------------------------------------


def new_cl_ord_id(order: Order) -> str:
    return str(order.requests.get(kind="NEW").request_id)


def test_modify_and_cancel_of_a_live_order_queue_venue_requests(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("12"))
    order.refresh_from_db()
    assert (order.status, order.quantity) == ("PENDING_REPLACE", Decimal("10"))
    services.order_cancel(order_id=order.pk, actor="trader")
    order.refresh_from_db()
    assert order.status == "PENDING_CANCEL"
    assert [(r.kind, r.state, r.quantity) for r in order.requests.order_by("id")] == [
        ("NEW", "ANSWERED", Decimal("10")), ("MODIFY", "QUEUED", Decimal("12")),
        ("CANCEL", "QUEUED", None),
    ]
    assert [e.type for e in order.events.all()][-2:] == ["REPLACE_REQUESTED", "CANCEL_REQUESTED"]


def test_a_replace_accepted_by_the_venue_applies_the_new_terms(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("7"),
                          limit_price=Decimal("149"))
    drain(in_process_venue)

    order.refresh_from_db()
    assert (order.status, order.quantity, order.limit_price) == (
        "NEW", Decimal("7"), Decimal("149"))
    replace = in_process_venue.messages("G")[0]
    assert order.venue_cl_ord_id == replace[11]  # the next cancel or replace names it
    event = order.events.last()
    assert (event.type, event.from_status, event.to_status) == (
        "REPLACED", "PENDING_REPLACE", "NEW")
    assert event.data["before"] == {"quantity": "10", "limit_price": "150.25"}
    assert event.data["after"] == {"quantity": "7", "limit_price": "149"}


def test_modify_is_refused_below_what_is_filled(trader, in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    in_process_venue.deliver([in_process_venue.book.fill(new_cl_ord_id(order), Decimal("4"),
                                                         Decimal("150"))])

    with pytest.raises(InvalidInput, match="filled"):
        services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("4"))

    order.refresh_from_db()
    assert (order.status, order.quantity) == ("PARTIALLY_FILLED", Decimal("10"))
    assert not order.requests.filter(kind="MODIFY").exists()


def test_while_halted_a_live_order_is_not_replaced_but_can_be_cancelled(
    trader, in_process_venue
):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    trading_halt_set(halted=True, reason="test", actor="desk")

    with pytest.raises(TradingHalted):
        services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("5"))
    assert services.order_cancel(order_id=order.pk, actor="trader").status == "PENDING_CANCEL"
    drain(in_process_venue)

    order.refresh_from_db()
    assert (order.status, order.quantity) == ("CANCELED", Decimal("10"))
    assert [m[35] for m in in_process_venue.messages()] == ["D", "F"]


def test_closing_an_order_withdraws_what_it_still_has_queued(trader, in_process_venue):
    in_process_venue.book.reject_symbols.add("AAPL")
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    services.order_cancel(order_id=order.pk, actor="trader")  # the CANCEL waits behind the NEW

    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert [m[35] for m in in_process_venue.messages()] == ["D"]  # no cancel of nothing
    assert order.requests.get(kind="CANCEL").state == "WITHDRAWN"


def test_fills_accumulate_and_more_than_ordered_is_flagged_not_booked(trader,
                                                                      in_process_venue):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    cl, book = new_cl_ord_id(order), in_process_venue.book

    first = book.fill(cl, Decimal("4"), Decimal("150"))
    second = book.fill(cl, Decimal("4"), Decimal("151"))
    in_process_venue.deliver([first, second])
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", Decimal("8"))
    assert order.average_price == Decimal("150.5")  # the fills' weighted mean

    # A venue that reports 11 of 10 filled: our books keep what they had and say so.
    overfill = {**second, 17: "XMOCK-overfill", 32: "3", 14: "11", 151: "0", 39: "2"}
    in_process_venue.deliver([overfill])
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", Decimal("8"))
    assert order.average_price == Decimal("150.5")
    assert "overfill" in order.flag
    assert "overfill" in ExecutionReport.objects.get(exec_id=overfill[17]).flag
    assert order.fills.get(exec_id=overfill[17]).state == "QUARANTINED"  # stored, not booked

    in_process_venue.deliver([book.fill(cl, Decimal("2"), Decimal("150"))])
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("FILLED", Decimal("10"))


def test_cancel_of_a_queued_order_is_final(trader):
    order = make_order(user=trader, account_code="ACC-1")

    services.order_cancel(order_id=order.pk, actor="trader")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.events.last().type == "CANCELED"
    assert order.requests.get().state == "WITHDRAWN"  # its NEW left the queue unsent
    with pytest.raises(InvalidTransition):
        services.order_cancel(order_id=order.pk, actor="trader")
    with pytest.raises(InvalidTransition):
        services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("1"))
