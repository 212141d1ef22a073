"""The market's HTTP endpoints (exchange/http_market.py), in process with a stand-in for
QuickFIX, as test_http_api.py does for the rest of the API."""

from __future__ import annotations

import asyncio

from .test_http_api import call, deliver, run_async, sent_to, serving

AAPL = "/venues/XMOCK/marketdata/AAPL"
BOOK = {"bids": [{"price": 189.99, "size": 100}, {"price": "189.98", "size": "200"}],
        "asks": [{"price": "190.01", "size": "300"}], "last": "190.00"}  # fmt: skip


def limit_buy(cl_ord_id: str, qty: str, price: str, tif: str = "0") -> dict[int, str]:
    return {11: cl_ord_id, 526: f"c-{cl_ord_id}", 55: "AAPL", 54: "1", 38: qty, 40: "2",
            44: price, 59: tif, 60: "20260302-12:00:00.000"}  # fmt: skip


@run_async
async def test_a_book_is_set_read_and_released() -> None:
    async with serving(market=True) as (client, _, _):
        book = await call(client, "PUT", AAPL, BOOK)
        # 189.99 came as a JSON number and stays exact: no float on the way.
        assert (book["bids"], book["asks"], book["last"], book["pinned"]) == (
            [{"price": "189.99", "size": "100"}, {"price": "189.98", "size": "200"}],
            [{"price": "190.01", "size": "300"}], {"price": "190.00", "size": None}, True)
        await asyncio.sleep(0.3)  # steps go by: a pinned book does not move
        assert (await call(client, "GET", AAPL))["bids"] == book["bids"]
        released = await call(client, "DELETE", AAPL)
        assert released["pinned"] is False and len(released["asks"]) == 5
        for bad in ({"bids": [{"price": "-1", "size": "1"}]}, {"asks": [{"price": "1"}]},
                    {"bids": [{"price": "1", "size": "1"}, {"price": "1", "size": "2"}]},
                    {"depth": 3}, [1]):  # fmt: skip
            answer = await call(client, "PUT", AAPL, bad, status=400)
            assert answer["error"]["code"] in ("invalid_field", "invalid_body"), bad
        missing = await call(client, "GET", "/venues/XMOCK/marketdata/NOPE", status=404)
        assert missing["error"]["code"] == "unknown_symbol"


@run_async
async def test_a_forced_fill_a_bust_and_a_correction_go_out_and_into_the_trade_log() -> None:
    async with serving(market=True) as (client, exchange, fake):
        deliver(exchange, "D", limit_buy("A", "100", "150.00"))  # far below: it rests
        await sent_to(fake, 1)
        filled = await call(client, "POST", "/venues/XMOCK/orders/A/fill",
                            {"qty": "40", "price": 149.5, "liquidity": "TAKER"})  # fmt: skip
        trade = filled["trade"]
        assert (trade["lastQty"], trade["lastPx"], trade["liquidity"], trade["commission"]) == (
            "40", "149.5", "TAKER", "0.12")
        assert (filled["order"]["cumQty"], filled["order"]["status"]) == ("40", "PARTIALLY_FILLED")
        second = (await call(client, "POST", "/venues/XMOCK/orders/A/fill",
                             {"qty": "60", "price": "149.00"}))["trade"]  # fmt: skip
        bust = await call(client, "POST", f"/venues/XMOCK/trades/{trade['execId']}/bust")
        assert (bust["order"]["cumQty"], bust["order"]["status"]) == ("60", "CANCELED")
        corrected = await call(client, "POST", f"/venues/XMOCK/trades/{second['execId']}/correct",
                               {"qty": "50", "price": "149.10"})  # fmt: skip
        assert corrected["order"]["avgPx"] == "149.1"
        reports = await sent_to(fake, 5)
        assert [(r[35], r.get(150), r.get(19)) for r in reports] == [
            ("8", "0", None), ("8", "F", None), ("8", "F", None),
            ("8", "H", trade["execId"]), ("8", "G", second["execId"])]
        assert (reports[3][17], reports[4][17]) == (bust["execId"], corrected["execId"])
        log = (await call(client, "GET", "/venues/XMOCK/trades"))["trades"]
        assert [(t["execId"], t["busted"], t["corrected"]) for t in log] == [
            (trade["execId"], True, False), (second["execId"], False, True)]
        for path, body, status, code in (
            (f"/venues/XMOCK/trades/{trade['execId']}/bust", None, 409, "trade_busted"),
            ("/venues/XMOCK/trades/nope/bust", None, 404, "unknown_trade"),
            (f"/venues/XMOCK/trades/{second['execId']}/correct", {"qty": "101", "price": "1"},
             409, "overfill"),
            ("/venues/XMOCK/orders/A/fill", {"qty": "1", "price": "1"}, 409, "order_closed"),
            ("/venues/XMOCK/orders/nope/fill", {"qty": "1", "price": "1"}, 404, "unknown_order"),
            ("/venues/XMOCK/orders/A/fill", {"qty": "1"}, 400, "invalid_field"),
            ("/venues/XMOCK/orders/A/fill", {"qty": "1", "price": "1", "liquidity": "x"},
             400, "invalid_field"),
            ("/venues/NOPE/trades/x/bust", None, 404, "unknown_venue"),
        ):  # fmt: skip
            answer = await call(client, "POST", path, body, status=status)
            assert answer["error"]["code"] == code, path


@run_async
async def test_a_fill_larger_than_what_is_left_is_refused() -> None:
    async with serving(market=True) as (client, exchange, fake):
        deliver(exchange, "D", limit_buy("A", "10", "150.00"))
        await sent_to(fake, 1)
        answer = await call(client, "POST", "/venues/XMOCK/orders/A/fill",
                            {"qty": "11", "price": "150"}, status=400)  # fmt: skip
        assert answer["error"]["code"] == "invalid_quantity"


@run_async
async def test_a_paused_market_takes_nothing_until_resumed() -> None:
    async with serving(market=True) as (client, exchange, fake):
        await call(client, "PUT", AAPL, BOOK)
        assert await call(client, "POST", "/venues/XMOCK/market/pause") == {
            "venue": "XMOCK", "paused": True}
        deliver(exchange, "D", limit_buy("I", "10", "190.01", tif="3"))
        deliver(exchange, "D", limit_buy("L", "10", "190.01"))
        reports = await sent_to(fake, 3)
        assert [(r[11], r[150], r.get(58)) for r in reports] == [
            ("I", "0", None), ("I", "4", "MARKET_PAUSED"), ("L", "0", None)]
        await asyncio.sleep(0.3)
        assert len(fake.sent) == 3
        stats = await call(client, "GET", "/venues/XMOCK/stats")
        assert (stats["market"], stats["marketPaused"], stats["trades"]) == (True, True, 0)
        await call(client, "POST", "/venues/XMOCK/market/resume")
        reports = await sent_to(fake, 4)
        assert (reports[3][11], reports[3][150], reports[3][31]) == ("L", "F", "190.01")


@run_async
async def test_the_market_config_is_validated_and_switches_the_market() -> None:
    async with serving(market=True) as (client, exchange, fake):
        for bad in ({"market": "maybe"}, {"tickSize": "0"}, {"tickSize": 0.01}, {"levels": 0},
                    {"fillProbability": 2}, {"symbols": "AAPL"}, {"tickMs": 1},
                    {"makerFeePerShare": "x"}, {"volatilityTicks": -1}):  # fmt: skip
            answer = await call(client, "PUT", "/venues/XMOCK/config", bad, status=400)
            assert answer["error"]["code"] == "invalid_config", bad
        config = await call(client, "PUT", "/venues/XMOCK/config",
                            {"market": "off", "symbols": "AAPL=10,XYZ=5.5", "levels": 2})
        assert (config["market"], config["symbols"], config["levels"]) == (
            False, {"AAPL": "10", "XYZ": "5.5"}, 2)
        deliver(exchange, "D", limit_buy("O", "10", "999.00", tif="3"))  # rests: no market
        deliver(exchange, "D", limit_buy("P", "10", "999.00"))
        await sent_to(fake, 2)
        orders = (await call(client, "GET", "/venues/XMOCK/orders"))["orders"]
        assert {orders[o]["status"] for o in "OP"} == {"NEW"}
        # On again: the DAY order rests in the market; the IOC left from the off period
        # stays as it was.
        await call(client, "PUT", "/venues/XMOCK/config", {"market": "on"})
        await call(client, "PUT", AAPL, {"asks": [{"price": "9.99", "size": "50"}]})
        reports = await sent_to(fake, 3)
        assert [(r[11], r[150], r.get(31)) for r in reports] == [
            ("O", "0", None), ("P", "0", None), ("P", "F", "999.00")]


@run_async
async def test_a_silent_venue_holds_back_its_answers_but_never_its_trades() -> None:
    async with serving(market=True) as (client, exchange, fake):
        await call(client, "PUT", AAPL, BOOK)
        await call(client, "POST", "/venues/XMOCK/faults", {"silent": True})
        deliver(exchange, "D", limit_buy("S", "400", "190.01", tif="3"))
        reports = await sent_to(fake, 2)
        assert [(r[150], r.get(32), r.get(58)) for r in reports] == [
            ("F", "300", None), ("4", None, "IOC_REMAINDER_CANCELED")]
        await asyncio.sleep(0.1)
        assert len(fake.sent) == 2  # the ack (150=0) never went
        (entry,) = (await call(client, "GET", "/venues/XMOCK/messages"))["messages"]
        assert [(a["execType"], a["raw"] is None) for a in entry["answers"]] == [
            ("0", True), ("F", False), ("4", False)]
