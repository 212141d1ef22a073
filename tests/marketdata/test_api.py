"""GET /api/v1/marketdata/{symbol}: every venue's latest quote from the Redis cache, with
`stale` past OMS_MARKET_DATA_STALE_SECONDS; the API's auth and error format."""

from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.test import override_settings
from django.utils import timezone

from marketdata import selectors
from marketdata.quotes import Quote, QuoteStore

URL = "/api/v1/marketdata/{}"


@pytest.fixture
def store(limiter_redis):
    return QuoteStore(limiter_redis)


def quote(venue: str, symbol: str = "AAPL", *, age: float = 0.0, **fields) -> Quote:
    values = {"bids": ((Decimal("189.50"), Decimal("300")), (Decimal("189.4"), Decimal("5"))),
              "asks": ((Decimal("189.6"), Decimal("200")),),
              "last": Decimal("189.55"), "last_size": Decimal("50")}
    values.update(fields)
    return Quote(venue_code=venue, symbol=symbol,
                 sent_at=timezone.now() - timedelta(seconds=age), **values)


@override_settings(OMS_MARKET_DATA_STALE_SECONDS=3)
def test_each_venue_s_quote_with_sizes_last_timestamp_and_staleness(trader_api, store):
    store.put([quote("XMOCK", age=0.5), quote("XSLOW", age=10, bids=(), last=None,
                                                   last_size=None)])
    response = trader_api.get(URL.format("AAPL"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["symbol"] == "AAPL"
    fresh, old = body["venues"]
    assert (fresh["venue"], old["venue"]) == ("XMOCK", "XSLOW")
    assert (fresh["bid"], fresh["bidSize"], fresh["ask"], fresh["askSize"]) == \
        ("189.5", "300", "189.6", "200")
    assert (fresh["last"], fresh["lastSize"]) == ("189.55", "50")
    assert fresh["bids"] == [{"price": "189.5", "size": "300"}, {"price": "189.4", "size": "5"}]
    assert fresh["stale"] is False and 0 <= fresh["ageSeconds"] < 3
    assert fresh["timestamp"].endswith("Z")
    assert old["stale"] is True and old["bid"] is None and old["last"] is None
    assert old["ask"] == "189.6"


def test_no_venue_has_data_is_404_in_the_error_format(trader_api, store):
    store.put([quote("XMOCK", symbol="MSFT")])
    response = trader_api.get(URL.format("AAPL"))
    assert response.status_code == 404
    assert response.json()["code"] == "market_data_not_found"


@pytest.mark.parametrize("symbol", ["aapl", "A" * 33, "AA PL", "%00", "-X", "é"])
def test_what_cannot_be_a_symbol_is_404(trader_api, store, symbol):
    response = trader_api.get(URL.format(symbol))
    assert response.status_code == 404
    assert response.json()["code"] in ("market_data_not_found", "not_found")


def test_a_token_is_needed(client, store, db):
    store.put([quote("XMOCK")])
    response = client.get(URL.format("AAPL"))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_redis_down_is_503(trader_api, monkeypatch):
    dead = QuoteStore(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    monkeypatch.setattr(selectors, "quote_store", lambda: dead)
    response = trader_api.get(URL.format("AAPL"))
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


def test_the_operation_is_in_the_openapi_schema(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/marketdata/{symbol}"]["get"]
    assert {"200", "401", "404"} <= set(operation["responses"])
