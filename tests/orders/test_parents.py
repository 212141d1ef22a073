"""Routed orders: a parent split by the router into children, one per venue, whose fills,
statuses and answers roll up into the parent; modify and cancel fanned out to them; an IOC
remainder routed again. Two venues in this process (tests/venues/inproc.py), each with its
own queue, limiter and book; quotes written to the market data cache as the FIX holder
writes them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from executions.checks import assert_books_add_up
from marketdata.quotes import Quote
from marketdata.selectors import quote_store
from orders import services
from orders.models import Order
from sessions.services import venue_kill_switch_set
from tests.dispatch.conftest import drain, venue_live
from tests.factories import AccountFactory, order_terms
from tests.venues.inproc import InProcessVenue
from venues.models import Venue

D = Decimal
A, B = "XMOCK", "XFAST"


@pytest.fixture
def venues(limiter_redis, db):
    """Two live venues with equal fees, answered in this process."""
    for code in (A, B):
        venue_live(code)
        Venue.objects.filter(code=code).update(taker_fee_per_share=D("0.003"),
                                               maker_fee_per_share=D("-0.002"))
    yield {code: InProcessVenue(code) for code in (A, B)}
    quote_store()._client.flushdb()


def book(venue: str, symbol: str = "AAPL", *, asks=(), bids=(), age: float = 0.0) -> None:
    """The venue's book as its market data says: levels of (price, size), best first."""
    quote_store().put([Quote(
        venue_code=venue, symbol=symbol,
        sent_at=datetime.now(UTC) - timedelta(seconds=age),
        bids=tuple((D(p), D(s)) for p, s in bids), asks=tuple((D(p), D(s)) for p, s in asks))])


@pytest.fixture
def account(trader):
    AccountFactory(code="ACC-R", users=[trader])
    return "ACC-R"


def routed(user, account: str, *, routing: str = "BEST_PRICE", **terms) -> Order:
    order, created = services.order_create(
        user=user, account_code=account, client_order_id=f"R-{Order.objects.count()}",
        routing=routing, terms=order_terms(**terms))
    assert created
    return order


def children(parent: Order) -> dict[str, Order]:
    return {child.venue_id: child for child in Order.objects.filter(parent=parent)}


def pump(venues) -> None:
    for venue in venues.values():
        drain(venue)


def cl_ord_id(child: Order) -> str:
    child.refresh_from_db()
    return child.venue_cl_ord_id


def refreshed(order: Order) -> Order:
    order.refresh_from_db()
    return order


def test_a_sweep_across_two_venues_fills_each_and_rolls_up(venues, trader, account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"),
                    time_in_force="IOC")
    assert parent.venue_id is None and parent.status == "QUEUED"
    kids = children(parent)
    assert {v: c.quantity for v, c in kids.items()} == {A: 300, B: 700}
    pump(venues)
    assert refreshed(parent).status == "NEW"
    venues[A].deliver([venues[A].book.fill(cl_ord_id(kids[A]), D(300), D("100.00"))])
    assert refreshed(parent).status == "PARTIALLY_FILLED" and parent.filled_quantity == 300
    venues[B].deliver([venues[B].book.fill(cl_ord_id(kids[B]), D(700), D("100.01"))])
    parent.refresh_from_db()
    assert (parent.status, parent.filled_quantity, parent.average_price) == (
        "FILLED", D(1000), D("100.007"))
    assert {refreshed(c).status for c in kids.values()} == {"FILLED"}
    fills = [e for e in parent.events.filter(type="FILLED")]
    assert {e.data["child"]["venue"] for e in fills} == {A, B}  # which child did what
    assert_books_add_up()


def test_the_route_audit_and_the_children_are_on_the_order(venues, trader, trader_api,
                                                           account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    answer = trader_api.post("/api/v1/orders", {
        "clientOrderId": "SWEEP-1", "accountId": account, "symbol": "AAPL", "side": "BUY",
        "orderType": "LIMIT", "quantity": "1000", "limitPrice": "100.01",
        "timeInForce": "DAY", "routing": "BEST_PRICE"}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["routing"] == "BEST_PRICE" and body["venue"] is None
    detail = trader_api.get(f"/api/v1/orders/{body['orderId']}").json()
    assert [(c["venue"], c["quantity"]) for c in detail["children"]] == [(A, "300"),
                                                                         (B, "700")]
    assert all(c["parentOrderId"] == body["orderId"] for c in detail["children"])
    (decision,) = detail["routeAudit"]
    assert decision["type"] == "ROUTED"
    assert decision["policy"] == "BEST_PRICE"
    text = str(decision)
    assert "100.01" in text and "0.003" in text  # the quotes and the fees it used
    listed = trader_api.get("/api/v1/orders?isChild=false").json()["results"]
    assert [o["orderId"] for o in listed] == [body["orderId"]]
    # A child is its parent's to change.
    child_id = detail["children"][0]["orderId"]
    refused = trader_api.patch(f"/api/v1/orders/{child_id}", {"limitPrice": "100"},
                               format="json")
    assert refused.status_code == 409, refused.json()


def test_the_taker_fee_decides_between_two_prices(venues, trader, account):
    Venue.objects.filter(code=A).update(taker_fee_per_share=D("0.02"))
    Venue.objects.filter(code=B).update(taker_fee_per_share=D("0"))
    book(A, asks=[("100.00", "500")])
    book(B, asks=[("100.01", "500")])
    parent = routed(trader, account, quantity=D(300), limit_price=D("100.05"))
    assert {v: c.quantity for v, c in children(parent).items()} == {B: 300}


def test_stale_and_halted_venues_are_skipped(venues, trader, account):
    book(A, asks=[("100.00", "500")], age=settings.OMS_MARKET_DATA_STALE_SECONDS + 5)
    book(B, asks=[("100.01", "500")])
    first = routed(trader, account, quantity=D(100), limit_price=D("100.05"))
    assert set(children(first)) == {B}  # A's quote is stale
    book(A, asks=[("100.00", "500")])
    venue_kill_switch_set(venue_code=A, halted=True, actor="ops", reason="test")
    second = routed(trader, account, quantity=D(100), limit_price=D("100.05"))
    assert set(children(second)) == {B}  # A is halted, its better price notwithstanding
    venue_kill_switch_set(venue_code=B, halted=True, actor="ops", reason="test")
    with pytest.raises(Exception) as refused:
        routed(trader, account, quantity=D(100), limit_price=D("100.05"))
    assert getattr(refused.value, "code", "") == "routing_no_venue"


def test_an_ioc_remainder_is_routed_again_to_the_next_venue(venues, trader, account):
    book(A, asks=[("100.00", "500")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(500), limit_price=D("100.01"),
                    time_in_force="IOC")
    first = children(parent)[A]
    assert first.quantity == 500 and set(children(parent)) == {A}
    pump(venues)
    # A had less than it showed: 200 trade, the rest of the IOC is cancelled there.
    cl = cl_ord_id(first)
    venues[A].deliver([venues[A].book.fill(cl, D(200), D("100.00")), venues[A].book.cancel(cl)])
    again = children(parent)[B]
    assert again.quantity == 300 and again.time_in_force == "IOC"
    assert refreshed(parent).status == "PARTIALLY_FILLED"
    assert [e.type for e in parent.events.filter(type="ROUTED")] == ["ROUTED", "ROUTED"]
    pump(venues)
    venues[B].deliver([venues[B].book.fill(cl_ord_id(again), D(300), D("100.01"))])
    parent.refresh_from_db()
    assert (parent.status, parent.filled_quantity) == ("FILLED", D(500))
    assert_books_add_up()


def test_an_ioc_remainder_nobody_shows_within_the_limit_ends_the_parent(venues, trader,
                                                                        account):
    book(A, asks=[("100.00", "500")])
    book(B, asks=[("100.50", "800")])  # beyond the limit
    parent = routed(trader, account, quantity=D(500), limit_price=D("100.01"),
                    time_in_force="IOC")
    pump(venues)
    cl = cl_ord_id(children(parent)[A])
    venues[A].deliver([venues[A].book.fill(cl, D(200), D("100.00")), venues[A].book.cancel(cl)])
    parent.refresh_from_db()
    assert (parent.status, parent.filled_quantity) == ("CANCELED", D(200))
    assert set(children(parent)) == {A}
    assert parent.events.filter(type="ROUTE_FAILED").exists()


def test_cancelling_a_parent_cancels_its_children_on_two_venues(venues, trader, account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    kids = children(parent)
    assert set(kids) == {A, B}
    pump(venues)
    venues[A].deliver([venues[A].book.fill(cl_ord_id(kids[A]), D(100), D("100.00"))])
    assert refreshed(parent).status == "PARTIALLY_FILLED"
    parent = services.order_cancel(order_id=parent.pk, actor="trader")
    assert parent.status == "PENDING_CANCEL"
    assert {refreshed(c).status for c in kids.values()} == {"PENDING_CANCEL"}
    pump(venues)
    assert {refreshed(c).status for c in kids.values()} == {"CANCELED"}
    parent.refresh_from_db()
    assert (parent.status, parent.filled_quantity) == ("CANCELED", D(100))
    assert len(venues[A].book.messages("F")) == len(venues[B].book.messages("F")) == 1
    assert_books_add_up()


def test_cancelling_a_queued_parent_sends_nothing(venues, trader, account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    parent = services.order_cancel(order_id=parent.pk, actor="trader")
    assert parent.status == "CANCELED"
    pump(venues)
    assert not venues[A].book.messages() and not venues[B].book.messages()


def test_modifying_a_parent_replaces_its_live_children(venues, trader, account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    kids = children(parent)
    pump(venues)  # in this process the venues rest what they are sent: nothing trades
    parent = services.order_modify(order_id=parent.pk, actor="trader",
                                   limit_price=D("99.50"), quantity=D(900))
    assert parent.status == "PENDING_REPLACE"
    pump(venues)
    parent.refresh_from_db()
    assert (parent.status, parent.quantity, parent.limit_price) == ("NEW", 900, D("99.50"))
    after = {v: (refreshed(c).quantity, c.limit_price) for v, c in kids.items()}
    # Less comes off the newest child first; the price goes to every child.
    assert after == {A: (D(300), D("99.50")), B: (D(600), D("99.50"))}
    assert len(venues[A].book.messages("G")) == len(venues[B].book.messages("G")) == 1


def test_a_venue_where_the_account_rests_on_the_other_side_is_not_routed_to(venues, trader,
                                                                           account):
    book(A, asks=[("100.00", "300")], bids=[("99.90", "100")])
    book(B, asks=[("100.01", "800")])
    services.order_create(user=trader, account_code=account, client_order_id="MY-SELL",
                          venue_code=A, terms=order_terms(side="SELL", quantity=D(50),
                                                          limit_price=D("100.00")))
    parent = routed(trader, account, quantity=D(200), limit_price=D("100.01"))
    assert set(children(parent)) == {B}
    (decision,) = [e.data for e in parent.events.filter(type="ROUTED")]
    assert "self-trade" in str(decision)


def test_pro_rata_splits_by_displayed_size(venues, trader, account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "900")])
    parent = routed(trader, account, routing="PRO_RATA", quantity=D(1000),
                    limit_price=D("100.01"))
    assert {v: c.quantity for v, c in children(parent).items()} == {A: 250, B: 750}


def test_a_parent_counts_once_against_the_accounts_position_limit(venues, trader, account,
                                                                  settings):
    settings.OMS_RISK_MAX_POSITION = D(2000)
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    with pytest.raises(Exception) as refused:
        routed(trader, account, quantity=D(1), limit_price=D("100.01"))
    assert getattr(refused.value, "code", "") == "risk_max_position"


def test_a_directed_order_is_still_its_own_order(venues, trader, account):
    order, _ = services.order_create(user=trader, account_code=account, client_order_id="D-1",
                                     venue_code=B, terms=order_terms())
    assert (order.routing, order.venue_id, order.parent_id) == ("DIRECTED", B, None)
    assert not Order.objects.filter(parent=order).exists()


def test_with_every_venue_halted_a_routed_order_is_refused_as_a_directed_one_is(
        venues, trader, account):
    from sessions.errors import TradingHalted
    from sessions.services import trading_halt_set

    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    trading_halt_set(halted=True, reason="test", actor="ops")
    with pytest.raises(TradingHalted):
        routed(trader, account, quantity=D(100), limit_price=D("100.01"))


def test_a_venue_kill_switch_cancels_only_that_venues_child(venues, trader, account, trader_api,
                                                            django_capture_on_commit_callbacks):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    kids = children(parent)
    pump(venues)
    with django_capture_on_commit_callbacks(execute=True):
        venue_kill_switch_set(venue_code=A, halted=True, actor="ops", reason="test",
                              cancel_open_orders=True)
    pump(venues)
    assert (refreshed(kids[A]).status, refreshed(kids[B]).status) == ("CANCELED", "NEW")
    assert refreshed(parent).status == "NEW"  # B still works the order
    # ... and only B's part of it: the parent's leavesQty is its open children's.
    assert parent.leaves_quantity == 700
    detail = trader_api.get(f"/api/v1/orders/{parent.pk}").json()
    listed = trader_api.get("/api/v1/orders?isChild=false").json()["results"]
    assert detail["leavesQty"] == listed[0]["leavesQty"] == "700"
    services.order_cancel(order_id=parent.pk, actor="trader")
    pump(venues)
    assert refreshed(parent).status == "CANCELED"


def test_a_routed_order_reserves_buying_power_once(venues, trader, account):
    from risk.errors import RiskRefused
    from risk.services import risk_limits_update

    risk_limits_update(account=account, actor="desk", buying_power=D("200020"))
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    routed(trader, account, quantity=D(1000), limit_price=D("100.01"))  # 100,010: half
    # Its children are the parent's quantity, not more of it: the other half is left.
    routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    with pytest.raises(RiskRefused) as refused:
        routed(trader, account, quantity=D("0.01"), limit_price=D("100.01"))
    assert refused.value.code == "risk_buying_power"


def test_the_child_is_checked_against_its_own_venues_market(venues, trader, account):
    from risk.errors import RiskRefused
    from risk.services import risk_limits_update

    risk_limits_update(account=account, actor="desk", price_band_percent=D("1"))
    # The consolidated market (bid 100.00 on B, offer 98.00 on A) has its mid at 99: 98.5 is
    # within 1% of it. A's own mid is 97.5: a child there at 98.5 is outside A's band, so
    # the order is refused whole, nothing written.
    book(A, asks=[("98.00", "300")], bids=[("97.00", "300")])
    book(B, asks=[("100.01", "800")], bids=[("100.00", "800")])
    with pytest.raises(RiskRefused) as refused:
        routed(trader, account, quantity=D(100), limit_price=D("98.5"))
    assert refused.value.code == "risk_price_band"
    assert not Order.objects.filter(account_id=account).exists()


@pytest.mark.django_db(transaction=True)
def test_two_routed_orders_racing_for_the_last_buying_power_one_passes(venues, trader,
                                                                       account):
    from risk.errors import RiskRefused
    from risk.services import risk_limits_update
    from tests.dispatch.conftest import at_once

    risk_limits_update(account=account, actor="desk", buying_power=D("150000"))
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    outcomes = []

    def order(n):
        def place():
            try:
                services.order_create(user=trader, account_code=account,
                                      client_order_id=f"race-{n}", routing="BEST_PRICE",
                                      terms=order_terms(quantity=D(1000),
                                                        limit_price=D("100.01")))
                outcomes.append("admitted")
            except RiskRefused as exc:
                outcomes.append(exc.code)
        return place

    at_once(order(1), order(2))
    assert sorted(outcomes) == ["admitted", "risk_buying_power"], outcomes
    assert Order.objects.filter(parent__isnull=True, account_id=account).count() == 1


def test_a_claim_rolls_up_its_childrens_parents_in_a_fixed_number_of_queries(venues, trader,
                                                                              account):
    """A claim holds the venue's queue while it runs, so its cost per child caps the venue's
    send rate: claiming the children of 20 parents asks the database no more than claiming
    those of 2 (it asked ~4 queries more a parent, and a routed burst drained at half the
    rate of the same burst of directed orders)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dispatch.drain import dispatch_drain

    Venue.objects.filter(code=A).update(throttle_per_second=1000)  # 50 in one claim
    book(A, asks=[("100.00", "5000")])
    book(B, asks=[("100.00", "5000")])

    def claim(count: int) -> int:
        parents = [routed(trader, account, routing="PRO_RATA", quantity=D(100),
                          limit_price=D("100.05")) for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            assert dispatch_drain(venue_code=A, budget_seconds=1).claimed == count
        for parent in parents:
            parent.refresh_from_db()
            assert parent.status == "PENDING_NEW"
            [sent] = parent.events.filter(type="SENT")
            assert (sent.from_status, sent.to_status, sent.data["child"]["venue"]) == (
                "QUEUED", "PENDING_NEW", A)
        venues[A].pump()
        return len(queries)

    assert claim(20) == claim(2)


def test_an_ioc_of_ours_on_the_other_side_does_not_keep_a_child_away(venues, trader, account):
    """Two IOC orders cannot meet (neither rests): self-trade prevention looks at what may
    rest in a book, so a SELL IOC of ours in flight at A leaves A open to a BUY."""
    book(A, asks=[("100.00", "300")], bids=[("99.99", "300")])
    book(B, asks=[("100.01", "800")], bids=[("99.98", "800")])
    services.order_create(user=trader, account_code=account, client_order_id="MY-SELL-IOC",
                          venue_code=A, terms=order_terms(side="SELL", quantity=D(50),
                                                          limit_price=D("99.99"),
                                                          time_in_force="IOC"))
    parent = routed(trader, account, quantity=D(200), limit_price=D("100.01"))
    assert set(children(parent)) == {A}


def test_a_parent_whose_children_expire_partly_filled_expires(venues, trader, account):
    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    parent = routed(trader, account, quantity=D(1000), limit_price=D("100.01"))
    kids = children(parent)
    pump(venues)
    venues[A].deliver([venues[A].book.fill(cl_ord_id(kids[A]), D(100), D("100.00"))])
    for code, venue in venues.items():
        venue.deliver(venue.book.expire_day_orders())
    parent.refresh_from_db()
    assert {refreshed(c).status for c in kids.values()} == {"EXPIRED"}
    assert (parent.status, parent.filled_quantity) == ("EXPIRED", D(100))


def test_a_symbol_no_venue_quotes_is_refused_and_its_market_data_asked_for(venues, trader,
                                                                           account):
    from marketdata.quotes import WANTED_KEY

    with pytest.raises(Exception) as refused:
        routed(trader, account, symbol="NFLX", quantity=D(100), limit_price=D("500"))
    assert getattr(refused.value, "code", "") == "routing_no_venue"
    assert quote_store()._client.sismember(WANTED_KEY, "NFLX")  # the holders subscribe


def test_the_accounts_default_routing_then_the_settings_and_a_venue_only_when_directed(
        venues, trader, trader_api, account, settings):
    from orders.models import Account

    book(A, asks=[("100.00", "300")])
    book(B, asks=[("100.01", "800")])
    body = {"accountId": account, "symbol": "AAPL", "side": "BUY", "orderType": "LIMIT",
            "quantity": "100", "limitPrice": "100.01", "timeInForce": "DAY"}

    def post(client_order_id, **more):
        return trader_api.post("/api/v1/orders", {**body, "clientOrderId": client_order_id,
                                                  **more}, format="json")

    assert post("DEF-1").json()["routing"] == "DIRECTED"  # OMS_DEFAULT_ROUTING
    settings.OMS_DEFAULT_ROUTING = "PRO_RATA"
    assert post("DEF-2").json()["routing"] == "PRO_RATA"
    Account.objects.filter(code=account).update(default_routing="BEST_PRICE")
    parent = post("DEF-3").json()
    assert parent["routing"] == "BEST_PRICE"
    assert post("DEF-4", venue=B).json()["routing"] == "DIRECTED"  # a venue named: directed
    refused = post("DEF-5", venue=B, routing="BEST_PRICE")
    assert refused.status_code == 400 and "venue" in refused.json()["details"]
    children_of = trader_api.get(f"/api/v1/orders?parentOrderId={parent['orderId']}").json()
    assert {c["parentOrderId"] for c in children_of["results"]} == {parent["orderId"]}
    assert trader_api.get("/api/v1/orders?isChild=true").json()["results"]
