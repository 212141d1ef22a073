"""Smart order routing end to end: routed orders through the REST API, split by the router
over the venues' market data (35=W from the mock exchange, cached by the FIX holder), their
children sent over FIX to the demo venues of the mock exchange (market on), filled,
replaced, cancelled and routed again there; after each scenario every venue's trade log is
our executions row for row and the books are each venue's (tests/system/routed.py).
A is XMOCK, B is XFAST, C is XSLOW. Bursts: test_routing_load.py.
"""

from decimal import Decimal

import pytest

from tests.system.books import print_numbers
from tests.system.processes import wait_for
from tests.system.routed import BIDS, FAR, A, B, C, by_venue, summary, trades_at

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal


# --- 1. the sweep ---------------------------------------------------------------------


def test_a_sweep_over_two_venues_fills_300_then_700_and_rolls_up_at_100_007(routed):
    """A offers 300 at 100.00, B 800 at 100.01, equal taker fees: BUY 1,000 LIMIT 100.01
    routed BEST_PRICE takes A's 300 and 700 of B's, each child FILLED at its venue, the
    parent FILLED at avgPx 100.007."""
    symbol = "GOOGL"
    routed.taker_fee(A, "0.0030")
    routed.taker_fee(B, "0.0030")
    asks = {A: [("100.00", "300"), ("100.20", "500")],
            B: [("100.01", "800"), ("100.20", "500")],
            C: [FAR]}
    for venue, levels in asks.items():
        routed.pin_book(venue, symbol, asks=levels, bids=BIDS, last="100.00")
    routed.wait_for_quotes(symbol, asks)

    placed = routed.post(symbol=symbol, quantity="1000", limit="100.01", tif="IOC")
    assert placed["venue"] is None and placed["routing"] == "BEST_PRICE"
    parent = routed.wait_until_done(placed["orderId"])

    children = by_venue(parent)
    assert set(children) == {A, B}, summary(parent)
    assert (D(children[A]["quantity"]), children[A]["status"], D(children[A]["cumQty"]),
            D(children[A]["avgPx"])) == (300, "FILLED", 300, D("100.00"))
    assert (D(children[B]["quantity"]), children[B]["status"], D(children[B]["cumQty"]),
            D(children[B]["avgPx"])) == (700, "FILLED", 700, D("100.01"))
    assert (parent["status"], D(parent["cumQty"]), D(parent["avgPx"])) == (
        "FILLED", 1000, D("100.007")), summary(parent)
    assert all(c["parentOrderId"] == placed["orderId"] for c in parent["children"])
    [routing] = parent["routeAudit"]  # one decision, no re-route, nothing failed
    assert routing["type"] == "ROUTED"
    assert routing["slices"] == [{"venue": A, "quantity": "300"}, {"venue": B, "quantity": "700"}]
    assert [(lv["venue"], lv["price"], lv["quantity"]) for lv in routing["levels"]] == [
        (A, "100", "300"), (B, "100.01", "700")]
    # The venues' trade logs: one trade at each, at the pinned prices.
    assert trades_at(routed.exchange, A) == [(300, D("100.00"))]
    assert trades_at(routed.exchange, B) == [(700, D("100.01"))]
    assert trades_at(routed.exchange, C) == []
    # What is left of the pinned books: A's 100.00 taken, 100 of B's 100.01 left.
    left = routed.exchange.http("GET", f"/venues/{B}/marketdata/{symbol}")["asks"]
    assert (D(left[0]["price"]), D(left[0]["size"])) == (D("100.01"), 100)
    numbers = routed.check_books()
    print_numbers("sweep", why=routing["why"], **numbers)


# --- 2. fees before raw prices ----------------------------------------------------------------


def test_a_cheaper_quote_that_is_dearer_to_take_is_taken_second(routed):
    """A offers at 100.00 but charges 0.02 a share to take (100.02 a share in all), B at
    100.01 for 0.003 (100.013): BUY 500 LIMIT 100.01 takes B's 300 first, then 200 of A's.
    (By raw price it would have been A's 300, then B's 200.)"""
    symbol = "AMZN"
    routed.taker_fee(A, "0.02")
    routed.taker_fee(B, "0.003")
    asks = {A: [("100.00", "300"), ("100.20", "500")],
            B: [("100.01", "300"), ("100.20", "500")],
            C: [FAR]}
    for venue, levels in asks.items():
        routed.pin_book(venue, symbol, asks=levels, bids=BIDS, last="100.00")
    routed.wait_for_quotes(symbol, asks)

    placed = routed.post(symbol=symbol, quantity="500", limit="100.01", tif="IOC")
    parent = routed.wait_until_done(placed["orderId"])

    [routing] = parent["routeAudit"]
    assert [(lv["venue"], lv["price"], lv["effective"], lv["quantity"])
            for lv in routing["levels"]] == [(B, "100.01", "100.013", "300"),
                                             (A, "100", "100.02", "200")], routing
    children = by_venue(parent)
    assert {v: (D(c["quantity"]), c["status"], D(c["cumQty"])) for v, c in children.items()} \
        == {B: (300, "FILLED", 300), A: (200, "FILLED", 200)}, summary(parent)
    assert (parent["status"], D(parent["cumQty"]), D(parent["avgPx"])) == (
        "FILLED", 500, D("100.006")), summary(parent)
    # Each venue charged the fee the OMS routed on.
    assert [D(t["commission"]) for t in routed.exchange.trades(A)] == [D("4.00")]  # 200 x 0.02
    assert [D(t["commission"]) for t in routed.exchange.trades(B)] == [D("0.9")]  # 300 x 0.003
    assert {D(f["fee"]) for f in parent["fills"]} == {D("4"), D("0.9")}
    routed.check_books()


# --- 3. an IOC remainder routed again ---------------------------------------------------------


def test_an_ioc_child_that_fills_less_than_displayed_leaves_its_remainder_to_the_next_venue(
    routed, monkeypatch
):
    """The OMS routes BUY 300 LIMIT 100.01 IOC to A, which shows 300 at 100.00; before the
    child reaches A, A's book shrinks to 100 (the child is held in the queue: its nudge is
    lost, as a nudge may be). A fills 100 and cancels 200; the 200 go to B (300 at 100.01),
    the next venue within the limit, and fill there."""
    from dispatch import queue as dispatch_queue
    from dispatch.nudge import dispatch_nudge

    symbol = "NVDA"
    routed.taker_fee(A, "0.0030")
    routed.taker_fee(B, "0.0030")
    asks = {A: [("100.00", "300"), ("100.20", "500")],
            B: [("100.01", "300"), ("100.20", "500")],
            C: [FAR]}
    for venue, levels in asks.items():
        routed.pin_book(venue, symbol, asks=levels, bids=BIDS, last="100.00")
    routed.wait_for_quotes(symbol, asks)

    with monkeypatch.context() as patch:
        patch.setattr(dispatch_queue, "dispatch_nudge", lambda **kwargs: None)
        placed = routed.post(symbol=symbol, quantity="300", limit="100.01", tif="IOC")
    parent = routed.order(placed["orderId"])
    assert [(c["venue"], D(c["quantity"]), c["status"]) for c in parent["children"]] == [
        (A, 300, "QUEUED")], summary(parent)

    # A's book changes between the quote the router used and the child's arrival.
    asks[A] = [("100.00", "100"), ("100.20", "500")]
    routed.pin_book(A, symbol, asks=asks[A], bids=BIDS, last="100.00")
    routed.pin_book(B, symbol, asks=asks[B], bids=BIDS, last="100.00")  # fresh, for the re-route
    routed.wait_for_quotes(symbol, {A: asks[A], B: asks[B]})
    dispatch_nudge(venue_code=A, coalesce=False)
    parent = routed.wait_until_done(placed["orderId"])

    children = by_venue(parent)
    assert {v: (D(c["quantity"]), c["status"], D(c["cumQty"])) for v, c in children.items()} \
        == {A: (300, "CANCELED", 100), B: (200, "FILLED", 200)}, summary(parent)
    assert (parent["status"], D(parent["cumQty"]), D(parent["avgPx"])) == (
        "FILLED", 300, D("100.00666667")), summary(parent)
    first, again = parent["routeAudit"]
    assert [s["venue"] for s in first["slices"]] == [A]
    assert again["type"] == "ROUTED" and again["request"]["exclude"] == [A]
    assert again["request"]["sweepOnly"] is True and again["request"]["quantity"] == "200"
    assert again["slices"] == [{"venue": B, "quantity": "200"}]
    assert trades_at(routed.exchange, A) == [(100, D("100.00"))]
    assert trades_at(routed.exchange, B) == [(200, D("100.01"))]
    [a_order] = routed.exchange.book(A).values()
    assert (a_order["status"], D(a_order["cumQty"]), a_order["timeInForce"]) == (
        "CANCELED", 100, "IOC")
    routed.check_books()


# --- 4. halted and stale venues are skipped ---------------------------------------------------


def test_a_venue_under_its_kill_switch_and_one_with_a_stale_quote_get_nothing(
    routed, settings
):
    """A shows the best offer but its kill switch is on; B the next, but its feed has said
    nothing for longer than OMS_MARKET_DATA_STALE_SECONDS (a pinned book sends no update);
    C, the dearest, gets the whole order."""
    settings.OMS_MARKET_DATA_STALE_SECONDS = 2  # routing runs here, at intake: a shorter wait
    symbol = "TSLA"
    asks = {A: [("100.00", "1000")], B: [("100.01", "1000")], C: [("100.02", "1000")]}
    for venue, levels in asks.items():
        routed.pin_book(venue, symbol, asks=levels, bids=BIDS, last="100.00")
    routed.wait_for_quotes(symbol, asks)
    answer = routed.api.patch(f"/api/v1/sessions/{A}", {
        "killSwitch": True, "killSwitchReason": "routing test"}, format="json")
    assert answer.status_code == 200 and answer.json()["killSwitch"], answer.json()

    wait_for(lambda: routed.market_data(symbol)[B]["stale"], timeout=10,
             what="B's quote to go stale")
    routed.pin_book(A, symbol, asks=asks[A], bids=BIDS, last="100.00")  # fresh: only halted
    routed.pin_book(C, symbol, asks=asks[C], bids=BIDS, last="100.00")
    routed.wait_for_quotes(symbol, {A: asks[A], C: asks[C]})
    assert routed.market_data(symbol)[B]["stale"]

    placed = routed.post(symbol=symbol, quantity="500", limit="100.05", tif="IOC")
    parent = routed.wait_until_done(placed["orderId"])

    [routing] = parent["routeAudit"]
    skips = {venue["venue"]: venue["skip"] for venue in routing["venues"]}
    assert skips[A] == "kill switch" and skips[B].startswith("stale quote"), skips
    assert skips[C] == "", skips
    assert [(c["venue"], D(c["quantity"]), c["status"], D(c["cumQty"]))
            for c in parent["children"]] == [(C, 500, "FILLED", 500)], summary(parent)
    assert (parent["status"], D(parent["avgPx"])) == ("FILLED", D("100.02"))
    for venue in (A, B):  # nothing reached them but the market data request
        assert {m["msgType"] for m in routed.exchange.messages(venue)} <= {"V"}
    routed.check_books()


# --- 5. a parent cancelled with children live at two venues -----------------------------------


def resting_at_a_and_b(routed, symbol: str, *, tif: str) -> dict:
    """A 1,000 buy at 100.01 swept over A (300 at 100.00) and B (700 of 800 at 100.01), both
    markets paused so its children rest there; C far away. The POST's answer."""
    asks = {A: [("100.00", "300"), ("100.20", "500")],
            B: [("100.01", "800"), ("100.20", "500")],
            C: [FAR]}
    for venue, levels in asks.items():
        routed.pin_book(venue, symbol, asks=levels, bids=BIDS, last="100.00")
    routed.pause(A)
    routed.pause(B)
    routed.wait_for_quotes(symbol, asks)
    return routed.post(symbol=symbol, quantity="1000", limit="100.01", tif=tif)


def test_cancelling_a_parent_cancels_its_children_resting_at_two_venues(routed):
    """A's and B's markets paused: a DAY parent's children rest at both venues (NEW). Its
    cancel fans out: each child is cancelled at its venue, nothing is left in either book,
    the parent is CANCELED."""
    placed = resting_at_a_and_b(routed, "SPY", tif="DAY")
    parent = routed.wait_for_order(
        placed["orderId"], lambda o: o["status"] == "NEW" and len(o["children"]) == 2
        and all(c["status"] == "NEW" for c in o["children"]), "both children acknowledged")
    assert {v: D(c["quantity"]) for v, c in by_venue(parent).items()} == {A: 300, B: 700}
    for venue, quantity in ((A, "300"), (B, "700")):
        [entry] = routed.exchange.book(venue).values()
        assert (entry["status"], entry["leavesQty"], entry["timeInForce"]) == (
            "NEW", quantity, "DAY"), entry

    answer = routed.api.delete(f"/api/v1/orders/{placed['orderId']}")
    assert answer.status_code == 202, answer.json()
    assert answer.json()["status"] == "PENDING_CANCEL"
    parent = routed.wait_until_done(placed["orderId"])

    assert (parent["status"], D(parent["cumQty"])) == ("CANCELED", 0), summary(parent)
    assert {c["venue"]: c["status"] for c in parent["children"]} == {
        A: "CANCELED", B: "CANCELED"}
    for venue in (A, B):
        [entry] = routed.exchange.book(venue).values()
        assert (entry["status"], D(entry["leavesQty"]), D(entry["cumQty"])) == (
            "CANCELED", 0, 0), entry
        cancels = [m for m in routed.exchange.messages(venue) if m["msgType"] == "F"]
        assert len(cancels) == 1, cancels
    assert routed.exchange.book(C) == {}
    routed.check_books()


# --- 5b. a parent modified, partly filled, then cancelled --------------------------------------


def test_modifying_a_parent_replaces_its_children_at_their_venues(routed):
    """Children resting at A (300) and B (700): the parent cut to 800 and repriced to 100.00
    takes 200 off the newest child (B) and reprices both, each replaced at its venue (35=G);
    A then fills 100 of its child, and the parent's cancel leaves it CANCELED with those 100
    at 100.00."""
    placed = resting_at_a_and_b(routed, "AMZN", tif="GTC")
    routed.wait_for_order(placed["orderId"], lambda o: o["status"] == "NEW" and all(
        c["status"] == "NEW" for c in o["children"]), "both children acknowledged")

    answer = routed.api.patch(f"/api/v1/orders/{placed['orderId']}",
                              {"quantity": "800", "limitPrice": "100.00"}, format="json")
    assert answer.status_code == 202, answer.json()
    assert answer.json()["status"] == "PENDING_REPLACE"
    parent = routed.wait_for_order(placed["orderId"], lambda o: o["status"] == "NEW" and all(
        c["status"] == "NEW" for c in o["children"]), "both children replaced")
    assert (D(parent["quantity"]), D(parent["limitPrice"])) == (800, D("100.00"))
    assert {v: (D(c["quantity"]), D(c["limitPrice"])) for v, c in by_venue(parent).items()} \
        == {A: (300, D("100.00")), B: (500, D("100.00"))}, summary(parent)
    for venue, quantity in ((A, 300), (B, 500)):
        [entry] = routed.exchange.book(venue).values()
        assert (D(entry["quantity"]), D(entry["limitPrice"]), len(entry["clOrdIds"])) == (
            quantity, D("100.00"), 2), entry
        assert [m["msgType"] for m in routed.exchange.messages(venue)
                if m["msgType"] in "DGF"] == ["D", "G"]
    routed.check_books()

    [a_child] = routed.exchange.book(A).values()
    routed.exchange.http("POST", f"/venues/{A}/orders/{a_child['clOrdId']}/fill",
                         {"qty": "100", "price": "100.00"})
    routed.wait_for_order(placed["orderId"], lambda o: o["status"] == "PARTIALLY_FILLED",
                          "the parent partly filled")
    answer = routed.api.delete(f"/api/v1/orders/{placed['orderId']}")
    assert answer.status_code == 202, answer.json()
    parent = routed.wait_until_done(placed["orderId"])
    assert (parent["status"], D(parent["cumQty"]), D(parent["avgPx"])) == (
        "CANCELED", 100, D("100.00")), summary(parent)
    assert {v: (c["status"], D(c["cumQty"])) for v, c in by_venue(parent).items()} == {
        A: ("CANCELED", 100), B: ("CANCELED", 0)}
    routed.check_books()
