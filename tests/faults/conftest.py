"""Fault scenarios: each test gets its own Redis server and mock exchange process (a fault
injected into them hurts no other test), and starts its Celery processes against the test
database. They only see committed rows, hence transactional_db."""

import threading
from dataclasses import dataclass

import pytest
import redis

from dispatch import services as dispatch_services
from tests.faults.harness import (
    CeleryProcesses,
    ExchangeProcess,
    RedisProcess,
    use_celery_broker,
)
from venues.gateway import HttpVenueGateway

VENUES = ("XMOCK", "XEDGE")
LIMIT = 10  # low enough that a burst really leans on the limiter


@dataclass
class FaultSystem:
    redis: RedisProcess
    exchange: ExchangeProcess
    celery: CeleryProcesses

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_timeout=2, socket_connect_timeout=1)


@pytest.fixture
def fault_system(transactional_db, settings, tmp_path, monkeypatch):
    """Redis and the exchange of this test's own, the OMS in this process pointed at them,
    and a launcher for Celery processes pointed at them too. Everything stops at teardown,
    workers first (before the test's rows are flushed)."""
    own_redis = RedisProcess(tmp_path)
    exchange = ExchangeProcess(tmp_path, VENUES, rate_limit=LIMIT)
    celery = CeleryProcesses(own_redis.url, exchange.base, tmp_path)
    from omsproject.celery import app

    # Read (and so loaded from the unchanged settings) before anything is overridden.
    old_broker = app.conf.broker_url
    switched = False
    try:
        own_redis.start()
        exchange.start()
        settings.REDIS_URL = own_redis.url
        settings.CELERY_BROKER_URL = own_redis.url
        settings.OMS_VENUE_GATEWAY = "venues.gateway.HttpVenueGateway"
        settings.OMS_EXCHANGE_URL = exchange.base
        # Built once per process / per thread with the URLs of their time.
        dispatch_services._redis.cache_clear()
        monkeypatch.setattr(HttpVenueGateway, "_local", threading.local())
        use_celery_broker(own_redis.url)
        switched = True
        system = FaultSystem(own_redis, exchange, celery)
        client = system.redis_client()
        for venue in VENUES:  # no start-up cool-down (dispatch/limiter.py): tests start sending
            client.set(f"oms:limiter:{venue}:born", 0)
        client.close()
        yield system
    finally:
        celery.stop_all()
        if switched:
            use_celery_broker(old_broker)
        dispatch_services._redis.cache_clear()
        exchange.stop()
        own_redis.stop()
