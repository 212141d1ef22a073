from decimal import Decimal

import pytest
from django.test import override_settings

from omsproject.errors import InvalidInput
from orders import services
from orders.errors import (
    AccountForbidden,
    DuplicateClientOrderId,
    InvalidTransition,
    OrderLimitExceeded,
    UnknownVenue,
)
from orders.models import Account, Order, OrderEvent, OrderStatus
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
def test_each_order_type_with_its_prices_is_accepted(trader, order_type, prices):
    assert make_order(user=trader, account_code="ACC-1", order_type=order_type, **prices)


def test_quantity_limit_is_enforced(trader):
    make_order(user=trader, account_code="ACC-1", order_type="MARKET", limit_price=None,
               quantity=Decimal("100000"))
    with pytest.raises(OrderLimitExceeded, match="100000"):
        make_order(user=trader, account_code="ACC-1", order_type="MARKET", limit_price=None,
                   quantity=Decimal("100000.000001"))


def test_notional_limit_is_enforced(trader):
    make_order(user=trader, account_code="ACC-1", quantity=Decimal("1000"),
               limit_price=Decimal("1000"))
    with pytest.raises(OrderLimitExceeded, match="[Nn]otional"):
        make_order(user=trader, account_code="ACC-1", quantity=Decimal("1000"),
                   limit_price=Decimal("1000.01"))


@override_settings(OMS_MAX_ORDER_QUANTITY=Decimal("5"))
def test_limits_are_configurable(trader):
    with pytest.raises(OrderLimitExceeded):
        make_order(user=trader, account_code="ACC-1", quantity=Decimal("6"))


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
    with pytest.raises(OrderLimitExceeded):
        services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("200000"))

    order.refresh_from_db()
    assert (order.quantity, order.limit_price) == (Decimal("10"), Decimal("150.25"))
    assert order.events.count() == 1


def test_modify_with_no_change_writes_no_event(trader):
    order = make_order(user=trader, account_code="ACC-1")

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("10.000"))

    assert order.events.count() == 1


def test_modify_and_cancel_of_a_live_order_queue_venue_requests(trader):
    order = _order_in("NEW", trader)

    services.order_modify(order_id=order.pk, actor="trader", quantity=Decimal("12"))
    order.refresh_from_db()
    assert (order.status, order.quantity) == ("PENDING_REPLACE", Decimal("10"))
    services.order_cancel(order_id=order.pk, actor="trader")
    order.refresh_from_db()
    assert order.status == "PENDING_CANCEL"
    assert [(r.kind, r.state, r.quantity) for r in order.requests.order_by("id")] == [
        ("NEW", "QUEUED", None), ("MODIFY", "QUEUED", Decimal("12")), ("CANCEL", "QUEUED", None)
    ]


def test_a_replace_accepted_by_the_venue_applies_the_new_terms(trader):
    order = _order_in("PENDING_REPLACE", trader)

    services.order_replace_accept(order_id=order.pk, actor="venue", quantity=Decimal("7"),
                                  limit_price=Decimal("149"), stop_price=None)

    order.refresh_from_db()
    assert (order.status, order.quantity, order.limit_price) == (
        "NEW", Decimal("7"), Decimal("149")
    )


def test_closing_an_order_withdraws_what_it_still_has_queued(trader):
    order = _order_in("PENDING_NEW", trader)
    services.order_cancel(order_id=order.pk, actor="trader")  # CANCEL waits behind the NEW

    services.order_reject(order_id=order.pk, actor="venue", reason="unknown symbol")

    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert not order.requests.filter(state="QUEUED").exists()


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


# --- the transition matrix -----------------------------------------------------------------------
# For each service, the statuses it may act from (FIX OrdStatus plus QUEUED). Written out here
# rather than read from the code, so a change to the allowed transitions must change this too.

ALL = set(OrderStatus.values)
LIVE = {"NEW", "PARTIALLY_FILLED"}
ACTS_FROM = {
    "modify": {"QUEUED"} | LIVE,
    "cancel": {"QUEUED", "PENDING_NEW", "PENDING_REPLACE"} | LIVE,
    "mark_sent": {"QUEUED"},
    "acknowledge": {"PENDING_NEW", "PENDING_CANCEL"},
    "reject": {"PENDING_NEW", "PENDING_CANCEL"},
    "replace_accept": {"PENDING_REPLACE", "PENDING_CANCEL"},
    "replace_reject": {"PENDING_REPLACE", "PENDING_CANCEL"},
    "cancel_accept": {"PENDING_CANCEL"},
    "cancel_reject": {"PENDING_CANCEL"},
    "expire": {"QUEUED", "NEW", "PARTIALLY_FILLED", "PENDING_CANCEL", "PENDING_REPLACE"},
    "partial_fill": {"PENDING_NEW", "NEW", "PARTIALLY_FILLED", "PENDING_CANCEL",
                     "PENDING_REPLACE"},
    "complete_fill": {"PENDING_NEW", "NEW", "PARTIALLY_FILLED", "PENDING_CANCEL",
                      "PENDING_REPLACE"},
}
PENDING = {"PENDING_CANCEL", "PENDING_REPLACE"}


def _back_to_live(before: str) -> str:
    # The orders in the matrix have nothing filled, so a resolved request leaves them NEW;
    # a pending cancel outranks the resolution of an earlier replace.
    return "PENDING_CANCEL" if before == "PENDING_CANCEL" else "NEW"


RESULT = {
    "modify": lambda before: "QUEUED" if before == "QUEUED" else "PENDING_REPLACE",
    "cancel": lambda before: "CANCELED" if before == "QUEUED" else "PENDING_CANCEL",
    "mark_sent": lambda before: "PENDING_NEW",
    "acknowledge": lambda before: "NEW" if before == "PENDING_NEW" else before,
    "reject": lambda before: "REJECTED",
    "replace_accept": _back_to_live,
    "replace_reject": _back_to_live,
    "cancel_accept": lambda before: "CANCELED",
    "cancel_reject": lambda before: "NEW",
    "expire": lambda before: "EXPIRED",
    # A partial fill keeps a pending cancel/replace pending.
    "partial_fill": lambda before: before if before in PENDING else "PARTIALLY_FILLED",
    "complete_fill": lambda before: "FILLED",
}


def _apply(action: str, order: Order) -> None:
    kw = {"order_id": order.pk, "actor": "system:test"}
    match action:
        case "modify":
            services.order_modify(**kw, quantity=Decimal("9"))
        case "cancel":
            services.order_cancel(**kw)
        case "mark_sent":
            services.order_mark_sent(**kw)
        case "acknowledge":
            services.order_acknowledge(**kw)
        case "reject":
            services.order_reject(**kw, reason="venue says no")
        case "replace_accept":
            services.order_replace_accept(**kw, quantity=Decimal("8"),
                                          limit_price=Decimal("150"), stop_price=None)
        case "replace_reject":
            services.order_replace_reject(**kw, reason="venue says no")
        case "cancel_accept":
            services.order_cancel_accept(**kw)
        case "cancel_reject":
            services.order_cancel_reject(**kw, reason="too late")
        case "expire":
            services.order_expire(**kw, reason="end of day")
        case "partial_fill":
            services.order_fill(**kw, quantity=Decimal("1"), price=Decimal("150"))
        case "complete_fill":
            services.order_fill(**kw, quantity=order.quantity - order.filled_quantity,
                                price=Decimal("150"))


def _order_in(status: str, user) -> Order:
    order = make_order(user=user, account_code="ACC-1")
    # Every status is set directly, so each service meets each status the same way; the
    # guard under test is in the service, not in how the row got there.
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize("status", sorted(ALL))
@pytest.mark.parametrize("action", sorted(ACTS_FROM))
def test_transition_matrix(trader, action, status):
    order = _order_in(status, trader)
    events_before = order.events.count()

    if status in ACTS_FROM[action]:
        _apply(action, order)
        order.refresh_from_db()
        assert order.status == RESULT[action](status)
        assert order.events.count() == events_before + 1
        assert order.events.last().from_status == status
    else:
        with pytest.raises(InvalidTransition):
            _apply(action, order)
        order.refresh_from_db()
        assert order.status == status
        assert order.events.count() == events_before


def test_fills_accumulate_and_never_overfill(trader):
    order = _order_in("NEW", trader)

    services.order_fill(order_id=order.pk, actor="venue", quantity=Decimal("4"),
                        price=Decimal("150"))
    services.order_fill(order_id=order.pk, actor="venue", quantity=Decimal("5"),
                        price=Decimal("150.5"))
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", Decimal("9"))

    with pytest.raises(InvalidTransition, match="overfill"):
        services.order_fill(order_id=order.pk, actor="venue", quantity=Decimal("2"),
                            price=Decimal("150"))
    services.order_fill(order_id=order.pk, actor="venue", quantity=Decimal("1"),
                        price=Decimal("150"))
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("FILLED", Decimal("10"))


def test_a_rolled_back_transition_leaves_no_event(trader, monkeypatch):
    order = make_order(user=trader, account_code="ACC-1")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(OrderEvent.objects, "create", fail)
    with pytest.raises(RuntimeError):
        services.order_cancel(order_id=order.pk, actor="trader")

    order.refresh_from_db()
    assert order.status == OrderStatus.QUEUED
