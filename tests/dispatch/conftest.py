"""Dispatch tests: the real mock exchange (its own process) as the outside observer, the
real Redis for the limiter, PostgreSQL for the queue."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from sessions.services import session_reconcile, session_update
from venues.gateway import HttpVenueGateway, InProcessGateway
from venues.models import Venue

REPO = Path(__file__).resolve().parents[2]
from tests.conftest import EXCHANGE_VENUES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Exchange:
    """The mock exchange process, seen from outside."""

    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self.call("POST", "/reset?config=1")

    def configure(self, venue: str, **config) -> dict:
        return self.call("PUT", f"/venues/{venue}/config", config)

    def stats(self, venue: str) -> dict:
        return self.call("GET", f"/venues/{venue}/stats")

    def messages(self, venue: str) -> list[dict]:
        return self.call("GET", f"/venues/{venue}/messages?limit=100000")["messages"]

    def book(self, venue: str) -> dict:
        return self.call("GET", f"/venues/{venue}/orders")["orders"]


@pytest.fixture(scope="session")
def exchange_server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "exchange", "--host", "127.0.0.1", "--port", str(port),
         *[arg for venue in EXCHANGE_VENUES for arg in ("--venue", venue)]],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "EXCHANGE_LATENCY_MS": "1", "EXCHANGE_RATE_LIMIT": "100"},
    )
    exchange = Exchange(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, "the exchange exited at start"
        try:
            exchange.call("GET", "/healthz")
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "the exchange did not come up"
            time.sleep(0.05)
    yield exchange
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def exchange(exchange_server, settings, limiter_redis):
    """The exchange, reset, with the OMS talking to it over HTTP."""
    exchange_server.reset()
    settings.OMS_VENUE_GATEWAY = "venues.gateway.HttpVenueGateway"
    settings.OMS_EXCHANGE_URL = exchange_server.base
    yield exchange_server


@pytest.fixture
def in_process_venue(settings, limiter_redis):
    """A venue simulated in this process, for tests about the queue rather than the wire."""
    InProcessGateway.reset()
    settings.OMS_VENUE_GATEWAY = "venues.gateway.InProcessGateway"
    yield InProcessGateway
    InProcessGateway.reset()


def venue_live(code: str = "XMOCK", *, limit: int = 100) -> Venue:
    """A venue forced open and logged on (through whichever gateway is configured)."""
    venue, _ = Venue.objects.update_or_create(code=code, defaults={"throttle_per_second": limit})
    session_update(venue_code=code, actor="tests", override="OPEN")
    outcome = session_reconcile(venue_code=code)
    assert outcome[0].state == "LOGGED_ON", outcome
    return venue


def at_once(*actions) -> None:
    """Run the callables in threads released together (a race), each on its own database
    connection, and wait for all of them."""
    from django.db import connection

    barrier = threading.Barrier(len(actions))

    def run(action):
        barrier.wait()
        try:
            action()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    [thread.start() for thread in threads]
    [thread.join(timeout=20) for thread in threads]
