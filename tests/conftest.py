import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import AccountFactory, OperatorFactory, UserFactory


@pytest.fixture
def operator(db):
    return OperatorFactory(username="desk-operator")


@pytest.fixture
def trader(db):
    """A client user holding account ACC-1."""
    user = UserFactory(username="trader")
    AccountFactory(code="ACC-1", users=[user])
    return user


@pytest.fixture
def other_trader(db):
    """A client user holding account ACC-2, and nothing of trader's."""
    user = UserFactory(username="other-trader")
    AccountFactory(code="ACC-2", users=[user])
    return user


def _token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def trader_api(trader):
    return _token_client(trader)


@pytest.fixture
def other_api(other_trader):
    return _token_client(other_trader)


@pytest.fixture
def operator_api(operator):
    return _token_client(operator)


EXCHANGE_VENUES = ("XMOCK", "XFAST", "XSLOW")


def limiter_born_long_ago(client: redis.Redis, venue_code: str) -> None:
    """Mark the venue's limiter as begun at the epoch in this Redis's life: no start-up
    cool-down, whatever the database says about recent sends (dispatch/limiter.py)."""
    run_id = client.info("server")["run_id"]
    client.set(f"oms:limiter:{venue_code}:born", f"{run_id}:0")


@pytest.fixture
def limiter_redis():
    """The test Redis, emptied, with every venue's limiter long past its start-up window
    (a fresh limiter grants nothing for one window: dispatch/limiter.py)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    for venue in EXCHANGE_VENUES:
        limiter_born_long_ago(client, venue)
    yield client
    client.flushdb()


@pytest.fixture
def quotes():
    """Write a venue's quote as the FIX holder caches market data (risk/quotes.py):
    quotes("XMOCK", "AAPL", bid="99.9", ask="100.1"). Removed after the test."""
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    written = []

    def write(venue: str, symbol: str, *, bid=None, ask=None, last=None, age: float = 0.0):
        from datetime import UTC, datetime, timedelta

        key = f"oms:md:{venue}:{symbol}"
        at = datetime.now(UTC) - timedelta(seconds=age)
        fields = {"ts": at.isoformat().replace("+00:00", "Z")}
        fields |= {name: str(value) for name, value in
                   (("bid", bid), ("ask", ask), ("last", last)) if value is not None}
        client.delete(key)
        client.hset(key, mapping=fields)
        written.append(key)

    yield write
    if written:
        client.delete(*written)
