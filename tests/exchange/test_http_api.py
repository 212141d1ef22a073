"""The HTTP API, in process: the exchange with a stand-in for QuickFIX, behind aiohttp's test
server. Messages are delivered as QuickFIX would (`app_received` with the message's text), so
every endpoint is checked against real venue state without sockets or sessions.

Each test runs its own event loop with `asyncio.run`, so no pytest async plugin is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from concurrent.futures import Future
from typing import Any, TypeAlias

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from exchange.config import ExchangeConfig, Latency, VenueConfig
from exchange.http_api import create_app
from exchange.market_config import MarketConfig
from exchange.service import Exchange

Client: TypeAlias = "TestClient[web.Request, web.Application]"
OMS = ("XMOCK", "OMS")


class FakeFix:
    """What the exchange asks of QuickFIX, recorded; jobs run at once on the caller's thread."""

    def __init__(self, keys: Iterable[tuple[str, str]], *, port: int, **_: Any) -> None:
        self.keys = tuple(keys)
        self.port = 9878 if port == 0 else port
        self.sent: list[tuple[tuple[str, str], str, dict[int, str]]] = []
        self.calls: list[tuple[str, tuple[str, str], Any]] = []
        self.next_seq = {key: [1, 1] for key in self.keys}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def status(self, key: tuple[str, str]) -> dict[str, Any]:
        sender, target = self.next_seq[key]
        return {"loggedOn": False, "nextSenderSeqNum": sender, "nextTargetSeqNum": target}

    def send(self, key: tuple[str, str], msg_type: str, fields: Iterable[tuple[int, str]],
             groups: Iterable[Any] = ()) -> str:  # fmt: skip
        body = dict(fields)
        self.sent.append((key, msg_type, body))
        seq = self.next_seq[key][0]
        self.next_seq[key][0] += 1
        return f"8=FIX.4.4|35={msg_type}|34={seq}|" + "|".join(f"{t}={v}" for t, v in body.items())

    def call_on_fix_thread(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(job())
        except Exception as error:
            future.set_exception(error)
        return future

    def disconnect(self, key: tuple[str, str]) -> None:
        self.calls.append(("disconnect", key, None))

    def reset(self, key: tuple[str, str]) -> None:
        self.calls.append(("reset", key, None))
        self.next_seq[key] = [1, 1]

    def skip_outbound(self, key: tuple[str, str], count: int) -> int:
        self.calls.append(("skip", key, count))
        self.next_seq[key][0] += count
        return self.next_seq[key][0]

    def allow_logons(self, key: tuple[str, str], allowed: bool) -> None:
        self.calls.append(("allow_logons", key, allowed))


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


@contextlib.asynccontextmanager
async def serving(
    *, venues: tuple[str, ...] = ("XMOCK",), latency: str = "0", rate_limit: int = 100,
    market: bool = False,
) -> AsyncIterator[tuple[Client, Exchange, FakeFix]]:
    # The market is off unless a test asks: these tests' orders rest as NEW.
    config = ExchangeConfig(
        venues=venues, clients=("OMS", "OMS2"), seed="test", summary_interval_s=0,
        venue=VenueConfig(rate_limit=rate_limit, latency=Latency.parse(latency),
                          market=MarketConfig(on=market)),
    )  # fmt: skip
    exchange = Exchange(config, run_id="t", fix_factory=FakeFix)
    fake: FakeFix = exchange.fix  # type: ignore[assignment]
    exchange.start()
    try:
        async with TestClient(TestServer(create_app(exchange))) as client:
            yield client, exchange, fake
    finally:
        exchange.stop()


async def call(client: Client, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = await client.request(method, path, json=body)
    payload = await response.json()
    assert response.status == status, payload
    return payload


def deliver(exchange: Exchange, msg_type: str, fields: dict[int, str], key=OMS) -> None:
    text = "\x01".join(f"{t}={v}" for t, v in {35: msg_type, 34: "2", **fields}.items()) + "\x01"
    exchange.app_received(key, text)


def new_order(cl_ord_id: str, **tags: str) -> dict[int, str]:
    fields = {11: cl_ord_id, 55: "ACME", 54: "1", 60: "20260302-12:00:00.000", 38: "100",
              40: "2", 44: "10.50", 59: "0"}  # fmt: skip
    fields.update({int(name[1:]): value for name, value in tags.items()})
    return fields


async def sent_to(fake: FakeFix, count: int) -> list[dict[int, str]]:
    """The first `count` messages sent (the outbox sends them on its own thread)."""
    deadline = time.monotonic() + 2
    while len(fake.sent) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    assert len(fake.sent) >= count, fake.sent
    return [{35: msg_type, **body} for _, msg_type, body in fake.sent[:count]]


@run_async
async def test_healthz() -> None:
    async with serving(venues=("XMOCK", "XFAST")) as (client, _, _):
        assert await call(client, "GET", "/healthz") == {
            "status": "ok",
            "venues": ["XMOCK", "XFAST"],
            "fixPort": 9878,
        }


@run_async
async def test_unknown_venues_paths_and_methods_are_json_errors() -> None:
    async with serving() as (client, _, _):
        for method, path in [
            ("GET", "/venues/NOPE/stats"), ("GET", "/venues/NOPE/messages"),
            ("GET", "/venues/NOPE/orders"), ("POST", "/venues/NOPE/orders/A/cancel"),
            ("GET", "/venues/NOPE/config"), ("PUT", "/venues/NOPE/config"),
            ("POST", "/venues/NOPE/close"), ("POST", "/venues/NOPE/open"),
            ("GET", "/venues/NOPE/faults"), ("POST", "/venues/NOPE/faults"),
        ]:  # fmt: skip
            answer = await call(client, method, path, {"silent": True}, status=404)
            assert answer["error"]["code"] == "unknown_venue", (method, path)
        assert (await call(client, "GET", "/no/such", status=404))["error"]["code"] == "not_found"
        answer = await call(client, "DELETE", "/venues/XMOCK/stats", status=405)
        assert answer["error"]["code"] == "method_not_allowed"


@run_async
async def test_stats_show_the_venue_and_its_sessions() -> None:
    async with serving(venues=("XMOCK", "XFAST")) as (client, exchange, fake):
        exchange.admin_received(OMS, "A", "35=A")
        exchange.admin_received(OMS, "5", "35=5")
        exchange.admin_received(OMS, "2", "35=2\x017=3\x0116=0\x01")
        exchange.admin_sent(OMS, "3", "35=3\x0145=7\x01372=D\x01373=1\x01371=40\x01")
        deliver(exchange, "D", new_order("A"))
        await sent_to(fake, 1)  # the ack took sender seq 1
        stats = await call(client, "GET", "/venues/XMOCK/stats")
        assert {k: stats[k] for k in ("venue", "received", "accepted", "sessionRejected",
                                      "maxInAnySlidingSecond", "tradingOpen", "orders")} == {
            "venue": "XMOCK", "received": 1, "accepted": 1, "sessionRejected": 1,
            "maxInAnySlidingSecond": 2, "tradingOpen": True, "orders": 1}  # fmt: skip
        assert stats["sessions"] == [
            {"clientCompId": "OMS", "loggedOn": False, "nextSenderSeqNum": 2,
             "nextTargetSeqNum": 1, "logons": 1, "logouts": 1, "resendRequestsReceived": 1,
             "sessionRejectsSent": 1},
            {"clientCompId": "OMS2", "loggedOn": False, "nextSenderSeqNum": 1,
             "nextTargetSeqNum": 1, "logons": 0, "logouts": 0, "resendRequestsReceived": 0,
             "sessionRejectsSent": 0},
        ]  # fmt: skip
        required = {
            "rateLimit",
            "latencyMs",
            "rejectRatio",
            "rejected",
            "duplicates",
            "limitViolations",
            "inCurrentSecond",
            "rejectsByReason",
            "lastSeq",
        }
        assert required <= set(stats)
        everything = await call(client, "GET", "/stats")
        assert set(everything) == {"XMOCK", "XFAST"}
        assert everything["XFAST"]["received"] == 0


@run_async
async def test_answers_leave_after_the_latency_and_the_log_keeps_their_text() -> None:
    async with serving(latency="30") as (client, exchange, fake):
        started = time.monotonic()
        deliver(exchange, "D", new_order("A"))
        (ack,) = await sent_to(fake, 1)
        assert time.monotonic() - started >= 0.030
        assert (ack[35], ack[150], ack[11]) == ("8", "0", "A")
        page = await call(client, "GET", "/venues/XMOCK/messages")
        (entry,) = page["messages"]
        assert entry["answers"][0]["raw"].startswith("8=FIX.4.4|35=8|34=1|")
        assert (entry["clientCompId"], entry["msgType"], entry["clOrdId"]) == ("OMS", "D", "A")


@run_async
async def test_message_log_pages_and_checks_its_query() -> None:
    async with serving() as (client, exchange, _):
        for i in range(5):
            deliver(exchange, "D", new_order(f"O{i}"))
        page = await call(client, "GET", "/venues/XMOCK/messages?since=1&limit=2")
        assert [m["seq"] for m in page["messages"]] == [2, 3]
        assert (page["hasMore"], page["lastSeq"], page["gap"], page["logCap"]) == (
            True, 5, False, 1_000_000)  # fmt: skip
        for query in ("since=x", "since=-1", "limit=0", "limit=100001"):
            answer = await call(client, "GET", f"/venues/XMOCK/messages?{query}", status=400)
            assert answer["error"]["code"] == "invalid_query"


@run_async
async def test_the_book_is_keyed_by_first_clordid_with_exact_decimals() -> None:
    async with serving() as (client, exchange, _):
        deliver(exchange, "D", new_order("A", t38="100.25", t44="0.0001"))
        deliver(exchange, "G", {41: "A", 11: "A2", 55: "ACME", 54: "1", 38: "50", 40: "2",
                                44: "0.0002", 60: "20260302-12:00:00.000"})  # fmt: skip
        book = await call(client, "GET", "/venues/XMOCK/orders")
        assert list(book["orders"]) == ["A"]
        order = book["orders"]["A"]
        assert (order["clOrdId"], order["clOrdIds"], order["quantity"], order["limitPrice"]) == (
            "A2", ["A", "A2"], "50", "0.0002")  # fmt: skip


@run_async
async def test_config_is_validated_all_or_nothing() -> None:
    async with serving() as (client, _, _):
        config = await call(client, "GET", "/venues/XMOCK/config")
        assert config == {"venue": "XMOCK", "rateLimit": 100, "latencyMs": "0",
                          "rejectRatio": 0.0, "timeZone": "UTC", "openTime": "00:00:00",
                          "closeTime": "23:59:59", **MarketConfig(on=False).as_json()}  # fmt: skip
        new = await call(client, "PUT", "/venues/XMOCK/config",
                         {"rateLimit": 2, "latencyMs": "1-5", "timeZone": "Europe/London",
                          "openTime": "08:00", "closeTime": "16:30:00"})  # fmt: skip
        assert (new["rateLimit"], new["openTime"], new["timeZone"]) == (
            2,
            "08:00:00",
            "Europe/London",
        )
        for bad in ({"rateLimit": 0}, {"latencyMs": "10-1"}, {"rejectRatio": 2},
                    {"timeZone": "Nowhere"}, {"openTime": "16:30:00"}, {"bogus": 1},
                    {"rateLimit": 5, "closeTime": "nonsense"}):  # fmt: skip
            answer = await call(client, "PUT", "/venues/XMOCK/config", bad, status=400)
            assert answer["error"]["code"] == "invalid_config", bad
        assert (await call(client, "GET", "/venues/XMOCK/config")) == new
        response = await client.put("/venues/XMOCK/config", data=b"{not json")
        assert (await response.json())["error"]["code"] == "invalid_json"
        answer = await call(client, "PUT", "/venues/XMOCK/config", [1], status=400)
        assert answer["error"]["code"] == "invalid_body"


@run_async
async def test_close_and_open_on_demand() -> None:
    async with serving() as (client, exchange, fake):
        deliver(exchange, "D", new_order("DAY1"))
        deliver(exchange, "D", new_order("GTC1", t59="1"))
        closed = await call(client, "POST", "/venues/XMOCK/close")
        assert closed == {"venue": "XMOCK", "tradingOpen": False, "expired": 1}
        sent = await sent_to(fake, 3)
        assert (sent[2][150], sent[2][11]) == ("C", "DAY1")
        assert (await call(client, "GET", "/venues/XMOCK/stats"))["tradingOpen"] is False
        opened = await call(client, "POST", "/venues/XMOCK/open")
        assert opened == {"venue": "XMOCK", "tradingOpen": True}


@run_async
async def test_the_venue_cancels_an_order_on_its_own() -> None:
    async with serving() as (client, exchange, fake):
        deliver(exchange, "D", new_order("A"))
        answer = await call(client, "POST", "/venues/XMOCK/orders/A/cancel")
        assert answer["order"]["status"] == "CANCELED"
        report = (await sent_to(fake, 2))[1]
        assert (report[150], report[39], report[11]) == ("4", "4", "A")
        again = await call(client, "POST", "/venues/XMOCK/orders/A/cancel", status=409)
        assert again["error"]["code"] == "order_closed"
        missing = await call(client, "POST", "/venues/XMOCK/orders/ZZZ/cancel", status=404)
        assert missing["error"]["code"] == "unknown_order"


@run_async
async def test_faults_are_validated_and_reach_quickfix() -> None:
    async with serving() as (client, exchange, fake):
        assert await call(client, "GET", "/venues/XMOCK/faults") == {
            "venue": "XMOCK", "silent": False, "refuseLogon": False, "disconnects": 0,
            "skippedOutboundSeq": 0}  # fmt: skip
        for bad in ({}, [], {"silent": "yes"}, {"disconnect": 1}, {"refuseLogon": None},
                    {"skipOutboundSeq": 0}, {"skipOutboundSeq": True}, {"skipOutboundSeq": 2.5},
                    {"explode": True}):  # fmt: skip
            answer = await call(client, "POST", "/venues/XMOCK/faults", bad, status=400)
            assert answer["error"]["code"] in {"invalid_body", "invalid_field"}, bad
        assert fake.calls == []
        answer = await call(
            client,
            "POST",
            "/venues/XMOCK/faults",
            {"disconnect": True, "skipOutboundSeq": 3, "refuseLogon": True},
        )
        assert (answer["disconnects"], answer["skippedOutboundSeq"], answer["refuseLogon"]) == (
            1, 3, True)  # fmt: skip
        assert ("disconnect", OMS, None) in fake.calls
        assert ("skip", ("XMOCK", "OMS2"), 3) in fake.calls
        assert ("allow_logons", OMS, False) in fake.calls
        # A session that logs out while logons are refused is refused too.
        exchange.logged_out(OMS)
        assert fake.calls[-1] == ("allow_logons", OMS, False)


@run_async
async def test_a_silent_venue_decides_and_logs_but_sends_nothing() -> None:
    async with serving() as (client, exchange, fake):
        await call(client, "POST", "/venues/XMOCK/faults", {"silent": True})
        deliver(exchange, "D", new_order("A"))
        await asyncio.sleep(0.05)
        assert fake.sent == []
        (entry,) = (await call(client, "GET", "/venues/XMOCK/messages"))["messages"]
        assert (entry["silenced"], entry["answers"][0]["raw"]) == (True, None)
        assert (await call(client, "GET", "/venues/XMOCK/orders"))["orders"]["A"]["status"] == "NEW"
        await call(client, "POST", "/venues/XMOCK/faults", {"silent": False})
        deliver(exchange, "H", {11: "A", 55: "ACME", 54: "1"})
        assert (await sent_to(fake, 1))[0][150] == "I"


@run_async
async def test_reset_clears_venues_faults_and_sequence_numbers() -> None:
    async with serving(venues=("XA", "XB")) as (client, exchange, fake):
        for venue in ("XA", "XB"):
            deliver(exchange, "D", new_order("A"), key=(venue, "OMS"))
        await call(client, "PUT", "/venues/XA/config", {"rateLimit": 7})
        await call(client, "POST", "/venues/XA/faults", {"silent": True})
        await sent_to(fake, 1)
        answer = await call(client, "POST", "/reset")
        assert answer == {"reset": ["XA", "XB"], "config": False}
        assert {key for kind, key, _ in fake.calls if kind == "reset"} == {
            ("XA", "OMS"), ("XA", "OMS2"), ("XB", "OMS"), ("XB", "OMS2")}  # fmt: skip
        for venue in ("XA", "XB"):
            stats = await call(client, "GET", f"/venues/{venue}/stats")
            assert (stats["received"], stats["orders"], stats["lastSeq"]) == (0, 0, 0)
            assert stats["sessions"][0]["nextSenderSeqNum"] == 1
            assert (await call(client, "GET", f"/venues/{venue}/messages"))["messages"] == []
        assert (await call(client, "GET", "/venues/XA/faults"))["silent"] is False
        assert (await call(client, "GET", "/venues/XA/config"))["rateLimit"] == 7
        # The ClOrdID is free again: after a reset the same D is a new order.
        deliver(exchange, "D", new_order("A"), key=("XA", "OMS"))
        assert (await call(client, "GET", "/venues/XA/orders"))["orders"]["A"]["status"] == "NEW"
        await call(client, "POST", "/reset?config=1")
        assert (await call(client, "GET", "/venues/XA/config"))["rateLimit"] == 100
