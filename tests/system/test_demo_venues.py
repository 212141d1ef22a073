"""Issue 12, section 1: `./oms run` and the test stack start three demo venues on the mock
exchange that differ in fees, latency, depth and send limit, each with its own session, FIX
connection, queue and limiter. Started here as `./oms run` starts them (the demo_system
fixture, from omsproject/demo_venues.py): one FIX holder logs all three on, an order to each
is acknowledged at its own venue, and each venue shows its own limit and fees."""

from decimal import Decimal

import pytest

from omsproject.demo_venues import DEMO_VENUES
from orders import services
from orders.models import Order
from sessions.models import VenueSession
from tests.factories import order_terms
from tests.system.processes import wait_for
from venues.models import FixSession, Venue

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def test_three_demo_venues_each_log_on_take_an_order_and_keep_their_own_terms(
    demo_system, trader
):
    system = demo_system
    codes = sorted(DEMO_VENUES)
    system.oms.holder()  # one holder, every venue
    system.oms.wait_ready([system.oms.dispatcher()])
    wait_for(lambda: VenueSession.objects.filter(pk__in=codes, state="LOGGED_ON").count() == 3,
             timeout=30, what="the three logons")
    owners = set(FixSession.objects.filter(venue__in=codes).values_list("owner", flat=True))
    assert len(owners) == 1 and "" not in owners, owners  # the one holder holds all three

    # AAPL's demo markets start at 190.00: a BUY at 185 rests (NEW) at each venue.
    orders = {
        code: services.order_create(
            user=trader, account_code="ACC-1", client_order_id=f"demo-{code}",
            venue_code=code, terms=order_terms(limit_price=Decimal("185"),
                                               time_in_force="GTC"))[0]
        for code in codes
    }
    wait_for(lambda: all(Order.objects.get(pk=o.pk).status == "NEW" for o in orders.values()),
             timeout=20, what="each order acknowledged")

    for code in codes:
        own = DEMO_VENUES[code]
        [entry] = system.exchange.book(code).values()  # its own order, and only that
        assert (entry["status"], entry["quantity"], entry["limitPrice"]) == (
            "NEW", "10", "185"), entry
        assert Order.objects.get(pk=orders[code].pk).venue_id == code
        stats = system.exchange.stats(code)
        [session] = stats["sessions"]
        assert session["loggedOn"] and session["clientCompId"] == "OMS"
        assert stats["rateLimit"] == int(own["rateLimit"]) == Venue.objects.get(
            pk=code).throttle_per_second
        config = system.exchange.http("GET", f"/venues/{code}/config")
        assert (config["makerFeePerShare"], config["takerFeePerShare"], config["latencyMs"],
                str(config["depth"]), str(config["levels"])) == (
            own["makerFeePerShare"], own["takerFeePerShare"], own["latencyMs"],
            own["depth"], own["levels"])
    # They differ where a router looks.
    for field in ("rateLimit", "latencyMs", "makerFeePerShare", "takerFeePerShare", "depth"):
        assert len({DEMO_VENUES[c][field] for c in codes}) == 3, field
