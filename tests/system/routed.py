"""Routed orders on the running system, for tests/system/test_routing.py and
test_routing_load.py: the three demo venues of the mock exchange with its market on, one
FIX holder and a dispatcher, every venue logged on, an operator's REST API in this process
(the API as gunicorn serves it, against the test database and the system's Redis), and
what the scenarios ask of each side.

Scenarios pin the books they route on with the exchange's HTTP API (`PUT
/venues/{v}/marketdata/{symbol}`: set exactly, no random walk, what orders take stays
taken) and wait until the OMS shows them (`GET /api/v1/marketdata/{symbol}`) before an
order goes in. A is XMOCK, B is XFAST, C is XSLOW.
"""

import uuid
from decimal import Decimal

from dispatch.models import RequestKind, VenueRequest
from executions.checks import books_problems
from executions.models import Fill, FillKind
from marketdata.selectors import quote_store
from orders.models import TERMINAL_STATUSES
from sessions.models import VenueSession
from tests.system.books import check_books, queue_is_drained
from tests.system.conftest import Beat
from tests.system.processes import wait_for

D = Decimal
A, B, C = "XMOCK", "XFAST", "XSLOW"
VENUES = (A, B, C)
ACCOUNT = "ACC-R"
# Books out of the way of the scenarios' limits (100.01, 100.05): bids below them, and a
# venue that should get nothing shows nothing below 100.50 (FAR).
BIDS = [("99.99", "500")]
FAR = ("100.50", "100")


class Routed:
    """The demo system with one FIX holder and a dispatcher, every venue logged on, and the
    REST API of an operator."""

    def __init__(self, system, api):
        self.system = system
        self.exchange = system.exchange
        self.api = api
        self.beat = Beat()

    # The exchange: its books, fees and market.
    def pin_book(self, venue: str, symbol: str, *, asks=(), bids=(), last=None) -> dict:
        body = {"asks": [{"price": p, "size": s} for p, s in asks],
                "bids": [{"price": p, "size": s} for p, s in bids]}
        if last is not None:
            body["last"] = last
        return self.exchange.http("PUT", f"/venues/{venue}/marketdata/{symbol}", body)

    def pause(self, venue: str) -> None:
        self.exchange.http("POST", f"/venues/{venue}/market/pause", {})

    def taker_fee(self, venue: str, fee: str) -> None:
        """The venue charges `fee` a share for taking, and the OMS routes on it."""
        self.exchange.configure(venue, takerFeePerShare=fee)
        answer = self.api.patch(f"/api/v1/venues/{venue}", {"takerFeePerShare": fee},
                                format="json")
        assert answer.status_code == 200, answer.json()
        assert D(answer.json()["takerFeePerShare"]) == D(fee)

    # The OMS, over its API.
    def market_data(self, symbol: str) -> dict[str, dict]:
        answer = self.api.get(f"/api/v1/marketdata/{symbol}")
        if answer.status_code == 404:
            return {}
        assert answer.status_code == 200, answer.json()
        return {quote["venue"]: quote for quote in answer.json()["venues"]}

    def wait_for_quotes(self, symbol: str, asks: dict[str, list]) -> dict[str, dict]:
        """Until the OMS's market data shows each venue's asks as pinned, fresh."""
        def shown() -> bool:
            quotes = self.market_data(symbol)
            return all(
                venue in quotes and not quotes[venue]["stale"]
                and _levels(quotes[venue]["asks"]) == [(D(p), D(s)) for p, s in levels]
                for venue, levels in asks.items())

        wait_for(shown, timeout=10, every=0.02,
                 what=lambda: f"the OMS to show the pinned books: {self.market_data(symbol)}")
        return self.market_data(symbol)

    def post(self, *, symbol: str, side: str = "BUY", quantity: str, limit: str | None,
             tif: str, routing: str = "BEST_PRICE", order_type: str = "LIMIT",
             expect: int = 201) -> dict:
        body = {"clientOrderId": f"r-{uuid.uuid4().hex[:12]}", "accountId": ACCOUNT,
                "symbol": symbol, "side": side, "orderType": order_type,
                "quantity": quantity, "timeInForce": tif, "routing": routing}
        if limit is not None:
            body["limitPrice"] = limit
        answer = self.api.post("/api/v1/orders", body, format="json")
        assert answer.status_code == expect, answer.json()
        return answer.json()

    def order(self, order_id: str) -> dict:
        answer = self.api.get(f"/api/v1/orders/{order_id}")
        assert answer.status_code == 200, answer.json()
        return answer.json()

    def wait_for_order(self, order_id: str, predicate, what: str, timeout: float = 20) -> dict:
        wait_for(lambda: predicate(self.order(order_id)), timeout=timeout, every=0.05,
                 tick=self.beat, what=lambda: f"{what}: {summary(self.order(order_id))}")
        return self.order(order_id)

    def wait_until_done(self, order_id: str, timeout: float = 20) -> dict:
        """Until the parent and every child are done and every queue is drained."""
        def done(order: dict) -> bool:
            return (order["status"] in TERMINAL_STATUSES
                    and all(c["status"] in TERMINAL_STATUSES for c in order["children"])
                    and all(queue_is_drained(v) for v in VENUES))

        return self.wait_for_order(order_id, done, "the order and its children to be done",
                                   timeout)

    # After every scenario.
    def check_books(self) -> dict:
        """Our books equal each venue's, and each venue's trade log is our executions."""
        numbers = {}
        for venue in VENUES:
            numbers[venue] = check_books(venue_code=venue, book=self.exchange.book(venue))
            problems = trade_log_matches_our_fills(venue, self.exchange.trades(venue))
            assert not problems, "\n".join(problems)
        assert not books_problems()
        return numbers


def _levels(levels: list[dict]) -> list[tuple[Decimal, Decimal]]:
    return [(D(level["price"]), D(level["size"])) for level in levels]


def summary(order: dict) -> dict:
    return {"status": order["status"], "cumQty": order["cumQty"], "avgPx": order["avgPx"],
            "children": [(c["venue"], c["quantity"], c["status"], c["cumQty"])
                         for c in order.get("children", [])]}


def trade_log_matches_our_fills(venue: str, trades: list[dict]) -> list[str]:
    """Row for row: each trade the venue reported is one fill of ours with the same ExecID,
    ClOrdID, side, quantity, price and fee; and no fill of ours is unknown to the venue."""
    ours = {f.exec_id: f for f in Fill.objects.filter(venue_id=venue, kind=FillKind.TRADE)
            .select_related("order")}
    problems = []
    for trade in trades:
        fill = ours.pop(trade["execId"], None)
        if fill is None:
            problems.append(f"{venue}'s trade {trade['execId']} is not in our executions")
            continue
        # The trade names the order by its ClOrdID then: its NEW's or a later replace's.
        cl_ord_ids = {str(r) for r in VenueRequest.objects.filter(
            order=fill.order, kind__in=(RequestKind.NEW, RequestKind.MODIFY))
            .values_list("request_id", flat=True)}
        theirs = (trade["clOrdId"] in cl_ord_ids, trade["side"], D(trade["lastQty"]),
                  D(trade["lastPx"]), D(trade["commission"]), trade["busted"])
        mine = (True, fill.side, fill.last_quantity, fill.last_price, fill.fee,
                fill.state == "BUSTED")
        if theirs != mine:
            problems.append(f"{venue} {trade['execId']}: venue {theirs}, ours {mine}")
    problems += [f"our fill {exec_id} is not in {venue}'s trade log" for exec_id in ours]
    return problems


def trades_at(exchange, venue: str) -> list[tuple[Decimal, Decimal]]:
    return [(D(t["lastQty"]), D(t["lastPx"])) for t in exchange.trades(venue)]


def by_venue(order: dict) -> dict[str, dict]:
    children = {}
    for child in order["children"]:
        assert child["venue"] not in children, ("two children at one venue", order)
        children[child["venue"]] = child
    return children


def start(system, api) -> Routed:
    """The routed fixture's system (tests/system/conftest.py): one holder for every venue,
    a dispatcher, the three logons."""
    quote_store.cache_clear()  # this test's Redis, where the holder writes the quotes
    system.oms.holder()
    system.oms.wait_ready([system.oms.dispatcher()])
    wait_for(lambda: VenueSession.objects.filter(pk__in=VENUES, state="LOGGED_ON").count() == 3,
             timeout=30, what="the three logons")
    return Routed(system, api)
