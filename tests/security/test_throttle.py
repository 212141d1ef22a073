"""Per-token API throttling (omsproject/throttles.py): one client cannot starve the others."""

import json

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from orders.models import Order
from tests.security.conftest import ORDERS, assert_error

pytestmark = pytest.mark.usefixtures("default_venue_open")


def order(n: int, account: str) -> dict:
    return {
        "clientOrderId": f"thr-{n}", "accountId": account, "symbol": "MSFT", "side": "BUY",
        "orderType": "LIMIT", "quantity": 1, "limitPrice": "10", "timeInForce": "GTC",
    }


def post(client, body):
    return client.post(ORDERS, json.dumps(body), content_type="application/json")


def _logs(*users) -> list[bytes]:
    raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    return [key for user in users for key in raw.keys(f"oms:throttle*user:{user.pk}/*")]


@pytest.fixture(autouse=True)
def fresh_logs(trader, other_trader):
    """Delete only these users' logs: the test Redis is shared with other test runs."""
    raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    for key in _logs(trader, other_trader):
        raw.delete(key)
    yield
    for key in _logs(trader, other_trader):
        raw.delete(key)


@override_settings(OMS_API_THROTTLE_RATE="3/minute")
def test_one_token_over_its_rate_gets_429_while_another_is_served(
    trader_api, other_api, trader
):
    for n in range(3):
        assert post(trader_api, order(n, "ACC-1")).status_code == 201

    refused = post(trader_api, order(3, "ACC-1"))
    assert_error(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert not Order.objects.filter(client_order_id="thr-3").exists()
    # Reads count too: a client polling in a loop is the same client.
    assert_error(trader_api.get(ORDERS), 429, "throttled")

    for n in range(3):
        assert post(other_api, order(n, "ACC-2")).status_code == 201


@override_settings(OMS_API_THROTTLE_RATE="2/minute")
def test_the_log_lives_in_the_shared_redis_cache(trader_api, trader):
    """Every web process sees the same log: it is in Redis, not in process memory."""
    assert post(trader_api, order(0, "ACC-1")).status_code == 201

    assert _logs(trader)
    # Another "process" (a fresh client; the server keeps no per-connection state) is
    # refused once the shared log is full.
    assert post(trader_api, order(1, "ACC-1")).status_code == 201
    assert_error(post(trader_api, order(2, "ACC-1")), 429, "throttled")


@override_settings(OMS_API_THROTTLE_RATE="")
def test_an_empty_rate_turns_throttling_off(trader_api):
    for n in range(5):
        assert trader_api.get(ORDERS).status_code == 200


@override_settings(
    OMS_API_THROTTLE_RATE="1/minute",
    CACHES={"default": {
        "BACKEND": "omsproject.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }},
)
def test_the_throttle_fails_open_when_its_cache_is_down(trader_api):
    """Losing Redis may delay work, never refuse it: orders are still accepted."""
    for n in range(3):
        assert post(trader_api, order(n, "ACC-1")).status_code == 201


def test_the_default_rate_leaves_room_for_the_benchmark():
    count, _, unit = settings.OMS_API_THROTTLE_RATE.partition("/")
    assert unit.startswith("s") and int(count) >= 1000  # 1,000 orders/s on one token


@pytest.mark.django_db(transaction=True)
@override_settings(OMS_API_THROTTLE_RATE="5/minute")
def test_racing_requests_of_one_token_get_exactly_its_rate(trader_api, trader):
    """The log is pushed and trimmed in one Lua call: processes racing for the last places
    cannot both take one (DRF's own throttle read and wrote the whole log: a race let a
    client past its rate)."""
    from tests.dispatch.conftest import at_once

    codes = []
    clients = [_client_for(trader) for _ in range(8)]
    at_once(*[lambda c=c: codes.append(c.get(ORDERS).status_code) for c in clients])
    assert sorted(codes) == [200] * 5 + [429] * 3, codes


def _client_for(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client
