"""PostgreSQL unreachable for the web process: the API answers 503 in the standard error
format with Retry-After (never a 500 page), /healthz names the database as the dependency
that is down, and everything recovers when it returns.

The shared PostgreSQL server is not touched: gunicorn reaches the test database through a
TCP proxy in this process, and the outage is the proxy cut (listener closed, every open
connection closed, so new connects are refused), then restored on the same port.
"""

import time

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from orders.models import Order
from tests.system.books import print_numbers
from tests.system.processes import WebServer, database_url
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def _order(client_order_id: str) -> dict:
    return {
        "accountId": "ACC-1", "clientOrderId": client_order_id, "symbol": "AAPL",
        "side": "BUY", "orderType": "LIMIT", "quantity": "10", "limitPrice": "150.25",
        "timeInForce": "DAY",
    }


def _assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("Retry-After") == "1"
    body = response.json()
    assert body["code"] == "service_unavailable", body
    assert isinstance(body["message"], str) and body["message"], body
    assert set(body) <= {"code", "message", "details"}, body


@pytest.fixture
def web_through_proxy(system_factory, tmp_path):
    system = system_factory()
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    url = database_url().replace(
        f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}", f"127.0.0.1:{proxy.port}")
    assert f":{proxy.port}/" in url, url
    web = WebServer(tmp_path, {**system.oms.env(), "DATABASE_URL": url})
    try:
        web.start()
        yield web, proxy
    finally:
        web.stop()
        proxy.cut()


def test_database_unreachable_answers_503_and_recovers(web_through_proxy, trader):
    web, proxy = web_through_proxy
    token = Token.objects.create(user=trader).key
    api = httpx.Client(base_url=web.base, timeout=20,
                       headers={"Authorization": f"Token {token}"})

    created = api.post("/api/v1/orders", json=_order("db-before"))
    assert created.status_code == 201, created.text
    health = api.get("/healthz")
    assert (health.status_code, health.json()["checks"]) == (
        200, {"database": "ok", "broker": "ok"})
    assert proxy.accepted >= 1  # the web process really goes through the proxy

    proxy.cut()
    cut_at = time.monotonic()
    # The web worker's persistent connection (CONN_MAX_AGE) is now dead, and new ones are
    # refused: the health check at the first query of a request finds it out.
    timings = []
    for attempt in range(3):
        started = time.monotonic()
        _assert_503(api.post("/api/v1/orders", json=_order("db-during")))
        _assert_503(api.get("/api/v1/orders"))
        timings.append(round(time.monotonic() - started, 3))
    health = api.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable",
                             "checks": {"database": "unavailable", "broker": "ok"},
                             "venues": {}}
    # Not an API route: Django's own handlers, still JSON, never an HTML 500 page.
    unknown = api.get("/api/v1/no-such-thing")
    assert unknown.status_code in (404, 503) and unknown.headers["content-type"].startswith(
        "application/json"), (unknown.status_code, unknown.text[:300])
    down_for = time.monotonic() - cut_at

    proxy.restore()
    restored_at = time.monotonic()
    # Pinned: the very first request after the database returns succeeds. The failed
    # connection was closed at the end of the request that found it broken, so the next
    # request connects afresh.
    first = api.post("/api/v1/orders", json=_order("db-during"))
    first_after_s = time.monotonic() - restored_at
    assert first.status_code == 201, (first.status_code, first.text[:500])
    health = api.get("/healthz")
    assert (health.status_code, health.json()["checks"]) == (
        200, {"database": "ok", "broker": "ok"})
    again = api.post("/api/v1/orders", json=_order("db-during"))
    assert again.status_code == 200  # a replay: the 503s wrote nothing, the 201 wrote once
    assert Order.objects.filter(client_order_id__startswith="db-").count() == 2
    print_numbers("PostgreSQL unreachable", seconds_per_503_pair=timings,
                  down_s=round(down_for, 2), first_request_after_restore_status=first.status_code,
                  first_request_after_restore_s=round(first_after_s, 3),
                  proxy_connections=proxy.accepted)
