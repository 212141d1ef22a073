"""Fills and positions in the API: on the order, at /api/v1/executions and
/api/v1/positions, scoped to the caller's accounts as orders are, cursor-paginated, bad
input a 4xx in the one error format."""

from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings

from tests.executions.conftest import D, live_order
from tests.security.conftest import ORDERS, assert_error

pytestmark = pytest.mark.django_db

EXECUTIONS, POSITIONS = "/api/v1/executions", "/api/v1/positions"


@pytest.fixture
def traded(trader, other_trader, in_process_venue):
    """ACC-1 bought 3 + 4 AAPL and sold 2 MSFT; ACC-2 bought 5 AAPL."""
    venue = in_process_venue
    buy, buy_cl = live_order(venue, trader)
    sell, sell_cl = live_order(venue, trader, symbol="MSFT", side="SELL", limit_price=D("320"))
    theirs, theirs_cl = live_order(venue, other_trader, account_code="ACC-2")
    venue.deliver([
        venue.book.fill(buy_cl, D("3"), D("150.1"), liquidity="1", commission=D("0.03"),
                        transact_time="20261201-14:30:00.000"),
        venue.book.fill(sell_cl, D("2"), D("320.5"), transact_time="20261201-14:31:00.000"),
        venue.book.fill(theirs_cl, D("5"), D("150"), transact_time="20261201-14:32:00.000"),
        venue.book.fill(buy_cl, D("4"), D("150.2"), liquidity="2",
                        transact_time="20261201-14:33:00.000"),
    ])
    return {"buy": buy, "sell": sell, "theirs": theirs}


def exec_ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [fill["execId"] for fill in response.json()["results"]]


def test_the_order_shows_cumqty_leavesqty_avgpx_and_its_fills(trader_api, traded):
    body = trader_api.get(f"{ORDERS}/{traded['buy'].pk}").json()

    assert (body["status"], body["cumQty"], body["leavesQty"], body["avgPx"]) == (
        "PARTIALLY_FILLED", "7", "3", "150.15714286")
    first, second = body["fills"]
    assert {k: first[k] for k in ("lastQty", "lastPx", "liquidity", "fee", "transactTime",
                                  "state", "kind", "venue")} == {
        "lastQty": "3", "lastPx": "150.1", "liquidity": "MAKER", "fee": "0.03",
        "transactTime": "2026-12-01T14:30:00Z", "state": "APPLIED", "kind": "TRADE",
        "venue": "XMOCK"}
    assert (second["lastQty"], second["liquidity"], second["fee"]) == ("4", "TAKER", None)
    assert first["execId"].startswith("XMOCK-E")


def test_executions_are_newest_first_scoped_and_filtered(trader_api, other_api, operator_api,
                                                         traded):
    mine = exec_ids(trader_api.get(EXECUTIONS))
    assert len(mine) == 3 and mine == sorted(mine, key=lambda e: int(e.split("E")[-1]),
                                             reverse=True)
    assert len(exec_ids(other_api.get(EXECUTIONS))) == 1
    assert len(exec_ids(operator_api.get(EXECUTIONS))) == 4
    # Another account's fills are not there, even when asked for by name.
    assert exec_ids(trader_api.get(EXECUTIONS, {"accountId": "ACC-2"})) == []
    assert exec_ids(other_api.get(EXECUTIONS, {"orderId": str(traded["buy"].pk)})) == []

    assert len(exec_ids(trader_api.get(EXECUTIONS, {"symbol": "MSFT"}))) == 1
    assert len(exec_ids(trader_api.get(EXECUTIONS, {"orderId": str(traded["buy"].pk)}))) == 2
    assert len(exec_ids(operator_api.get(EXECUTIONS, {"accountId": "ACC-2"}))) == 1
    assert len(exec_ids(operator_api.get(EXECUTIONS, {"venue": "XMOCK"}))) == 4
    assert exec_ids(operator_api.get(EXECUTIONS, {"venue": "XFAST"})) == []
    window = {"since": "2026-12-01T14:31:00Z", "until": "2026-12-01T14:33:00+00:00"}
    assert len(exec_ids(operator_api.get(EXECUTIONS, window))) == 2  # 14:31 and 14:32
    assert len(exec_ids(operator_api.get(EXECUTIONS, {"state": "BUSTED"}))) == 0


def test_executions_are_cursor_paginated(operator_api, traded):
    first = operator_api.get(EXECUTIONS, {"limit": 3}).json()
    second = operator_api.get(first["next"]).json()

    assert len(first["results"]) == 3 and len(second["results"]) == 1
    assert second["next"] is None
    seen = [f["execId"] for f in first["results"] + second["results"]]
    assert len(set(seen)) == 4


@pytest.mark.parametrize("query,status,code", [
    ({"orderId": "not-a-uuid"}, 400, "validation_error"),
    ({"since": "yesterday"}, 400, "validation_error"),
    ({"state": "NOPE"}, 400, "validation_error"),
    ({"limit": "0"}, 400, "validation_error"),
    ({"cursor": "garbage!"}, 404, "not_found"),
    ({"cursor": "cD1ub3QtYW4taWQ="}, 404, "not_found"),  # p=not-an-id
])
def test_bad_queries_are_a_clear_4xx(trader_api, query, status, code):
    for path in (EXECUTIONS, POSITIONS) if "orderId" not in query else (EXECUTIONS,):
        if path == POSITIONS and ("since" in query or "state" in query):
            continue
        assert_error(trader_api.get(path, query), status, code)


def test_positions_are_scoped_and_marked_to_the_latest_price(trader_api, other_api, traded,
                                                             limiter_redis):
    market = redis.Redis.from_url(settings.REDIS_URL)
    market.hset("oms:md:XMOCK:AAPL", mapping={
        "bid": "150.9", "ask": "151.1", "last": "151",
        "ts": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()})

    rows = {p["symbol"]: p for p in trader_api.get(POSITIONS).json()["results"]}

    assert set(rows) == {"AAPL", "MSFT"}
    aapl, msft = rows["AAPL"], rows["MSFT"]
    assert (aapl["netQuantity"], aapl["averageCost"], aapl["realizedPnl"], aapl["fees"]) == (
        "7", "150.15714286", "0", "0.03")
    assert aapl["markPrice"] == "151"
    assert aapl["unrealizedPnl"] == "5.89999998"  # 7 x (151 - 150.15714286)
    assert (msft["netQuantity"], msft["averageCost"]) == ("-2", "320.5")
    assert (msft["markPrice"], msft["unrealizedPnl"]) == (None, None)  # no market data
    assert [p["accountId"] for p in other_api.get(POSITIONS).json()["results"]] == ["ACC-2"]
    assert trader_api.get(POSITIONS, {"accountId": "ACC-2"}).json()["results"] == []
    assert len(trader_api.get(POSITIONS, {"symbol": "MSFT"}).json()["results"]) == 1


def test_a_modify_below_the_filled_quantity_is_a_400(trader_api, traded):
    response = trader_api.patch(f"{ORDERS}/{traded['buy'].pk}", {"quantity": "7"},
                                format="json")

    assert_error(response, 400, "validation_error")
    assert response.json()["details"] == {"quantity": ["Must be more than the 7 already "
                                                       "filled."]}
    traded["buy"].refresh_from_db()
    assert (traded["buy"].quantity, traded["buy"].status) == (D("10"), "PARTIALLY_FILLED")
