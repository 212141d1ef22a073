"""The running OMS for system tests: a Redis, the mock exchange and a log directory of the
test's own; FIX session holders and Celery dispatchers started by the test. Beat's work
(reconcile, sweep) runs in the test process, between polls, so a test knows when it ran."""

import time
from dataclasses import dataclass

import pytest
import redis

from dispatch import limits
from dispatch.sweeper import dispatch_sweep
from sessions.models import TradingHalt
from sessions.services import session_reconcile, session_update
from tests.conftest import limiter_born_long_ago
from tests.system.processes import Exchange, OmsProcesses, RedisProcess, use_celery_broker
from omsproject.demo_venues import (
    DEMO_VENUES,
    exchange_venue_config,
    oms_demo_venues,
    parse_oms_demo_venues,
)
from venues.receivers import default_venue_after_migrate
from venues.services import venue_put

LIMIT = 20


class Beat:
    """What celery beat does, run from the test process: reconcile and sweep, every `every`
    seconds."""

    def __init__(self, every: float = 1.0):
        self.every = every
        self._last = 0.0
        self.sweeps = 0
        self.asked = 0

    def __call__(self) -> None:
        if time.monotonic() - self._last < self.every:
            return
        self._last = time.monotonic()
        session_reconcile()
        self.asked += dispatch_sweep()["asked"]
        self.sweeps += 1


@dataclass
class System:
    redis: RedisProcess
    exchange: Exchange
    oms: OmsProcesses

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_timeout=2, socket_connect_timeout=1)

    def venue(self, code: str, *, limit: int = LIMIT, heartbeat: int = 1):
        """A venue at this exchange, forced open (the holder logs it on)."""
        venue, _ = venue_put(code=code, actor="tests", fix_port=self.exchange.fix_port,
                             throttle_per_second=limit, heartbeat_seconds=heartbeat)
        session_update(venue_code=code, actor="tests", override="OPEN")
        session_reconcile(venue_code=code)
        client = self.redis_client()
        limiter_born_long_ago(client, code)  # no start-up cool-down: tests send at once
        client.close()
        return venue


def make_system(*, tmp_path, settings, venues, limit, latency_ms="1",
                market: bool = False, venue_configs: tuple[str, ...] = ()) -> System:
    own_redis = RedisProcess(tmp_path)
    own_redis.start()
    settings.REDIS_URL = own_redis.url
    settings.CELERY_BROKER_URL = own_redis.url
    settings.OMS_FIX_LEASE_SECONDS = 3.0
    settings.OMS_FIX_RECONNECT_MAX_SECONDS = 2.0
    limits.redis_client.cache_clear()
    use_celery_broker(own_redis.url)
    exchange = Exchange(venues, rate_limit=limit, latency_ms=latency_ms,
                        state_dir=tmp_path / "exchange", market=market,
                        venue_configs=venue_configs)
    return System(own_redis, exchange, OmsProcesses(own_redis.url, tmp_path))


@pytest.fixture
def system_factory(transactional_db, settings, tmp_path):
    from omsproject.celery import app

    old_broker = app.conf.broker_url
    made: list[System] = []

    def make(venues=("XMOCK",), *, limit=LIMIT, latency_ms="1", market=False,
             venue_configs=()) -> System:
        # The migration made the kill switch's row; an earlier test's flush (real commits)
        # removed it. Without it a halt has no row for sends in flight to share-lock.
        TradingHalt.objects.get_or_create(pk=TradingHalt.SINGLETON_PK)
        system = make_system(tmp_path=tmp_path, settings=settings, venues=venues, limit=limit,
                             latency_ms=latency_ms, market=market,
                             venue_configs=venue_configs)
        made.append(system)
        return system

    yield make
    for system in made:
        system.oms.stop_all()
        system.exchange.stop()
        system.redis.stop()
    use_celery_broker(old_broker)
    limits.redis_client.cache_clear()


@pytest.fixture
def demo_system(system_factory, settings) -> System:
    """The three demo venues as `./oms run` starts them (omsproject/demo_venues.py): the
    exchange serves each with its own config (EXCHANGE_VENUE_CONFIG's entries) and market,
    and `migrate`'s receiver creates each in the OMS with its send limit (OMS_DEMO_VENUES);
    then each is forced open, as System.venue does."""
    system = system_factory(tuple(DEMO_VENUES), market=True,
                            venue_configs=tuple(exchange_venue_config().split(";")))
    settings.OMS_FIX_PORT = system.exchange.fix_port
    settings.OMS_FIX_HEARTBEAT_SECONDS = 1
    settings.OMS_DEFAULT_VENUE = "XMOCK"
    settings.OMS_DEMO_VENUES = parse_oms_demo_venues(oms_demo_venues(),
                                                     settings.OMS_THROTTLE_PER_SECOND)
    settings.OMS_DEFAULT_VENUE_ON_MIGRATE = True
    default_venue_after_migrate()
    client = system.redis_client()
    for code in DEMO_VENUES:
        session_update(venue_code=code, actor="tests", override="OPEN")
        session_reconcile(venue_code=code)
        limiter_born_long_ago(client, code)
    client.close()
    return system


@pytest.fixture
def routed(demo_system, operator_api):
    """The demo system routing through one FIX holder and a dispatcher, every venue logged
    on, with an operator's API (tests/system/routed.py)."""
    from marketdata.selectors import quote_store
    from tests.system.routed import start  # it imports Beat from here

    yield start(demo_system, operator_api)
    quote_store.cache_clear()
