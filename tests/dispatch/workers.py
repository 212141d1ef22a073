"""Real Celery dispatcher processes for the dispatch tests, and what those tests share: a
backlog made through the order services, waiting on the queue table, the exchange's log.

Workers run `omsproject.test_settings` against the TEST database (the one pytest-django made
for this run) and the test Redis, and speak HTTP to the mock exchange. A test that uses them
needs `pytest.mark.django_db(transaction=True)`: they only see committed rows.
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from dispatch.models import RequestState, VenueRequest
from orders import services as order_services
from tests.factories import order_terms

REPO = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def database_url_for_workers() -> str:
    """The database this test run uses (test_oms), as a URL for another process."""
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "the workers need PostgreSQL"
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    auth = f"{user}{password}@" if user else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


# Resolved here, not in the child: between fork and exec the child should only make the call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the child (Linux): SIGTERM when the test process dies, however it dies, so no
    worker is left holding the test database open or draining a later run's queue."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Worker:
    def __init__(self, name: str, process: subprocess.Popen, log: Path):
        self.name = name  # the node name, as ping answers it
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Workers:
    """Starts dispatcher workers for one test and stops every one of them at its end."""

    def __init__(self, exchange_base: str, log_dir: Path):
        self._exchange_base = exchange_base
        self._log_dir = log_dir
        self.started: list[Worker] = []

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "omsproject.test_settings",
            "DATABASE_URL": database_url_for_workers(),
            "REDIS_URL": settings.REDIS_URL,
            # test_settings pins the in-process venue unless told otherwise.
            "OMS_TEST_VENUE_GATEWAY": "venues.gateway.HttpVenueGateway",
            "OMS_VENUE_GATEWAY": "venues.gateway.HttpVenueGateway",
            "OMS_EXCHANGE_URL": self._exchange_base,
            # The dispatcher's tunables as this test process has them.
            "OMS_THROTTLE_MARGIN_MS": str(settings.OMS_THROTTLE_MARGIN_MS),
            "OMS_EXCHANGE_TIMEOUT_SECONDS": str(settings.OMS_EXCHANGE_TIMEOUT_SECONDS),
            "OMS_DISPATCH_RESEND_AFTER_SECONDS": str(settings.OMS_DISPATCH_RESEND_AFTER_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, count: int = 1, *, concurrency: int = 4) -> list[Worker]:
        """Start `count` workers on the dispatch queue; they may still be booting."""
        env = self.env()
        new = []
        for _ in range(count):
            index = len(self.started)
            # A unique name, so ping answers can only come from these processes.
            name = f"w{index}-{uuid.uuid4().hex[:8]}@test"
            log = self._log_dir / f"worker-{index}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "omsproject", "worker",
                     "-Q", "dispatch", "--pool", "threads", "--concurrency", str(concurrency),
                     "--without-heartbeat", "--without-mingle", "--without-gossip",
                     "-n", name, "--loglevel", "WARNING"],
                    cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent if _prctl else None,
                )
            worker = Worker(name, process, log)
            self.started.append(worker)
            new.append(worker)
        return new

    def wait_ready(self, workers: list[Worker], *, timeout: float = 45.0) -> None:
        """Until every one answers a ping: connected to the broker and consuming."""
        from omsproject.celery import app

        waiting = {worker.name: worker for worker in workers}
        deadline = time.monotonic() + timeout
        while waiting:
            for worker in waiting.values():
                if worker.process.poll() is not None:
                    pytest.fail(f"worker {worker.name} exited at start:\n{worker.log_tail()}")
            replies = app.control.ping(destination=list(waiting), timeout=0.3)
            for reply in replies:
                for name in reply:
                    waiting.pop(name, None)
            if waiting and time.monotonic() > deadline:
                tails = "\n".join(w.log_tail() for w in waiting.values())
                pytest.fail(f"workers {sorted(waiting)} not ready in {timeout}s:\n{tails}")

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 8
        for worker in self.started:
            try:
                worker.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(timeout=10)


@pytest.fixture
def dispatch_workers(exchange, transactional_db, tmp_path):
    """Start dispatcher processes with `dispatch_workers.start(n)`; all stop at teardown,
    before the test's rows are flushed and before its Redis is emptied."""
    workers = Workers(exchange.base, tmp_path)
    yield workers
    workers.stop_all()


# --- backlog and observation ----------------------------------------------------------------


@contextmanager
def nudges_held(monkeypatch):
    """Orders queued inside this block nudge no dispatcher: a backlog with its Celery
    messages lost, which the table keeps; the test nudges when it wants sending to start."""
    with monkeypatch.context() as patch:
        patch.setattr(order_services, "dispatch_nudge", lambda **kwargs: None)
        yield


def queue_orders(*, user, account_code: str, venue_code: str, count: int,
                 threads: int = 1) -> list:
    """`count` orders for the venue, through the order service, as the API would; several
    threads make a large backlog sooner (each on its own connection, closed after)."""
    run = uuid.uuid4().hex[:8]

    def make(numbers) -> list:
        made = []
        try:
            for n in numbers:
                order, created = order_services.order_create(
                    user=user, account_code=account_code, client_order_id=f"{run}-{n:06d}",
                    terms=order_terms(), venue_code=venue_code,
                )
                assert created
                made.append(order)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()
        return made

    if threads == 1:
        return make(range(count))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        batches = pool.map(make, [range(i, count, threads) for i in range(threads)])
        return sorted((o for batch in batches for o in batch), key=lambda o: o.client_order_id)


def wait_until(predicate: Callable[[], bool], *, timeout: float, every: float = 0.1,
               what: str | Callable[[], str] = "condition") -> float:
    """Poll until predicate() holds; fail after `timeout` s. Returns the seconds waited."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            waited_for = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout}s waiting for {waited_for}")
        time.sleep(every)
    return time.monotonic() - started


def book_ids(exchange, venue_code: str) -> list[str]:
    """The clientOrderIds in the venue's book, straight from its API."""
    return list(exchange.call("GET", f"/venues/{venue_code}/orders")["orders"])


def requests_by_state(venue_code: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in VenueRequest.objects.filter(venue_id=venue_code).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def all_answered(venue_code: str, count: int) -> bool:
    return VenueRequest.objects.filter(
        venue_id=venue_code, state=RequestState.ANSWERED
    ).count() >= count
