"""The plan's audit explains the decision by itself, as JSON: the request, every venue as
it was seen (top of book, age, fees, latency, why it was out), what was taken, and why."""

import json

from routing import plan_route
from tests.routing.views import buy, d, sliced, view


def test_the_audit_of_a_sweep_is_json_with_every_venue_and_the_levels_used():
    venues = [view("XA", asks=[("100.00", 300), ("100.01", 50), ("100.50", 9)],
                   bids=[("99.99", 10)], taker="0.003", maker="-0.002", latency=1.25),
              view("XB", asks=[("100.01", 600)], taker="0.001", latency=30.0, age=1.5),
              view("XC", skip="closed", asks=[("99.00", 5)])]

    plan = plan_route(buy(1000, "100.01", tif="DAY",
                          own_resting=(("XC", "SELL", None),)), venues)
    audit = json.loads(json.dumps(plan.audit))  # JSON as it is

    assert audit["policy"] == "BEST_PRICE"
    assert audit["at"].endswith("Z")
    assert audit["request"] == {
        "account": "ACC-1", "symbol": "AAPL", "side": "BUY", "orderType": "LIMIT",
        "quantity": "1000", "limitPrice": "100.01", "timeInForce": "DAY", "exclude": [],
        "sweepOnly": False, "ownResting": [["XC", "SELL", None]]}
    assert audit["venues"][0] == {
        "venue": "XA", "skip": "", "bid": "99.99", "bidSize": "10", "ask": "100",
        "askSize": "300", "ageSeconds": 0.5, "stale": False, "makerFee": "-0.002",
        "takerFee": "0.003", "latencyMs": 1.25, "effectiveTop": "100.003"}
    assert audit["venues"][1]["effectiveTop"] == "100.011"
    assert audit["venues"][1]["ageSeconds"] == 1.5
    assert audit["venues"][2]["skip"] == "closed"
    # Only the levels taken, in the order taken; XA's 100.50 is beyond the limit.
    assert audit["levels"] == [
        {"venue": "XA", "price": "100", "effective": "100.003", "quantity": "300"},
        {"venue": "XB", "price": "100.01", "effective": "100.011", "quantity": "600"},
        {"venue": "XA", "price": "100.01", "effective": "100.013", "quantity": "50"},
    ]
    # The 50 left rests at XA, the venue with the lowest maker fee.
    assert "remainder 50" in audit["why"] and "XA" in audit["why"]
    assert audit["slices"] == [{"venue": "XA", "quantity": "400"},
                               {"venue": "XB", "quantity": "600"}]
    assert sliced(plan) == [("XA", d(400)), ("XB", d(600))]
    assert audit["unrouted"] == "0"


def test_the_audit_of_a_pro_rata_split_has_the_displayed_sizes_and_weights():
    venues = [view("XA", asks=[("100.00", 100)]), view("XB", asks=[("100.00", 300)])]

    audit = plan_route(buy(100, "100.00", policy="PRO_RATA"), venues).audit

    assert audit["policy"] == "PRO_RATA"
    assert audit["displayed"] == {"XA": "100", "XB": "300"}
    assert audit["weights"] == {"XA": "0.25", "XB": "0.75"}
    assert audit["slices"] == [{"venue": "XA", "quantity": "25"},
                               {"venue": "XB", "quantity": "75"}]
    assert "levels" not in audit
    json.dumps(audit)


def test_a_venue_without_a_quote_is_audited_with_nothing_to_show():
    venues = [view("XA", quote_=None), view("XB", asks=[("100.00", 10)])]

    [entry, _] = plan_route(buy(10, "100.00"), venues).audit["venues"]

    assert entry == {"venue": "XA", "skip": "no quote", "bid": None, "bidSize": None,
                     "ask": None, "askSize": None, "ageSeconds": None, "stale": None,
                     "makerFee": "0", "takerFee": "0", "latencyMs": 5.0,
                     "effectiveTop": None}
