"""The HTTP API, through aiohttp's in-process test server on a free loopback port.

Each test runs its own event loop with `asyncio.run`, so no pytest async plugin is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeAlias

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from exchange.config import ExchangeConfig, Latency, VenueConfig
from exchange.server import create_app

from .clock import FakeClock

VENUE = "XMOCK"

Client: TypeAlias = "TestClient[web.Request, web.Application]"


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


@contextlib.asynccontextmanager
async def exchange(
    *, venues: tuple[str, ...] = (VENUE,), latency: str = "0", rate_limit: int = 100, **kw: Any
) -> AsyncIterator[Client]:
    config = ExchangeConfig(
        venues=venues,
        venue=VenueConfig(rate_limit=rate_limit, latency=Latency.parse(latency)),
        seed="test",
        summary_interval_s=0,
    )
    async with TestClient(TestServer(create_app(config, **kw))) as client:
        yield client


async def call(
    client: Client, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    response = await client.request(method, path, json=body)
    payload = await response.json()
    assert response.status == status, payload
    return payload


async def logon(client: Client, venue: str = VENUE, sender: str = "OMS") -> Any:
    return await call(client, "POST", f"/venues/{venue}/logon", {"senderCompId": sender})


def order(kind: str, cl_ord_id: str, request_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "senderCompId": "OMS",
        "kind": kind,
        "requestId": request_id,
        "clientOrderId": cl_ord_id,
        "symbol": "ACME",
        "side": "BUY",
        "orderType": "LIMIT",
        "quantity": 100,
        "limitPrice": "10.50",
        "stopPrice": None,
        "timeInForce": "DAY",
        **fields,
    }


async def send(client: Client, body: dict[str, Any], venue: str = VENUE) -> Any:
    return await call(client, "POST", f"/venues/{venue}/orders", body)


@run_async
async def test_healthz() -> None:
    async with exchange() as client:
        assert (await call(client, "GET", "/healthz"))["status"] == "ok"


@run_async
async def test_logon_logout_idempotent() -> None:
    async with exchange() as client:
        for _ in range(2):
            answer = await logon(client)
            assert (answer["venue"], answer["state"]) == (VENUE, "LOGGED_ON")
            assert answer["at"].endswith("+00:00")
        for _ in range(2):
            answer = await call(client, "POST", f"/venues/{VENUE}/logout", {"senderCompId": "OMS"})
            assert answer["state"] == "LOGGED_OUT"
        stats = await call(client, "GET", f"/venues/{VENUE}/stats")
        assert (stats["state"], stats["logons"], stats["logouts"]) == ("LOGGED_OUT", 2, 2)


@run_async
async def test_unknown_venue_is_404_json() -> None:
    async with exchange() as client:
        for method, path in [
            ("POST", "/venues/NOPE/logon"),
            ("POST", "/venues/NOPE/orders"),
            ("GET", "/venues/NOPE/stats"),
            ("GET", "/venues/NOPE/messages"),
            ("PUT", "/venues/NOPE/config"),
        ]:
            answer = await call(client, method, path, {"senderCompId": "OMS"}, status=404)
            assert answer["error"]["code"] == "unknown_venue"
        answer = await call(client, "GET", "/no/such/path", status=404)
        assert answer["error"]["code"] == "not_found"


@run_async
async def test_bad_input_is_400_json_and_not_logged() -> None:
    async with exchange() as client:
        await logon(client)
        response = await client.post(f"/venues/{VENUE}/orders", data=b"{not json")
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "invalid_json"
        await call(client, "POST", f"/venues/{VENUE}/orders", {"kind": "NEW"}, status=400)
        await call(client, "POST", f"/venues/{VENUE}/logon", {}, status=400)
        await call(client, "GET", f"/venues/{VENUE}/messages?since=x", status=400)
        stats = await call(client, "GET", f"/venues/{VENUE}/stats")
        assert (stats["received"], stats["malformed"], stats["lastSeq"]) == (0, 2, 0)


@run_async
async def test_order_before_logon_is_rejected() -> None:
    async with exchange() as client:
        answer = await send(client, order("NEW", "A", "r1"))
        assert (answer["result"], answer["reason"]) == ("REJECT", "NOT_LOGGED_ON")
        stats = await call(client, "GET", f"/venues/{VENUE}/stats")
        assert (stats["notLoggedOn"], stats["rejected"]) == (1, 1)


@run_async
async def test_accept_answer_shape_and_fixed_latency_is_honoured() -> None:
    async with exchange(latency="20") as client:
        await logon(client)
        started = time.monotonic()
        answer = await send(client, order("NEW", "A", "r1"))
        elapsed = time.monotonic() - started
        assert elapsed >= 0.020
        assert answer == {
            "requestId": "r1",
            "clientOrderId": "A",
            "kind": "NEW",
            "result": "ACCEPT",
            "reason": None,
            "duplicate": False,
            "venueOrderId": answer["venueOrderId"],
            "receivedAt": answer["receivedAt"],
            "seq": 1,
            "originalSeq": None,
        }
        assert answer["venueOrderId"]


@run_async
async def test_latency_does_not_block_other_requests() -> None:
    async with exchange(latency="50") as client:
        await logon(client)
        started = time.monotonic()
        answers = await asyncio.gather(
            send(client, order("NEW", "A", "r1")), send(client, order("NEW", "B", "r2"))
        )
        elapsed = time.monotonic() - started
        assert [a["result"] for a in answers] == ["ACCEPT", "ACCEPT"]
        assert 0.050 <= elapsed < 0.090
        # Logon and observation are never delayed, even while orders are waiting.
        slow = asyncio.ensure_future(send(client, order("NEW", "C", "r3")))
        started = time.monotonic()
        await call(client, "GET", f"/venues/{VENUE}/stats")
        assert time.monotonic() - started < 0.040
        await slow


@run_async
async def test_duplicate_new_is_answered_identically_and_booked_once() -> None:
    async with exchange() as client:
        await logon(client)
        first = await send(client, order("NEW", "A", "r1"))
        again = await send(client, order("NEW", "A", "r1"))
        per_receipt = {"duplicate", "seq", "receivedAt", "originalSeq"}
        same = {k: v for k, v in first.items() if k not in per_receipt}
        assert {k: again[k] for k in same} == same
        assert (again["duplicate"], again["originalSeq"], again["seq"]) == (True, 1, 2)
        stats = await call(client, "GET", f"/venues/{VENUE}/stats")
        assert (stats["duplicates"], stats["orders"], stats["accepted"]) == (1, 1, 2)
        book = await call(client, "GET", f"/venues/{VENUE}/orders")
        assert list(book["orders"]) == ["A"]


@run_async
async def test_modify_cancel_and_unknown_order() -> None:
    async with exchange() as client:
        await logon(client)
        await send(client, order("NEW", "A", "r1"))
        modify = await send(client, order("MODIFY", "A", "r2", quantity=40, limitPrice="10.40"))
        assert modify["result"] == "ACCEPT"
        book = (await call(client, "GET", f"/venues/{VENUE}/orders"))["orders"]
        assert (book["A"]["quantity"], book["A"]["limitPrice"]) == (40, "10.40")
        cancel = await send(client, {"senderCompId": "OMS", "kind": "CANCEL", "requestId": "r3",
                                     "clientOrderId": "A"})  # fmt: skip
        assert cancel["result"] == "ACCEPT"
        again = await send(client, order("CANCEL", "A", "r3"))
        assert (again["result"], again["duplicate"]) == ("ACCEPT", True)
        late = await send(client, order("MODIFY", "A", "r4", quantity=1))
        assert (late["result"], late["reason"]) == ("REJECT", "ORDER_CLOSED")
        unknown = await send(client, order("CANCEL", "ZZZ", "r5"))
        assert (unknown["result"], unknown["reason"]) == ("REJECT", "UNKNOWN_ORDER")


@run_async
async def test_reject_ratio_one_rejects_all_news() -> None:
    async with exchange() as client:
        await logon(client)
        await call(client, "PUT", f"/venues/{VENUE}/config", {"rejectRatio": 1.0})
        answers = [await send(client, order("NEW", f"O{i}", f"r{i}")) for i in range(20)]
        assert {(a["result"], a["reason"]) for a in answers} == {("REJECT", "RANDOM_REJECT")}


@run_async
async def test_rate_limit_over_http_with_an_injected_clock() -> None:
    clock = FakeClock(0.9)
    async with exchange(rate_limit=5, monotonic_ns=clock) as client:
        await logon(client)
        for i in range(5):
            assert (await send(client, order("NEW", f"O{i}", f"r{i}")))["result"] == "ACCEPT"
        clock.set(1.1)
        sixth = await send(client, order("NEW", "O6", "r6"))
        assert sixth["reason"] == "RATE_LIMIT"
        stats = await call(client, "GET", f"/venues/{VENUE}/stats")
        assert (stats["limitViolations"], stats["maxInAnySlidingSecond"]) == (1, 6)


@run_async
async def test_rate_limit_with_the_real_clock() -> None:
    async with exchange(rate_limit=10) as client:
        await logon(client)
        answers = await asyncio.gather(
            *(send(client, order("NEW", f"O{i}", f"r{i}")) for i in range(15))
        )
        reasons = [a["reason"] for a in sorted(answers, key=lambda a: a["seq"])]
        assert reasons == [None] * 10 + ["RATE_LIMIT"] * 5
        stats = await call(client, "GET", f"/venues/{VENUE}/stats")
        assert (stats["limitViolations"], stats["maxInAnySlidingSecond"]) == (5, 15)


@run_async
async def test_message_log_endpoint() -> None:
    async with exchange() as client:
        await send(client, order("NEW", "A", "r0"))  # before logon: logged too
        await logon(client)
        sent = [order("NEW", f"O{i}", f"r{i}") for i in range(1, 5)]
        answers = [await send(client, body) for body in sent]
        page = await call(client, "GET", f"/venues/{VENUE}/messages?since=0&limit=3")
        assert [m["seq"] for m in page["messages"]] == [1, 2, 3]
        assert page["hasMore"] is True and page["lastSeq"] == 5
        first = page["messages"][0]
        assert first["answer"]["reason"] == "NOT_LOGGED_ON"
        assert (first["senderCompId"], first["kind"], first["requestId"]) == ("OMS", "NEW", "r0")
        assert isinstance(first["receivedMonotonicNs"], int)
        assert first["body"]["symbol"] == "ACME"
        rest = await call(client, "GET", f"/venues/{VENUE}/messages?since=3")
        assert [m["seq"] for m in rest["messages"]] == [4, 5]
        assert rest["hasMore"] is False
        # The log shows exactly what was received and exactly what was answered.
        logged = page["messages"][1:] + rest["messages"]
        assert [m["body"] for m in logged] == sent
        assert [m["answer"] for m in logged] == answers
        times = [m["receivedMonotonicNs"] for m in page["messages"] + rest["messages"]]
        assert times == sorted(times)


@run_async
async def test_stats_endpoints_for_several_venues() -> None:
    async with exchange(venues=("XA", "XB")) as client:
        await logon(client, "XA")
        await send(client, order("NEW", "A", "r1"), venue="XA")
        everything = await call(client, "GET", "/stats")
        assert set(everything) == {"XA", "XB"}
        xa, xb = everything["XA"], everything["XB"]
        assert (xa["state"], xa["received"], xa["accepted"]) == ("LOGGED_ON", 1, 1)
        assert (xb["state"], xb["received"]) == ("LOGGED_OUT", 0)
        required = {"venue", "state", "rateLimit", "received", "accepted", "rejected",
                    "duplicates", "notLoggedOn", "limitViolations", "maxInAnySlidingSecond",
                    "logons", "logouts"}  # fmt: skip
        assert required <= set(xa)
        # Same clientOrderId on another venue is another order, not a duplicate.
        await logon(client, "XB")
        answer = await send(client, order("NEW", "A", "r1"), venue="XB")
        assert (answer["result"], answer["duplicate"]) == ("ACCEPT", False)


@run_async
async def test_config_changes_at_run_time() -> None:
    async with exchange(rate_limit=100, latency="0") as client:
        await logon(client)
        new = await call(
            client, "PUT", f"/venues/{VENUE}/config", {"rateLimit": 2, "latencyMs": "25-30"}
        )
        assert new == {"venue": VENUE, "rateLimit": 2, "latencyMs": "25-30", "rejectRatio": 0.0}
        assert (await call(client, "GET", f"/venues/{VENUE}/config")) == new
        started = time.monotonic()
        answers = [await send(client, order("NEW", f"O{i}", f"r{i}")) for i in range(3)]
        assert time.monotonic() - started >= 0.075
        assert [a["reason"] for a in answers] == [None, None, "RATE_LIMIT"]
        number = await call(client, "PUT", f"/venues/{VENUE}/config", {"latencyMs": 5})
        assert number["latencyMs"] == "5"
        for bad in ({"rateLimit": 0}, {"latencyMs": "10-1"}, {"rejectRatio": 2}, {"bogus": 1}):
            await call(client, "PUT", f"/venues/{VENUE}/config", bad, status=400)
        assert (await call(client, "GET", f"/venues/{VENUE}/config"))["rateLimit"] == 2


@run_async
async def test_reset_clears_all_venues() -> None:
    async with exchange(venues=("XA", "XB")) as client:
        for venue in ("XA", "XB"):
            await logon(client, venue)
            await send(client, order("NEW", "A", "r1"), venue=venue)
        await call(client, "PUT", "/venues/XA/config", {"rateLimit": 7})
        await call(client, "POST", "/reset")
        for venue in ("XA", "XB"):
            stats = await call(client, "GET", f"/venues/{venue}/stats")
            assert (stats["state"], stats["received"], stats["orders"]) == ("LOGGED_OUT", 0, 0)
            assert (await call(client, "GET", f"/venues/{venue}/messages"))["messages"] == []
        assert (await call(client, "GET", "/venues/XA/stats"))["rateLimit"] == 7
        # The order id is free again: after reset the same NEW is a new order.
        await logon(client, "XA")
        answer = await send(client, order("NEW", "A", "r1"), venue="XA")
        assert (answer["result"], answer["duplicate"]) == ("ACCEPT", False)
        await call(client, "POST", "/reset?config=1")
        assert (await call(client, "GET", "/venues/XA/stats"))["rateLimit"] == 100
